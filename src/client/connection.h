// client::Connection: one TCP connection to a broker speaking docs/protocol.md.
// Requests may be pipelined (Send many, Receive in any order); responses are
// matched by correlation id. Call() sends one request and waits for its
// answer, parking any other responses that arrive first.
//
// Threads: one thread at a time (no internal locking).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "protocol/codec.h"
#include "protocol/errors.h"

namespace sentry::client {

struct Response {
  protocol::RequestHeader header;
  int16_t error_code = 0;
  std::vector<uint8_t> body;  // after error_code
  protocol::ByteReader reader() const { return protocol::ByteReader(body.data(), body.size()); }
};

class Connection {
 public:
  static Result<std::unique_ptr<Connection>> Connect(const std::string& host, int port,
                                                     int timeout_ms = 5000);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Frames and sends a request; returns its correlation id.
  Result<uint32_t> Send(uint16_t api_key, const std::vector<uint8_t>& body,
                        uint16_t api_version = protocol::kApiVersion);
  // Sends bytes as they are (tests of malformed frames).
  Status SendRaw(std::span<const uint8_t> bytes);
  // Next response from the socket (or a parked one), whatever its id.
  Result<Response> Receive(int timeout_ms = 10000);
  // The response with this correlation id.
  Result<Response> ReceiveFor(uint32_t correlation_id, int timeout_ms = 10000);
  Result<Response> Call(uint16_t api_key, const std::vector<uint8_t>& body, int timeout_ms = 10000);
  // True when a response is parked or bytes arrive on the socket within
  // timeout (0 = just look). Lets a caller multiplex without blocking in Receive.
  bool WaitReadable(int timeout_ms);
  // True when the broker closed the connection (read returns EOF) within timeout.
  bool WaitClosed(int timeout_ms);
  int fd() const { return fd_; }

 private:
  explicit Connection(int fd) : fd_(fd) {}
  Result<Response> ReadFrame(int timeout_ms);
  Status ReadExact(uint8_t* p, size_t n, int timeout_ms);
  int fd_;
  uint32_t next_correlation_ = 1;
  std::map<uint32_t, Response> parked_;
  std::vector<uint8_t> scratch_;
};

}  // namespace sentry::client
