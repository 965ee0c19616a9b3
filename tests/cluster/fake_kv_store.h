// FakeKvStore: an in-memory KvStore for unit tests of the cluster layer
// (the proof against a real etcd is etcd_client_test and the cluster
// integration tests). Revisions and compare-and-set behave as etcd's; a
// lease expires only when the test says so (Expire), and `down` makes every
// call fail as an unreachable store would.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "cluster/kv_store.h"

namespace sentry::cluster {

class FakeKvStore final : public KvStore {
 public:
  Result<std::optional<KeyValue>> Get(const std::string& key) override {
    std::lock_guard l(mu_);
    if (down) return Status::Unavailable("store down");
    auto it = kv_.find(key);
    if (it == kv_.end()) return std::optional<KeyValue>();
    return std::optional<KeyValue>(it->second);
  }
  Result<std::vector<KeyValue>> GetPrefix(const std::string& prefix) override {
    std::lock_guard l(mu_);
    if (down) return Status::Unavailable("store down");
    std::vector<KeyValue> out;
    for (auto it = kv_.lower_bound(prefix); it != kv_.end() && it->first.rfind(prefix, 0) == 0; ++it) {
      out.push_back(it->second);
    }
    return out;
  }
  Result<int64_t> Put(const std::string& key, const std::string& value, int64_t lease) override {
    std::lock_guard l(mu_);
    if (down) return Status::Unavailable("store down");
    return PutLocked(key, value, lease);
  }
  Result<bool> PutIf(const std::string& key, const std::string& value, int64_t expected,
                     int64_t lease) override {
    std::lock_guard l(mu_);
    if (down) return Status::Unavailable("store down");
    auto it = kv_.find(key);
    const int64_t cur = it == kv_.end() ? 0 : it->second.mod_revision;
    if (cur != expected) return false;
    if (lease != 0 && !leases_.count(lease)) return Status::NotFound("no such lease");
    PutLocked(key, value, lease);
    return true;
  }
  Result<bool> DeleteIf(const std::string& key, int64_t expected) override {
    std::lock_guard l(mu_);
    if (down) return Status::Unavailable("store down");
    auto it = kv_.find(key);
    if (it == kv_.end() || it->second.mod_revision != expected) return false;
    kv_.erase(it);
    revision_++;
    return true;
  }
  Result<int64_t> GrantLease(int64_t) override {
    std::lock_guard l(mu_);
    if (down) return Status::Unavailable("store down");
    leases_.insert(++next_lease_);
    return next_lease_;
  }
  Result<int64_t> KeepAlive(int64_t lease) override {
    std::lock_guard l(mu_);
    if (down) return Status::Unavailable("store down");
    return leases_.count(lease) ? 10 : 0;
  }
  Status RevokeLease(int64_t lease) override {
    std::lock_guard l(mu_);
    if (down) return Status::Unavailable("store down");
    ExpireLocked(lease);
    return Status::OK();
  }

  // The lease ends as if its TTL had passed: its keys go.
  void Expire(int64_t lease) {
    std::lock_guard l(mu_);
    ExpireLocked(lease);
  }
  // The lease holding `key` (0: none or no key).
  int64_t LeaseOf(const std::string& key) {
    std::lock_guard l(mu_);
    auto it = kv_.find(key);
    return it == kv_.end() ? 0 : it->second.lease;
  }
  std::atomic<bool> down{false};  // every call fails while set

 private:
  int64_t PutLocked(const std::string& key, const std::string& value, int64_t lease) {
    KeyValue& kv = kv_[key];
    revision_++;
    if (kv.create_revision == 0) kv.create_revision = revision_;
    kv.key = key;
    kv.value = value;
    kv.mod_revision = revision_;
    kv.lease = lease;
    return revision_;
  }
  void ExpireLocked(int64_t lease) {
    leases_.erase(lease);
    for (auto it = kv_.begin(); it != kv_.end();) {
      if (it->second.lease == lease) {
        it = kv_.erase(it);
        revision_++;
      } else {
        ++it;
      }
    }
  }
  std::mutex mu_;
  std::map<std::string, KeyValue> kv_;
  std::set<int64_t> leases_;
  int64_t revision_ = 0;
  int64_t next_lease_ = 100;
};

}  // namespace sentry::cluster
