#include "net/connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace sentry::net {

namespace {
constexpr int kMaxIov = 64;
constexpr size_t kTlsRecordBytes = 16 << 10;

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
  if (tls) tls->Shutdown();
  tls.reset();  // before the socket it writes to
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

void Connection::Consume(size_t n) {
  out_bytes_ -= n;
  while (n > 0) {
    Segment& s = segments_.front();
    if (n >= s.len) {
      n -= s.len;
      segments_.pop_front();
    } else {
      s.len -= n;
      if (s.ext) {
        s.ext += n;
      } else {
        s.off += n;
      }
      n = 0;
    }
  }
}

void Connection::OutputDone() {
  wbuf_.clear();  // everything written: reuse the buffer from the start
  buf_mark_ = 0;
  // A large answer (a fetch of many partitions' headers, a big metadata
  // response) does not stay allocated on a connection that went quiet.
  if (wbuf_.capacity() > kKeptOutputBytes) std::vector<uint8_t>().swap(wbuf_);
}

bool Connection::Flush() { return tls ? FlushTls() : FlushPlain(); }

bool Connection::FlushPlain() {
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
    Consume(static_cast<size_t>(w));
  }
  OutputDone();
  return true;
}

bool Connection::FlushTls() {
  CloseBufSegment();
  while (true) {
    if (stage_off_ == stage_.size()) {
      // The next record: up to 16 KiB (TLS's largest) of queued bytes.
      stage_.clear();
      stage_off_ = 0;
      stage_.reserve(kTlsRecordBytes);
      while (!segments_.empty() && stage_.size() < kTlsRecordBytes) {
        const Segment& s = segments_.front();
        const size_t take = std::min(s.len, kTlsRecordBytes - stage_.size());
        const uint8_t* from = s.ext ? s.ext : wbuf_.data() + s.off;
        stage_.insert(stage_.end(), from, from + take);
        Consume(take);
      }
      if (stage_.empty()) break;
    }
    TlsStream::Io io;
    const size_t w = tls->Write(stage_.data() + stage_off_, stage_.size() - stage_off_, &io);
    if (w > 0) {
      stage_off_ += w;
      continue;
    }
    if (io == TlsStream::Io::kWantWrite || io == TlsStream::Io::kWantRead) return true;
    return false;
  }
  // Everything written: a quiet connection keeps no staging memory (as
  // SSL_MODE_RELEASE_BUFFERS does for OpenSSL's own buffers).
  std::vector<uint8_t>().swap(stage_);
  stage_off_ = 0;
  OutputDone();
  return true;
}

ssize_t Connection::Receive(uint8_t* buf, size_t n) {
  if (!tls) return ::read(fd, buf, n);
  TlsStream::Io io;
  const size_t got = tls->Read(buf, n, &io);
  if (got > 0) return static_cast<ssize_t>(got);
  switch (io) {
    case TlsStream::Io::kClosed: return 0;
    case TlsStream::Io::kWantRead:
    case TlsStream::Io::kWantWrite: errno = EAGAIN; return -1;
    default: errno = EPROTO; return -1;
  }
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
