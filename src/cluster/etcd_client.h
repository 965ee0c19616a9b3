// EtcdClient: KvStore on etcd's v3 API through its JSON gateway
// (POST /v3/kv/range, /v3/kv/put, /v3/kv/txn, /v3/lease/grant,
// /v3/lease/keepalive, /v3/lease/revoke), spoken with Boost.Beast. Keys and
// values travel base64-encoded and 64-bit numbers as JSON strings, as the
// gateway wants. Every call has a deadline; an endpoint that cannot be reached
// is skipped for the next one in the list; when none answers, the call fails
// with Unavailable (the caller decides what a missing store means).
//
// Threads: any; one call at a time per client (a mutex), each on a fresh
// connection (calls are rare: elections, state changes, lease renewals).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/kv_store.h"

namespace sentry::cluster {

class EtcdClient final : public KvStore {
 public:
  // `endpoints`: "http://host:port", comma-separated (cluster.etcd).
  static Result<std::unique_ptr<EtcdClient>> Create(const std::string& endpoints,
                                                    int64_t timeout_ms = 2000);

  Result<std::optional<KeyValue>> Get(const std::string& key) override;
  Result<std::vector<KeyValue>> GetPrefix(const std::string& prefix) override;
  Result<int64_t> Put(const std::string& key, const std::string& value,
                      int64_t lease = 0) override;
  Result<bool> PutIf(const std::string& key, const std::string& value, int64_t expected,
                     int64_t lease = 0) override;
  Result<bool> DeleteIf(const std::string& key, int64_t expected) override;
  Result<int64_t> GrantLease(int64_t ttl_seconds) override;
  Result<int64_t> KeepAlive(int64_t lease) override;
  Status RevokeLease(int64_t lease) override;

  // Exposed for tests.
  static std::string Base64Encode(const std::string& in);
  static std::optional<std::string> Base64Decode(const std::string& in);

 private:
  struct Endpoint {
    std::string host;
    std::string port;
  };
  EtcdClient(std::vector<Endpoint> endpoints, int64_t timeout_ms)
      : endpoints_(std::move(endpoints)), timeout_ms_(timeout_ms) {}
  // POSTs `body` (JSON) to `path` on the first endpoint that answers;
  // returns the response body. An HTTP error status becomes a Status.
  Result<std::string> Call(const std::string& path, const std::string& body);
  Result<std::vector<KeyValue>> Range(const std::string& key, const std::string& range_end);
  // One transaction: `op` ("request_put", "request_delete_range") with its
  // JSON body, only if `key`'s mod_revision is `expected`. True when done.
  Result<bool> TxnIfModRevision(const std::string& key, int64_t expected, const std::string& op,
                                const std::string& op_json);

  const std::vector<Endpoint> endpoints_;
  const int64_t timeout_ms_;
  std::mutex mu_;
  size_t preferred_ = 0;  // the endpoint that answered last (guarded by mu_)
};

}  // namespace sentry::cluster
