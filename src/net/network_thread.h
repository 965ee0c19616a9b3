// NetworkThread: one epoll event loop serving many connections.
//
// It reads and reassembles frames, hands each to the front end of the
// connection's listener (FrameHandler), writes responses, parks long-poll
// reads, and receives from other threads, via its inbox + eventfd: new
// connections (acceptors), completions (writers, flusher, admin thread) and
// "partition moved" wake-ups (writers). It knows no wire format.
//
// Ownership: every message in the inbox owns what it carries. A completion
// whose connection is gone is finished (its side effects applied) and freed
// here; one that arrives after the thread stopped is finished and freed by
// DrainLateCompletions() or, at the latest, the destructor.
//
// Inbox: a moodycamel queue, many producers (acceptor, writers, flusher), one
// consumer (this thread); order holds per producer only, which suffices: the
// completions of one partition come from one writer (or the flusher after it).
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include <concurrentqueue/concurrentqueue.h>

#include "net/connection.h"
#include "metrics/thread_metrics.h"
#include "net/frame_handler.h"
#include "pipeline/write_request.h"

namespace sentry::net {

struct NetOptions {
  int64_t max_frame_bytes = 16 << 20;
  int64_t max_inflight_per_connection = 1024;
  int64_t max_output_bytes_per_connection = 64 << 20;
  int64_t idle_timeout_ms = 600000;
  int64_t tls_handshake_timeout_ms = 10000;  // a TLS client must finish its handshake by then
  int64_t poll_spin_us = 25;  // busy-poll before sleeping after activity (0 = never)
};

struct NetStats {
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> bytes_out{0};
  std::atomic<int64_t> connections{0};
};

class NetworkThread final : public pipeline::CompletionSink {
 public:
  NetworkThread(uint32_t index, const NetOptions& opt, std::atomic<int64_t>* open_connections);
  ~NetworkThread() override;
  void Start();
  // After Start(): SCHED_FIFO at `priority` for this thread (realtime.priority).
  Status SetRealtimePriority(int priority);
  // Stops reading new requests, answers what is in flight (up to
  // `grace_ms`), closes every connection and joins the thread.
  void Stop(int64_t grace_ms);
  // After Stop() and once nothing can complete to this thread any more (the
  // pipeline and the admin thread stopped): finishes and frees whatever
  // arrived late. Returns how many completions that was.
  size_t DrainLateCompletions();

  // Acceptor thread: takes ownership of a connected, non-blocking socket,
  // served by `handler` (the listener's front end). `listener_open` (may be
  // null) is the listener's count of open connections, decremented when
  // this one closes.
  // `tls` (may be null): the listener speaks TLS with these certificates.
  void AddConnection(int fd, FrameHandler* handler,
                     std::atomic<int64_t>* listener_open = nullptr, TlsContext* tls = nullptr);
  // pipeline::CompletionSink (writers, flusher, admin thread)
  void Complete(pipeline::CompletionPtr c) override;
  void CompleteBatch(std::vector<pipeline::CompletionPtr>* cs) override;
  void CompleteLocal(pipeline::CompletionPtr c) override;
  void WakeFetches(const std::shared_ptr<pipeline::Partition>& p) override;
  const NetStats& stats() const { return stats_; }
  // This thread's metrics (requests, latencies, bytes out; scrape reads).
  const metrics::ThreadMetrics& metrics() const { return metrics_; }

 private:
  struct Message {
    enum class Kind : uint8_t { kConnection, kCompletion, kWake } kind = Kind::kConnection;
    int fd = -1;                          // kConnection
    FrameHandler* handler = nullptr;      // kConnection
    std::atomic<int64_t>* listener_open = nullptr;  // kConnection
    TlsContext* tls = nullptr;                      // kConnection
    pipeline::CompletionPtr completion;   // kCompletion
    std::shared_ptr<pipeline::Partition> partition;  // kWake
  };
  void Post(Message m);
  void Wake();  // after enqueueing: write the eventfd unless the loop is awake
  void Run();
  size_t DrainInbox();  // returns the number of messages handled
  int SpinThenWait(epoll_event* evs, int max_events, int timeout_ms);
  // epoll_wait; a wait that may sleep counts as idle time.
  int Wait(epoll_event* evs, int max_events, int timeout_ms);
  void OnReadable(Connection* c);
  // TLS: drives the handshake; true once it is done (the connection may
  // read frames), false while it waits or when it failed (then closing).
  bool AdvanceHandshake(Connection* c);
  // Parses and handles complete frames; stops at a frame that must wait.
  void ProcessFrames(Connection* c);
  bool Paused(const Connection* c) const;
  void AfterIo(Connection* c);  // flush output, close when done/broken
  void CloseConnection(Connection* c);
  // Drops the watches a parked read holds on its partitions.
  void Unwatch(ParkedRead& pr);
  void RejectFrame(Connection* c, uint32_t len, int64_t max);
  void OnConnectionMessage(Message& m, std::vector<uint64_t>* touched);
  void OnCompletion(pipeline::CompletionPtr c, std::vector<uint64_t>* touched);
  void OnWakeMessage(Message& m, std::vector<uint64_t>* touched);
  // After anything that may let `c` go on: parse held frames, read, write.
  void Resume(Connection* c);
  void ExpireParked(int64_t now);
  void CheckIdle(int64_t now);
  int ComputeTimeoutMs(int64_t now) const;

  const uint32_t index_;
  const NetOptions opt_;
  std::atomic<int64_t>* open_connections_;
  int epfd_ = -1;
  int evfd_ = -1;
  std::atomic<bool> evfd_armed_{false};
  moodycamel::ConcurrentQueue<Message> inbox_;
  // Completions of inline appends (CompleteLocal), this thread only; handled
  // before the inbox.
  std::vector<pipeline::CompletionPtr> local_done_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> conns_;
  std::vector<uint64_t> retry_;  // connections with a frame waiting
  std::vector<std::shared_ptr<RecvBlock>> spare_blocks_;  // idle connections' receive blocks
  std::vector<ParkedRead> parked_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> stop_{false};
  int64_t drain_deadline_ms_ = 0;
  int64_t next_idle_check_ms_ = 0;
  std::thread thread_;
  NetStats stats_;
  metrics::ThreadMetrics metrics_;
};

}  // namespace sentry::net
