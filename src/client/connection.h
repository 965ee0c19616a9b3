// client::Connection: one TCP connection to a broker speaking docs/protocol.md.
// Requests may be pipelined (Send many, Receive in any order); responses are
// matched by correlation id. Call() sends one request and waits for its
// answer, parking any other responses that arrive first.
//
// SASL (a broker's native.sasl=required): Connect() with SaslOptions runs
// the AUTHENTICATE exchange before returning. When the broker says the
// session ends (connections.max.reauth.ms), Send() runs the exchange again
// on the same connection once 85% of the session has passed, before it
// sends the request (answers that arrive meanwhile are parked, as Call()
// parks them). SendSome() does not: a caller driving the socket itself
// (sentry-bench) is closed by the broker when its session ends. PLAIN is
// refused without TLS: it would put the password on the wire in clear.
//
// TLS (a broker's native.tls.port): Connect() with TlsOptions verifies the
// broker's certificate against the given CAs and the host name (or IP)
// connected to; everything after goes through TLS, including SendSome /
// RecvSome for callers that drive the socket themselves (sentry-bench).
// OpenSSL writes with write(2), not send(MSG_NOSIGNAL): a process using TLS
// connections must ignore SIGPIPE (sentryctl and sentry-bench do), or a
// broker closing mid-write kills it.
//
// Threads: one thread at a time (no internal locking).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "client/security.h"
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
  // `security` is read during the call only. With SASL, the connection
  // is returned authenticated (or the failure, PermissionDenied for
  // refused credentials).
  static Result<std::unique_ptr<Connection>> Connect(const std::string& host, int port,
                                                     int timeout_ms = 5000,
                                                     const Security& security = {});
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
  // Reads exactly n bytes (through TLS when the connection has it) within
  // timeout_ms: for callers that frame another protocol (sentryctl's Kafka
  // admin requests).
  Status ReadExact(uint8_t* p, size_t n, int timeout_ms);
  // True when the broker closed the connection (read returns EOF) within timeout.
  bool WaitClosed(int timeout_ms);
  int fd() const { return fd_; }

  // Non-blocking steps for callers that poll fd() themselves: send(2) /
  // recv(2) semantics (-1 with errno EAGAIN when nothing can be done now),
  // through TLS when the connection has it.
  ssize_t SendSome(const uint8_t* p, size_t n);
  ssize_t RecvSome(uint8_t* p, size_t n);
  // TLS: decrypted bytes already buffered (poll would not report them).
  bool HasBuffered() const;
  // What to poll fd() for to go on: POLLIN, plus POLLOUT when TLS must
  // write before it can read again.
  short PollEvents() const;
  bool tls() const { return tls_ != nullptr; }

 private:
  struct Tls;
  explicit Connection(int fd);
  // TLS handshake on the connected socket (within timeout_ms).
  Status StartTls(const std::string& host, const TlsOptions& opt, int timeout_ms);
  // The AUTHENTICATE exchange (docs/protocol.md) within timeout_ms.
  Status Authenticate(const SaslOptions& opt, int timeout_ms);
  Result<Response> ReadFrame(int timeout_ms);
  int fd_;
  std::unique_ptr<Tls> tls_;
  // SASL: the credentials, and when to re-authenticate (steady ms; 0: never).
  std::optional<SaslOptions> sasl_;
  int64_t reauth_at_ms_ = 0;
  bool authenticating_ = false;
  uint32_t next_correlation_ = 1;
  std::map<uint32_t, Response> parked_;
  std::vector<uint8_t> scratch_;
};

}  // namespace sentry::client
