// Authorizer: the broker's ACLs and the decision "may this principal do this
// operation on this resource" (docs/security.md), as Kafka's StandardAuthorizer
// decides it:
//   - a super user (super.users) may do everything;
//   - else any matching DENY refuses;
//   - else a matching ALLOW permits; nothing matching refuses (Kafka's
//     allow.everyone.if.no.acl.found=false).
// An ACL matches when its principal is the one asking or "User:*", its host
// is the client's address or "*", its operation is the one asked or ALL, and
// its pattern covers the resource (the same literal name, the literal "*",
// or a prefix of the name). An ALLOW of READ, WRITE, DELETE or ALTER also
// allows DESCRIBE, and ALTER_CONFIGS allows DESCRIBE_CONFIGS (Kafka's implied
// operations); a DENY refuses only what it names (or ALL).
//
// The ACLs live in `<data dir>/acls`, one per line; every change rewrites the
// file atomically (temp file, fsync, rename, directory fsync) before it
// returns, so a crash leaves the old set or the new one.
//
// Hot path: a connection keeps an AuthCache of the decisions it got, valid
// while the ACLs' generation (bumped by every change) and its principal stay
// the same, so a produce to a partition decides by one hash lookup, no lock.
//
// Thread-safe: decisions from the network threads (shared lock), changes
// from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "security/acl.h"

namespace sentry::security {

// One connection's remembered decisions; owned by its session, used by its
// network thread only.
struct AuthCache {
  uint64_t generation = 0;
  std::string principal;
  std::unordered_map<std::string, bool> decisions;
};

// Every decision, cached or not.
struct AuthorizerStats {
  std::atomic<uint64_t> allowed{0};
  std::atomic<uint64_t> denied{0};
  std::atomic<uint64_t> cache_hits{0};
};

// A client's address as ACL hosts name it: without the "/" of a peer name,
// and an IPv4-mapped IPv6 address ("::ffff:10.0.0.7") as plain IPv4.
std::string AclHost(std::string_view peer);

class Authorizer {
 public:
  static constexpr const char* kFileName = "acls";

  // Reads `<data_dir>/acls` (none yet: no ACLs). Corruption names the line.
  static Result<std::unique_ptr<Authorizer>> Open(const std::string& data_dir,
                                                  std::vector<std::string> super_users);

  // The decision, uncached. `host`: the client's IP address.
  bool Authorize(std::string_view principal, std::string_view host, AclOperation op,
                 ResourceType type, std::string_view name) const;
  // The same, remembered in `cache` until the ACLs or the principal change.
  // `count`: false for a probe whose outcome is recorded later with Count()
  // (one of several ways a request may be allowed), so the metrics count
  // requests, not probes.
  bool Authorize(AuthCache* cache, const std::string& principal, std::string_view host,
                 AclOperation op, ResourceType type, std::string_view name,
                 bool count = true) const;
  // Counts a decision made of probes.
  void Count(bool allowed) const;
  bool IsSuperUser(std::string_view principal) const;
  // Whether the principal may do `op` on at least one resource of `type`:
  // some ALLOW covers it and no DENY of every name ("*") refuses it (Kafka's
  // authorizeByResourceType, used for idempotent producers).
  bool MayOnSome(std::string_view principal, std::string_view host, AclOperation op,
                 ResourceType type) const;

  // Adds each binding (one already present is no change). Per binding: OK,
  // or InvalidArgument naming what is wrong; the valid ones are durable
  // together, or all fail with the write's error.
  std::vector<Status> Add(const std::vector<AclBinding>& bindings);
  // Removes every binding that each filter matches and returns them per
  // filter; durable on OK (nothing removed on error).
  Result<std::vector<std::vector<AclBinding>>> Remove(const std::vector<AclFilter>& filters);
  // The bindings `filter` matches, in a stable order.
  std::vector<AclBinding> List(const AclFilter& filter) const;

  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  const AuthorizerStats& stats() const { return stats_; }
  const std::vector<std::string>& super_users() const { return super_users_; }

  // "User:a;User:b" or "User:a,User:b" (semicolons when a principal has a
  // comma, e.g. a certificate subject): the principals, trimmed.
  static std::vector<std::string> ParseSuperUsers(std::string_view text);

 private:
  Authorizer(std::string path, std::vector<std::string> super_users)
      : path_(std::move(path)), super_users_(std::move(super_users)) {}
  Status Save(const std::set<AclBinding>& acls) const;
  bool Decide(std::string_view principal, std::string_view host, AclOperation op,
              ResourceType type, std::string_view name) const;
  // The new set, under the exclusive lock, and a new generation.
  void Install(std::set<AclBinding> acls);

  const std::string path_;
  const std::vector<std::string> super_users_;
  std::mutex write_mu_;                      // one change at a time, file included
  mutable std::shared_mutex mu_;
  std::set<AclBinding> acls_;                // guarded by mu_
  std::atomic<uint64_t> generation_{1};      // bumped under mu_ (exclusive)
  mutable AuthorizerStats stats_;
};

}  // namespace sentry::security
