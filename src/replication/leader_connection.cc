#include "replication/leader_connection.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/clock.h"
#include "common/endian.h"

namespace sentry::replication {

namespace {
constexpr const char* kClientId = "sentry-replica-fetcher";
// A response larger than this is refused (a fetch asks for far less).
constexpr uint32_t kMaxResponse = 256u << 20;

Status WaitFd(int fd, short events, int64_t deadline_ms) {
  while (true) {
    const int64_t left = deadline_ms - SteadyMillis();
    if (left <= 0) return Status::TimedOut("leader did not answer in time");
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return Status::OK();
    if (n < 0 && errno != EINTR) return Status::FromErrno(errno, "poll");
  }
}
}  // namespace

Result<std::unique_ptr<LeaderConnection>> LeaderConnection::Connect(const std::string& host,
                                                                    int port, int timeout_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res); rc != 0) {
    return Status::Unavailable("resolve " + host + ": " + gai_strerror(rc));
  }
  const int64_t deadline = SteadyMillis() + timeout_ms;
  Status last = Status::Unavailable("no address for " + host);
  for (addrinfo* a = res; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc < 0 && errno == EINPROGRESS) {
      last = WaitFd(fd, POLLOUT, deadline);
      int err = 0;
      socklen_t len = sizeof(err);
      if (last.ok() && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) rc = 0;
      else if (last.ok()) last = Status::FromErrno(err, "connect to " + host + ":" + service);
    } else if (rc < 0) {
      last = Status::FromErrno(errno, "connect to " + host + ":" + service);
    }
    if (rc == 0) {
      ::freeaddrinfo(res);
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      return std::unique_ptr<LeaderConnection>(new LeaderConnection(fd));
    }
    ::close(fd);
  }
  ::freeaddrinfo(res);
  return Status::Unavailable(last.message());
}

void LeaderConnection::Abort() { ::shutdown(fd_, SHUT_RDWR); }

LeaderConnection::~LeaderConnection() {
  if (fd_ >= 0) ::close(fd_);
}

Status LeaderConnection::WriteAll(const uint8_t* p, size_t n, int64_t deadline_ms) {
  while (n > 0) {
    const ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= static_cast<size_t>(w);
    } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      Status s = WaitFd(fd_, POLLOUT, deadline_ms);
      if (!s.ok()) return s;
    } else if (w < 0 && errno != EINTR) {
      return Status::FromErrno(errno, "send to leader");
    }
  }
  return Status::OK();
}

Status LeaderConnection::ReadAll(uint8_t* p, size_t n, int64_t deadline_ms) {
  while (n > 0) {
    const ssize_t r = ::recv(fd_, p, n, 0);
    if (r > 0) {
      p += r;
      n -= static_cast<size_t>(r);
    } else if (r == 0) {
      return Status::Unavailable("leader closed the connection");
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      Status s = WaitFd(fd_, POLLIN, deadline_ms);
      if (!s.ok()) return s;
    } else if (errno != EINTR) {
      return Status::FromErrno(errno, "recv from leader");
    }
  }
  return Status::OK();
}

Result<std::vector<uint8_t>> LeaderConnection::Call(int16_t api_key, int16_t version,
                                                    const std::vector<uint8_t>& body,
                                                    int timeout_ms) {
  const int64_t deadline = SteadyMillis() + timeout_ms;
  const int32_t correlation = next_correlation_++;
  std::vector<uint8_t> frame;
  kafka::Writer w(&frame);
  w.Int32(0);  // length, patched below
  w.Int16(api_key);
  w.Int16(version);
  w.Int32(correlation);
  w.String(/*flex=*/false, kClientId);
  frame.insert(frame.end(), body.begin(), body.end());
  PutU32(frame.data(), static_cast<uint32_t>(frame.size() - 4));
  Status s = WriteAll(frame.data(), frame.size(), deadline);
  if (!s.ok()) return s;
  uint8_t head[8];
  s = ReadAll(head, sizeof(head), deadline);
  if (!s.ok()) return s;
  const uint32_t length = GetU32(head);
  if (length < 4 || length > kMaxResponse) return Status::Corruption("bad response length");
  if (static_cast<int32_t>(GetU32(head + 4)) != correlation) {
    return Status::Corruption("response to another request");
  }
  std::vector<uint8_t> out(length - 4);
  s = ReadAll(out.data(), out.size(), deadline);
  if (!s.ok()) return s;
  return out;
}

}  // namespace sentry::replication
