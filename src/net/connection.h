// Connection: one client socket, owned by exactly one network thread.
//
// Input: frames are read into reference-counted receive blocks; a produce
// request keeps its block alive (frame_hold) until the writer has copied the
// records into the mapping, so records are copied exactly once.
// Output: responses queue as segments, either bytes in `wbuf` or payloads
// sent straight from mapped segments (held by shared_ptr), written with
// writev in as few syscalls as possible.
// TLS (a listener with a TlsContext): the same segments go through the
// connection's TlsStream instead, staged into records of up to 16 KiB (no
// zero copy: the bytes must be encrypted); Receive() gives decrypted bytes.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "net/frame_handler.h"
#include "net/tls_context.h"
#include "net/tls_stream.h"

namespace sentry::net {

// Receive blocks: allocated when a connection first has bytes to read, and
// handed back to its network thread's spares when it has none left to parse,
// so an idle connection holds no receive memory.
constexpr size_t kRecvBlockBytes = 256 << 10;
// Output buffer capacity a connection keeps once everything is written.
constexpr size_t kKeptOutputBytes = 16 << 10;

struct RecvBlock {
  explicit RecvBlock(size_t n) : data(n) {}
  std::vector<uint8_t> data;
};

class Connection final : public ResponseOut {
 public:
  // `handler` is the front end of the listener that accepted it.
  Connection(int fd, uint64_t id, uint32_t net_thread, FrameHandler* handler);
  ~Connection() override;

  // ResponseOut
  std::vector<uint8_t>* bytes() override { return &wbuf_; }
  void AppendPayload(std::span<const uint8_t> data, std::shared_ptr<const void> hold) override;

  // Writes as much queued output as the socket takes. False on a socket error.
  bool Flush();
  size_t pending_output() const {
    return out_bytes_ + (wbuf_.size() - buf_mark_) + (stage_.size() - stage_off_);
  }
  // read(2) on the socket, or through TLS: > 0 bytes, 0 at the peer's end,
  // -1 with errno (EAGAIN: nothing now).
  ssize_t Receive(uint8_t* buf, size_t n);
  bool has_output() const { return pending_output() > 0; }

  // Makes room for at least `need` contiguous bytes after rend (moving the
  // unconsumed tail into a fresh block when the current one is shared).
  void EnsureSpace(size_t need);
  uint8_t* read_ptr() { return block->data.data() + rend; }
  size_t read_space() const { return block->data.size() - rend; }

  int fd;
  uint64_t id;
  FrameHandler* const handler;
  // The accepting listener's count of open connections (may be null).
  std::atomic<int64_t>* listener_open = nullptr;
  const std::unique_ptr<Session> session;
  std::shared_ptr<RecvBlock> block;  // null while idle (see kRecvBlockBytes)
  size_t rstart = 0;  // first unconsumed byte
  size_t rend = 0;    // end of bytes read
  bool readable = true;    // edge-triggered: may have unread bytes
  bool peer_closed = false;
  bool closing = false;    // answer what is queued, then close
  bool retry_pending = false;  // a frame waits for queue room / ordering
  int inflight = 0;            // submitted + parked requests
  int64_t last_active_ms = 0;
  int64_t opened_ms = 0;
  // TLS listeners only: the stream, and the listener's context (counters).
  std::unique_ptr<TlsStream> tls;
  TlsContext* tls_context = nullptr;

 private:
  void CloseBufSegment();
  bool FlushPlain();
  bool FlushTls();
  // The first n queued bytes were written: drops them from segments_.
  void Consume(size_t n);
  void OutputDone();  // everything written: the buffer starts over
  struct Segment {
    size_t off = 0;                   // into wbuf_ when ext == nullptr
    size_t len = 0;
    const uint8_t* ext = nullptr;     // payload from elsewhere (mapped segment)
    std::shared_ptr<const void> hold;
  };
  std::vector<uint8_t> wbuf_;
  size_t buf_mark_ = 0;  // wbuf_ bytes before this are in segments_
  std::deque<Segment> segments_;
  size_t out_bytes_ = 0;  // bytes in segments_ not yet written
  // TLS: bytes taken from segments_ for the record being written; a write
  // that must wait is retried with exactly these bytes.
  std::vector<uint8_t> stage_;
  size_t stage_off_ = 0;
};

}  // namespace sentry::net
