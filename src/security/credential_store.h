// CredentialStore: the SCRAM credentials of the broker's users, in
// `<data dir>/scram-credentials` (mode 0600). One line per user and
// mechanism: base64(user) MECHANISM iterations base64(salt)
// base64(StoredKey) base64(ServerKey). Never a password.
//
// Every change rewrites the file atomically (temp file, fsync, rename,
// directory fsync) before it returns, so a crash or power cut leaves the old
// set or the new one. sentryctl writes the same file offline (`user create
// --data-dir`) to bootstrap the first user of a stopped broker; a running
// broker reads it at start.
//
// Thread-safe: lookups from the network threads, changes from anywhere.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "security/scram.h"

namespace sentry::security {

class CredentialStore {
 public:
  static constexpr const char* kFileName = "scram-credentials";

  // Reads `<data_dir>/scram-credentials` (none yet: an empty store).
  // Corruption names the line that does not parse.
  static Result<std::unique_ptr<CredentialStore>> Open(const std::string& data_dir);

  std::optional<ScramCredential> Find(const std::string& user, ScramMechanism m) const;
  // Adds or replaces the user's credential for c.mechanism; durable on OK.
  Status Upsert(const std::string& user, const ScramCredential& c);
  // Removes the user's credential for `m` (every mechanism if nullopt).
  // NotFound if there was none; durable on OK.
  Status Remove(const std::string& user, std::optional<ScramMechanism> m);
  // Every user and the mechanisms it has credentials for, by name.
  std::vector<std::pair<std::string, std::vector<ScramMechanism>>> List() const;

 private:
  explicit CredentialStore(std::string path) : path_(std::move(path)) {}
  Status Save() const;  // under mu_

  const std::string path_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, ScramMechanism>, ScramCredential> creds_;
};

}  // namespace sentry::security
