// LeaderConnection: a follower's blocking Kafka-protocol connection to the
// broker leading some of its partitions (replica fetcher). One request at a
// time: write it, read its answer. Non-flexible API versions only (request
// header v1, response header v0), which is all the fetcher sends.
//
// Threads: one fetcher thread owns it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "kafka/wire.h"

namespace sentry::replication {

class LeaderConnection {
 public:
  static Result<std::unique_ptr<LeaderConnection>> Connect(const std::string& host, int port,
                                                           int timeout_ms);
  ~LeaderConnection();
  LeaderConnection(const LeaderConnection&) = delete;
  LeaderConnection& operator=(const LeaderConnection&) = delete;

  // Sends `body` (the encoded request) as api_key/version and returns the
  // response body (after the correlation id), or an error when the
  // connection broke or `timeout_ms` passed (the connection is then unusable).
  Result<std::vector<uint8_t>> Call(int16_t api_key, int16_t version,
                                    const std::vector<uint8_t>& body, int timeout_ms);

  // From another thread: ends a Call in progress (it fails at once).
  void Abort();

 private:
  explicit LeaderConnection(int fd) : fd_(fd) {}
  Status WriteAll(const uint8_t* p, size_t n, int64_t deadline_ms);
  Status ReadAll(uint8_t* p, size_t n, int64_t deadline_ms);
  int fd_;
  int32_t next_correlation_ = 1;
};

}  // namespace sentry::replication
