// BenchSocket: the benchmark's allocation-free framing on top of a connected
// client::Connection (its socket, or its TLS when it has it). Frames to send are appended to one reserved
// output buffer (memcpy of a prebuilt request) and written with as few
// send() calls as the kernel allows; responses are parsed in place from one
// reusable input buffer. Nothing here allocates after construction.
//
// Threads: owned by one benchmark worker thread.
#pragma once

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <vector>

#include "client/connection.h"
#include "common/endian.h"
#include "common/status.h"
#include "protocol/codec.h"

namespace sentry::bench {

class BenchSocket {
 public:
  BenchSocket(client::Connection* conn, size_t out_capacity, size_t in_capacity)
      : conn_(conn) {
    out_.resize(out_capacity);
    in_.resize(in_capacity);
  }

  // Room for another frame of `n` bytes in the output buffer?
  bool HasRoom(size_t n) const { return out_len_ + n <= out_.size(); }
  // Appends a frame; returns where it was copied so the caller may patch it.
  uint8_t* Append(const uint8_t* frame, size_t n) {
    uint8_t* at = out_.data() + out_len_;
    std::memcpy(at, frame, n);
    out_len_ += n;
    return at;
  }
  bool HasOutput() const { return out_sent_ < out_len_; }

  // Writes what it can without blocking.
  Status Flush() {
    while (out_sent_ < out_len_) {
      ssize_t n = conn_->SendSome(out_.data() + out_sent_, out_len_ - out_sent_);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return Status::FromErrno(errno, "send");
      }
      out_sent_ += static_cast<size_t>(n);
    }
    if (out_sent_ == out_len_) out_sent_ = out_len_ = 0;
    return Status::OK();
  }

  // Waits up to timeout_ns for input (or output room when output is pending).
  // ppoll takes nanoseconds: a rate-paced sender sleeps until exactly the
  // next request is due instead of spinning on poll(0) (which took a whole
  // core from the broker it measures on a 2-core machine).
  void Wait(int64_t timeout_ns) {
    if (conn_->HasBuffered()) return;  // TLS holds decrypted bytes: read them first
    pollfd p{conn_->fd(), static_cast<short>(conn_->PollEvents() | (HasOutput() ? POLLOUT : 0)),
             0};
    timespec ts{static_cast<time_t>(timeout_ns / 1000000000), static_cast<long>(timeout_ns % 1000000000)};
    ::ppoll(&p, 1, &ts, nullptr);
  }

  // Reads what is available and calls on_frame(correlation_id, error_code,
  // body, body_len) for every complete response frame.
  template <typename F>
  Status Read(F&& on_frame) {
    while (true) {
      if (in_len_ == in_.size()) {
        return Status::Corruption("response frame larger than the input buffer");
      }
      ssize_t n = conn_->RecvSome(in_.data() + in_len_, in_.size() - in_len_);
      if (n == 0) return Status::Unavailable("broker closed the connection");
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::OK();
        return Status::FromErrno(errno, "recv");
      }
      in_len_ += static_cast<size_t>(n);
      size_t pos = 0;
      namespace layout = protocol::frame_layout;
      while (in_len_ - pos >= layout::kLengthBytes) {
        const uint32_t len = layout::FrameLength(in_.data() + pos);
        if (len < layout::kResponseHeaderBytes) return Status::Corruption("short response frame");
        if (in_len_ - pos < layout::kLengthBytes + len) break;
        const uint8_t* f = in_.data() + pos + layout::kLengthBytes;
        on_frame(layout::ReadHeader(f).correlation_id, layout::ReadErrorCode(f),
                 f + layout::kResponseHeaderBytes, len - layout::kResponseHeaderBytes);
        pos += layout::kLengthBytes + len;
      }
      if (pos > 0) {
        std::memmove(in_.data(), in_.data() + pos, in_len_ - pos);
        in_len_ -= pos;
      }
    }
  }

 private:
  client::Connection* conn_;
  std::vector<uint8_t> out_;
  size_t out_len_ = 0;
  size_t out_sent_ = 0;
  std::vector<uint8_t> in_;
  size_t in_len_ = 0;
};

}  // namespace sentry::bench
