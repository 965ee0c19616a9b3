#include "net/connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace sentry::net {

namespace {
constexpr int kMaxIov = 64;

std::string PeerAddress(int fd) {
  sockaddr_storage sa{};
  socklen_t len = sizeof(sa);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return "/unknown";
  char host[INET6_ADDRSTRLEN] = {0};
  const void* addr = sa.ss_family == AF_INET6
                         ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&sa)->sin6_addr)
                         : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&sa)->sin_addr);
  if (!::inet_ntop(sa.ss_family, addr, host, sizeof(host))) return "/unknown";
  return std::string("/") + host;
}
}  // namespace

Connection::Connection(int fd_in, uint64_t id_in, uint32_t net_thread, FrameHandler* handler_in)
    : fd(fd_in), id(id_in), handler(handler_in),
      session(handler_in->NewSession(pipeline::Route{net_thread, id_in}, PeerAddress(fd_in))) {}

Connection::~Connection() {
  if (fd >= 0) ::close(fd);
}

void Connection::CloseBufSegment() {
  if (wbuf_.size() > buf_mark_) {
    segments_.push_back(Segment{buf_mark_, wbuf_.size() - buf_mark_, nullptr, nullptr});
    out_bytes_ += wbuf_.size() - buf_mark_;
    buf_mark_ = wbuf_.size();
  }
}

void Connection::AppendPayload(std::span<const uint8_t> data, std::shared_ptr<const void> hold) {
  CloseBufSegment();
  if (data.empty()) return;
  segments_.push_back(Segment{0, data.size(), data.data(), std::move(hold)});
  out_bytes_ += data.size();
}

bool Connection::Flush() {
  CloseBufSegment();
  while (!segments_.empty()) {
    iovec iov[kMaxIov];
    int n = 0;
    for (auto it = segments_.begin(); it != segments_.end() && n < kMaxIov; ++it, ++n) {
      iov[n].iov_base = const_cast<uint8_t*>(it->ext ? it->ext : wbuf_.data() + it->off);
      iov[n].iov_len = it->len;
    }
    ssize_t w = ::writev(fd, iov, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      return false;
    }
    size_t left = static_cast<size_t>(w);
    out_bytes_ -= left;
    while (left > 0) {
      Segment& s = segments_.front();
      if (left >= s.len) {
        left -= s.len;
        segments_.pop_front();
      } else {
        s.len -= left;
        if (s.ext) {
          s.ext += left;
        } else {
          s.off += left;
        }
        left = 0;
      }
    }
  }
  wbuf_.clear();  // everything written: reuse the buffer from the start
  buf_mark_ = 0;
  // A large answer (a fetch of many partitions' headers, a big metadata
  // response) does not stay allocated on a connection that went quiet.
  if (wbuf_.capacity() > kKeptOutputBytes) std::vector<uint8_t>().swap(wbuf_);
  return true;
}

void Connection::EnsureSpace(size_t need) {
  const size_t unread = rend - rstart;
  if (!block) {
    block = std::make_shared<RecvBlock>(std::max(kRecvBlockBytes, need));
    rstart = rend = 0;
    return;
  }
  if (block->data.size() - rend >= need) return;
  const size_t want = std::max(kRecvBlockBytes, unread + need);
  if (block.use_count() == 1 && block->data.size() >= want) {
    // Nobody else holds the block: slide the partial frame to the front.
    std::memmove(block->data.data(), block->data.data() + rstart, unread);
  } else {
    auto fresh = std::make_shared<RecvBlock>(want);
    std::memcpy(fresh->data.data(), block->data.data() + rstart, unread);
    block = std::move(fresh);
  }
  rstart = 0;
  rend = unread;
}

}  // namespace sentry::net
