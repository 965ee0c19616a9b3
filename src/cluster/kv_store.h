// KvStore: what the cluster layer needs of its metadata store (etcd in
// production, a fake in unit tests): keys with revisions, compare-and-set on
// a key's modification revision (so two writers can never both win), and
// leases that expire unless kept alive (broker liveness, the controller's
// election).
//
// Threads: implementations are safe to call from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace sentry::cluster {

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;  // the store's revision of the key's last change
  int64_t lease = 0;         // 0: none
};

class KvStore {
 public:
  virtual ~KvStore() = default;

  // The key, or nullopt when absent.
  virtual Result<std::optional<KeyValue>> Get(const std::string& key) = 0;
  // Every key starting with `prefix`, in key order.
  virtual Result<std::vector<KeyValue>> GetPrefix(const std::string& prefix) = 0;
  // Unconditional write; returns the new revision.
  virtual Result<int64_t> Put(const std::string& key, const std::string& value,
                              int64_t lease = 0) = 0;
  // Writes only if the key's mod_revision is `expected` (0: the key must not
  // exist). True when written, false when someone else changed it first.
  virtual Result<bool> PutIf(const std::string& key, const std::string& value, int64_t expected,
                             int64_t lease = 0) = 0;
  // Deletes only if the key's mod_revision is `expected`. True when deleted.
  virtual Result<bool> DeleteIf(const std::string& key, int64_t expected) = 0;
  // A lease of `ttl_seconds`; keys put with it go when it expires.
  virtual Result<int64_t> GrantLease(int64_t ttl_seconds) = 0;
  // Renews the lease; returns its TTL in seconds, 0 when it had expired.
  virtual Result<int64_t> KeepAlive(int64_t lease) = 0;
  virtual Status RevokeLease(int64_t lease) = 0;
};

}  // namespace sentry::cluster
