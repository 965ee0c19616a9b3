#include "client/connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/clock.h"
#include "common/endian.h"
#include "protocol/messages.h"
#include "security/scram.h"

namespace sentry::client {

using namespace protocol;

namespace {
std::string fmt_errno_connect(const std::string& host, int port, int err) {
  return "cannot connect to " + host + ":" + std::to_string(port) + ": " + std::strerror(err) +
         " (is sentryd running there?)";
}
std::string OpenSslError() {
  char buf[256] = "TLS error";
  if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof(buf));
  ERR_clear_error();
  return buf;
}
}  // namespace

struct Connection::Tls {
  ~Tls() {
    if (ssl) SSL_free(ssl);
    if (ctx) SSL_CTX_free(ctx);
  }
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  bool want_write = false;  // the last step stopped at WANT_WRITE
};

Connection::Connection(int fd) : fd_(fd) {}

Status Connection::StartTls(const std::string& host, const TlsOptions& opt, int timeout_ms) {
  tls_ = std::make_unique<Tls>();
  ERR_clear_error();
  tls_->ctx = SSL_CTX_new(TLS_client_method());
  if (!tls_->ctx) return Status::IoError("TLS: " + OpenSslError());
  SSL_CTX_set_min_proto_version(tls_->ctx, TLS1_2_VERSION);
  // A broker that closes without close_notify reads as EOF, not an error.
  SSL_CTX_set_options(tls_->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(tls_->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                  SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_load_verify_locations(tls_->ctx, opt.ca_file.c_str(), nullptr) != 1) {
    return Status::InvalidArgument("--tls-ca " + opt.ca_file + ": " + OpenSslError());
  }
  SSL_CTX_set_verify(tls_->ctx, SSL_VERIFY_PEER, nullptr);
  if (!opt.cert_file.empty() &&
      (SSL_CTX_use_certificate_chain_file(tls_->ctx, opt.cert_file.c_str()) != 1 ||
       SSL_CTX_use_PrivateKey_file(tls_->ctx, opt.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
       SSL_CTX_check_private_key(tls_->ctx) != 1)) {
    return Status::InvalidArgument("--tls-cert " + opt.cert_file + " / --tls-key " +
                                   opt.key_file + ": " + OpenSslError());
  }
  tls_->ssl = SSL_new(tls_->ctx);
  SSL_set_fd(tls_->ssl, fd_);
  // The certificate must name what we connected to: an IP address as an IP
  // SAN, a host name as a DNS name (also sent as SNI).
  in6_addr any{};
  const bool is_ip = ::inet_pton(AF_INET, host.c_str(), &any) == 1 ||
                     ::inet_pton(AF_INET6, host.c_str(), &any) == 1;
  X509_VERIFY_PARAM* param = SSL_get0_param(tls_->ssl);
  if (is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    SSL_set_tlsext_host_name(tls_->ssl, host.c_str());
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  }
  const int64_t deadline = SteadyMillis() + timeout_ms;
  while (true) {
    ERR_clear_error();
    const int r = SSL_connect(tls_->ssl);
    if (r == 1) return Status::OK();
    const int err = SSL_get_error(tls_->ssl, r);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      const long verify = SSL_get_verify_result(tls_->ssl);
      std::string why = verify != X509_V_OK ? X509_verify_cert_error_string(verify)
                                            : OpenSslError();
      return Status::Unavailable("TLS handshake with " + host + " failed: " + why);
    }
    const int64_t left = deadline - SteadyMillis();
    if (left <= 0) return Status::Unavailable("TLS handshake with " + host + " timed out");
    pollfd p{fd_, static_cast<short>(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
    ::poll(&p, 1, static_cast<int>(left));
  }
}

ssize_t Connection::SendSome(const uint8_t* p, size_t n) {
  if (!tls_) return ::send(fd_, p, n, MSG_NOSIGNAL);
  ERR_clear_error();
  errno = 0;
  const int r = SSL_write(tls_->ssl, p, static_cast<int>(std::min<size_t>(n, 1 << 30)));
  if (r > 0) return r;
  const int err = SSL_get_error(tls_->ssl, r);
  tls_->want_write = err == SSL_ERROR_WANT_WRITE;
  const bool again = err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
  if (again) {
    errno = EAGAIN;
  } else if (err != SSL_ERROR_SYSCALL || errno == 0 || errno == EINTR || errno == EAGAIN) {
    errno = EPIPE;  // the TLS session is broken, whatever errno said before
  }
  ERR_clear_error();
  return -1;
}

ssize_t Connection::RecvSome(uint8_t* p, size_t n) {
  if (!tls_) return ::recv(fd_, p, n, 0);
  ERR_clear_error();
  errno = 0;
  const int r = SSL_read(tls_->ssl, p, static_cast<int>(std::min<size_t>(n, 1 << 30)));
  if (r > 0) {
    tls_->want_write = false;
    return r;
  }
  const int err = SSL_get_error(tls_->ssl, r);
  tls_->want_write = err == SSL_ERROR_WANT_WRITE;
  ERR_clear_error();
  if (err == SSL_ERROR_ZERO_RETURN) return 0;
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
    errno = EAGAIN;
    return -1;
  }
  if (err == SSL_ERROR_SYSCALL && errno == 0) return 0;  // EOF without close_notify
  // A TLS error (or a stale errno): broken for good, never "try again".
  if (err != SSL_ERROR_SYSCALL || errno == EINTR || errno == EAGAIN) errno = ECONNRESET;
  return -1;
}

bool Connection::HasBuffered() const { return tls_ && SSL_pending(tls_->ssl) > 0; }

short Connection::PollEvents() const {
  return static_cast<short>(POLLIN | (tls_ && tls_->want_write ? POLLOUT : 0));
}

Result<std::unique_ptr<Connection>> Connection::Connect(const std::string& host, int port,
                                                        int timeout_ms, const Security& security) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) return Status::InvalidArgument("resolve " + host + ": " + ::gai_strerror(rc));
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    ::freeaddrinfo(res);
    return Status::FromErrno(errno, "socket");
  }
  rc = ::connect(fd, res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  if (rc != 0 && errno != EINPROGRESS) {
    int e = errno;
    ::close(fd);
    return Status::Unavailable(fmt_errno_connect(host, port, e));
  }
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, timeout_ms) != 1) {
    ::close(fd);
    return Status::Unavailable("connect to " + host + ":" + std::to_string(port) + " timed out");
  }
  int err = 0;
  socklen_t len = sizeof(err);
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    ::close(fd);
    return Status::Unavailable(fmt_errno_connect(host, port, err));
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::unique_ptr<Connection> c(new Connection(fd));
  if (security.tls) SENTRY_RETURN_IF_ERROR(c->StartTls(host, *security.tls, timeout_ms));
  if (security.sasl) {
    if (security.sasl->mechanism == "PLAIN" && !security.tls) {
      return Status::InvalidArgument(
          "SASL PLAIN would send the password in clear over a plaintext connection: use TLS "
          "(--tls-ca, the broker's native.tls.port) or a SCRAM mechanism");
    }
    c->sasl_ = *security.sasl;
    SENTRY_RETURN_IF_ERROR(c->Authenticate(*security.sasl, timeout_ms));
  }
  return c;
}

Connection::~Connection() {
  tls_.reset();
  ::close(fd_);
}

Status Connection::SendRaw(std::span<const uint8_t> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = SendSome(bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        pollfd p{fd_, static_cast<short>(tls_ && !tls_->want_write ? POLLIN : POLLOUT), 0};
        if (::poll(&p, 1, 30000) != 1) return Status::TimedOut("send stalled for 30 s");
        continue;
      }
      return Status::FromErrno(errno, "send");
    }
    done += static_cast<size_t>(n);
  }
  return Status::OK();
}

Result<uint32_t> Connection::Send(uint16_t api_key, const std::vector<uint8_t>& body,
                                  uint16_t api_version) {
  if (reauth_at_ms_ > 0 && !authenticating_ && SteadyMillis() >= reauth_at_ms_) {
    SENTRY_RETURN_IF_ERROR(Authenticate(*sasl_, 30000));  // KIP-368, before the session ends
  }
  const uint32_t corr = next_correlation_++;
  scratch_.clear();
  protocol::ByteWriter w(&scratch_);
  size_t start = protocol::BeginRequest(&w, {api_key, api_version, corr});
  w.Raw(body.data(), body.size());
  protocol::FinishFrame(&w, start);
  SENTRY_RETURN_IF_ERROR(SendRaw(scratch_));
  return corr;
}

Status Connection::ReadExact(uint8_t* p, size_t n, int timeout_ms) {
  const int64_t deadline = SteadyMillis() + timeout_ms;
  size_t got = 0;
  while (got < n) {
    ssize_t r = RecvSome(p + got, n - got);
    if (r > 0) {
      got += static_cast<size_t>(r);
      continue;
    }
    if (r == 0) return Status::Unavailable("broker closed the connection");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return Status::FromErrno(errno, "recv");
    int64_t left = deadline - SteadyMillis();
    if (left <= 0) return Status::TimedOut("no response in time");
    pollfd pf{fd_, PollEvents(), 0};
    ::poll(&pf, 1, static_cast<int>(left));
  }
  return Status::OK();
}

Result<Response> Connection::ReadFrame(int timeout_ms) {
  namespace layout = protocol::frame_layout;
  uint8_t len_buf[layout::kLengthBytes];
  SENTRY_RETURN_IF_ERROR(ReadExact(len_buf, layout::kLengthBytes, timeout_ms));
  const uint32_t len = layout::FrameLength(len_buf);
  if (len < protocol::kResponseHeaderBytes || len > (1u << 30)) {
    return Status::Corruption("response frame length " + std::to_string(len));
  }
  std::vector<uint8_t> frame(len);
  SENTRY_RETURN_IF_ERROR(ReadExact(frame.data(), len, timeout_ms));
  Response r;
  r.header = layout::ReadHeader(frame.data());
  r.error_code = layout::ReadErrorCode(frame.data());
  r.body.assign(frame.begin() + protocol::kResponseHeaderBytes, frame.end());
  return r;
}

Result<Response> Connection::Receive(int timeout_ms) {
  if (!parked_.empty()) {
    Response r = std::move(parked_.begin()->second);
    parked_.erase(parked_.begin());
    return r;
  }
  return ReadFrame(timeout_ms);
}

Result<Response> Connection::ReceiveFor(uint32_t corr, int timeout_ms) {
  if (auto it = parked_.find(corr); it != parked_.end()) {
    Response r = std::move(it->second);
    parked_.erase(it);
    return r;
  }
  const int64_t deadline = SteadyMillis() + timeout_ms;
  while (true) {
    auto r = ReadFrame(static_cast<int>(std::max<int64_t>(1, deadline - SteadyMillis())));
    if (!r.ok()) return r;
    const uint32_t id = r->header.correlation_id;
    if (id == corr) return r;
    parked_.emplace(id, std::move(r).value());
  }
}

Status Connection::Authenticate(const SaslOptions& opt, int timeout_ms) {
  const auto scram_mechanism = security::ParseScramMechanism(opt.mechanism);
  if (!scram_mechanism && opt.mechanism != "PLAIN") {
    return Status::InvalidArgument("SASL mechanism '" + opt.mechanism +
                                   "': use SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN");
  }
  const std::string who = "SASL " + opt.mechanism + " authentication as '" + opt.user + "'";
  // Send() re-authenticates through Call(): not while this exchange runs.
  authenticating_ = true;
  struct Done {
    bool* flag;
    ~Done() { *flag = false; }
  } done_guard{&authenticating_};
  const int64_t started_ms = SteadyMillis();
  // A session of `lifetime` ms (0: forever) is renewed at 85% of it.
  auto schedule = [&](int64_t lifetime) {
    reauth_at_ms_ = lifetime > 0 ? started_ms + lifetime * 85 / 100 : 0;
  };
  // One step: our message out, the broker's answer back.
  auto step = [&](std::string message) -> Result<AuthenticateResponse> {
    AuthenticateRequest req{opt.mechanism, std::move(message)};
    std::vector<uint8_t> body;
    ByteWriter w(&body);
    Encode(&w, req);
    auto r = Call(static_cast<uint16_t>(ApiKey::kAuthenticate), body, timeout_ms);
    if (!r.ok()) return Status::Unavailable(who + ": " + r.status().message());
    switch (static_cast<ErrorCode>(r->error_code)) {
      case ErrorCode::kNone: break;
      case ErrorCode::kSaslAuthenticationFailed:
        return Status::PermissionDenied(who + " failed: wrong user name or password");
      case ErrorCode::kUnsupportedSaslMechanism: {
        SaslMechanisms offered;
        ByteReader rd = r->reader();
        std::string list;
        if (Decode(&rd, &offered)) {
          for (const auto& m : offered.mechanisms) list += (list.empty() ? "" : ", ") + m;
        }
        return Status::InvalidArgument(who + ": the broker does not offer " + opt.mechanism +
                                       " (it offers: " + (list.empty() ? "none" : list) + ")");
      }
      case ErrorCode::kIllegalSaslState:
        return Status::InvalidArgument(who + ": this broker port does not ask for SASL "
                                       "(native.sasl=none); connect without --user");
      default:
        return Status::Unavailable(who + ": " + ErrorName(r->error_code));
    }
    AuthenticateResponse resp;
    ByteReader rd = r->reader();
    if (!Decode(&rd, &resp)) return Status::Corruption(who + ": malformed AUTHENTICATE answer");
    return resp;
  };
  if (!scram_mechanism) {
    std::string plain;
    plain.push_back('\0');
    plain += opt.user;
    plain.push_back('\0');
    plain += opt.password;
    SENTRY_ASSIGN_OR_RETURN(auto done, step(std::move(plain)));
    if (!done.authenticated) return Status::Corruption(who + ": the broker wants more than PLAIN");
    schedule(done.session_lifetime_ms);
    return Status::OK();
  }
  security::ScramClient scram(*scram_mechanism, opt.user, opt.password);
  SENTRY_ASSIGN_OR_RETURN(auto first, step(scram.First()));
  if (first.authenticated) return Status::Corruption(who + ": the broker ended SCRAM after one step");
  auto final_message = scram.Final(first.auth_bytes);
  if (!final_message.ok()) return Status::Corruption(who + ": " + final_message.status().message());
  SENTRY_ASSIGN_OR_RETURN(auto last, step(std::move(*final_message)));
  if (!last.authenticated) return Status::Corruption(who + ": the broker did not end the exchange");
  if (Status st = scram.Verify(last.auth_bytes); !st.ok()) {
    return Status::PermissionDenied(who + ": the broker's SCRAM signature is wrong (" +
                                    st.message() + ")");
  }
  schedule(last.session_lifetime_ms);
  return Status::OK();
}

Result<Response> Connection::Call(uint16_t api_key, const std::vector<uint8_t>& body,
                                  int timeout_ms) {
  SENTRY_ASSIGN_OR_RETURN(auto corr, Send(api_key, body));
  return ReceiveFor(corr, timeout_ms);
}

bool Connection::WaitReadable(int timeout_ms) {
  if (!parked_.empty() || HasBuffered()) return true;
  pollfd pf{fd_, POLLIN, 0};
  int r;
  do {
    r = ::poll(&pf, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  return r > 0;
}

bool Connection::WaitClosed(int timeout_ms) {
  const int64_t deadline = SteadyMillis() + timeout_ms;
  uint8_t buf[4096];
  while (SteadyMillis() < deadline) {
    pollfd pf{fd_, POLLIN, 0};
    if (::poll(&pf, 1, static_cast<int>(deadline - SteadyMillis())) <= 0) continue;
    ssize_t r = RecvSome(buf, sizeof(buf));
    if (r == 0) return true;
    if (r < 0 && errno != EAGAIN && errno != EINTR) return true;
  }
  return false;
}

}  // namespace sentry::client
