#include "client/connection.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/clock.h"
#include "common/endian.h"

namespace sentry::client {

namespace {
std::string fmt_errno_connect(const std::string& host, int port, int err) {
  return "cannot connect to " + host + ":" + std::to_string(port) + ": " + std::strerror(err) +
         " (is sentryd running there?)";
}
}  // namespace

Result<std::unique_ptr<Connection>> Connection::Connect(const std::string& host, int port,
                                                        int timeout_ms) {
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
  return std::unique_ptr<Connection>(new Connection(fd));
}

Connection::~Connection() { ::close(fd_); }

Status Connection::SendRaw(std::span<const uint8_t> bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        pollfd p{fd_, POLLOUT, 0};
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
    ssize_t r = ::recv(fd_, p + got, n - got, 0);
    if (r > 0) {
      got += static_cast<size_t>(r);
      continue;
    }
    if (r == 0) return Status::Unavailable("broker closed the connection");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return Status::FromErrno(errno, "recv");
    int64_t left = deadline - SteadyMillis();
    if (left <= 0) return Status::TimedOut("no response in time");
    pollfd pf{fd_, POLLIN, 0};
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

Result<Response> Connection::Call(uint16_t api_key, const std::vector<uint8_t>& body,
                                  int timeout_ms) {
  SENTRY_ASSIGN_OR_RETURN(auto corr, Send(api_key, body));
  return ReceiveFor(corr, timeout_ms);
}

bool Connection::WaitReadable(int timeout_ms) {
  if (!parked_.empty()) return true;
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
    ssize_t r = ::recv(fd_, buf, sizeof(buf), 0);
    if (r == 0) return true;
    if (r < 0 && errno != EAGAIN && errno != EINTR) return true;
  }
  return false;
}

}  // namespace sentry::client
