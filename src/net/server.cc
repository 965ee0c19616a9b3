#include "net/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/clock.h"

namespace sentry::net {

Server::Server(std::vector<NetworkThread*> threads, int64_t max_connections,
               std::atomic<int64_t>* open_connections)
    : threads_(std::move(threads)), max_connections_(max_connections),
      open_connections_(open_connections) {
  stop_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  // Storage opens segment files by path when it allocates (it holds no
  // descriptor per file), so connections may not take the last descriptors:
  // a produce must not fail for want of one.
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    const int64_t limit = static_cast<int64_t>(rl.rlim_cur);
    kept_for_storage_ = std::min<int64_t>(kStorageDescriptors, limit / 4);
    connection_fd_limit_ = limit - kept_for_storage_;
  }
}

Server::~Server() {
  Stop();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
  if (reserve_fd_ >= 0) ::close(reserve_fd_);
}

Status Server::Listen(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port_s = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), port_s.c_str(), &hints, &res);
  if (rc != 0) return Status::InvalidArgument("host " + host + ": " + ::gai_strerror(rc));
  int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ::freeaddrinfo(res);
    return Status::FromErrno(errno, "socket");
  }
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, res->ai_addr, res->ai_addrlen) != 0 || ::listen(fd, 1024) != 0) {
    int e = errno;
    ::close(fd);
    ::freeaddrinfo(res);
    return Status::FromErrno(e, "bind/listen " + host + ":" + port_s);
  }
  ::freeaddrinfo(res);
  sockaddr_storage ss{};
  socklen_t sl = sizeof(ss);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &sl);
  port_ = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                         : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  listen_fd_ = fd;
  return Status::OK();
}

void Server::Start(FrameHandler* handler, TlsContext* tls) {
  handler_ = handler;
  tls_ = tls;
  thread_ = std::thread([this] { Run(); });
}

void Server::Stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  uint64_t one = 1;
  ssize_t r = ::write(stop_fd_, &one, sizeof(one));
  (void)r;
  thread_.join();
}

void Server::Run() {
  size_t next = 0;
  int64_t last_limit_log = 0, last_emfile_log = 0;
  uint64_t refused_since_log = 0;
  while (!stop_.load()) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    if (fds[1].revents) break;
    while (true) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE) {
          // Out of descriptors: use the reserved one to take the connection
          // off the backlog and close it, instead of spinning on it.
          int64_t now = SteadyMillis();
          if (now - last_emfile_log > 5000) {
            spdlog::warn("out of file descriptors: refusing new connections ({})",
                         std::strerror(errno));
            last_emfile_log = now;
          }
          ::close(reserve_fd_);
          int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
          if (c >= 0) ::close(c);
          reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
          if (reserve_fd_ < 0) {
            // Could not get it back yet: wait a little rather than spin.
            pollfd sfd{stop_fd_, POLLIN, 0};
            ::poll(&sfd, 1, 50);
            reserve_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
          }
          // accept4 fails with EMFILE before it looks at the backlog, so only
          // the reserved accept tells whether the backlog is empty: if it is,
          // go back to poll() (which wakes only for a new connection).
          if (c < 0) break;
          continue;
        }
        break;  // EAGAIN: backlog drained
      }
      if (open_connections_->load() >= max_connections_ || fd >= connection_fd_limit_) {
        ::close(fd);
        refused_since_log++;
        int64_t now = SteadyMillis();
        if (now - last_limit_log > 5000) {
          spdlog::warn("{} reached: closed {} new connection(s)",
                       fd >= connection_fd_limit_
                           ? fmt::format("open files limit ({} kept for storage)",
                                         kept_for_storage_)
                           : fmt::format("max.connections ({})", max_connections_),
                       refused_since_log);
          last_limit_log = now;
          refused_since_log = 0;
        }
        continue;
      }
      open_connections_->fetch_add(1);
      open_.fetch_add(1, std::memory_order_relaxed);
      accepted_.fetch_add(1, std::memory_order_relaxed);
      threads_[next++ % threads_.size()]->AddConnection(fd, handler_, &open_, tls_);
    }
  }
}

}  // namespace sentry::net
