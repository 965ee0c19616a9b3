// NetworkThread: one epoll event loop serving many connections.
//
// It reads and reassembles frames, runs the request handler, writes
// responses, parks long-poll fetches, and receives from other threads, via
// its inbox + eventfd: new connections (acceptor), completed writes (writers,
// flusher) and "partition moved" wake-ups (writers).
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

#include "broker/request_handler.h"
#include "net/connection.h"
#include "pipeline/write_request.h"

namespace sentry::net {

struct NetOptions {
  int64_t max_frame_bytes = 16 << 20;
  int64_t max_inflight_per_connection = 1024;
  int64_t max_output_bytes_per_connection = 64 << 20;
  int64_t idle_timeout_ms = 600000;
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
  void SetHandler(broker::RequestHandler* h) { handler_ = h; }
  void Start();
  // After Start(): SCHED_FIFO at `priority` for this thread (realtime.priority).
  Status SetRealtimePriority(int priority);
  // Stops reading new requests, answers what is in flight (up to
  // `grace_ms`), closes every connection and joins the thread.
  void Stop(int64_t grace_ms);

  // Acceptor thread: takes ownership of a connected, non-blocking socket.
  void AddConnection(int fd);
  // pipeline::CompletionSink (writers, flusher)
  void Complete(pipeline::WriteRequest* req) override;
  void CompleteBatch(std::span<pipeline::WriteRequest* const> reqs) override;
  void WakeFetches(const std::shared_ptr<pipeline::Partition>& p) override;
  const NetStats& stats() const { return stats_; }

 private:
  struct Message {
    enum class Kind : uint8_t { kConnection, kCompletion, kWake } kind = Kind::kConnection;
    int fd = -1;
    pipeline::WriteRequest* req = nullptr;
    std::shared_ptr<pipeline::Partition> partition;
  };
  void Post(Message m);
  void Wake();  // after enqueueing: write the eventfd unless the loop is awake
  void Run();
  size_t DrainInbox();  // returns the number of messages handled
  int SpinThenWait(epoll_event* evs, int max_events, int timeout_ms);
  void OnReadable(Connection* c);
  // Parses and handles complete frames; stops at a frame that must wait.
  void ProcessFrames(Connection* c);
  bool Paused(const Connection* c) const;
  void AfterIo(Connection* c);  // flush output, close when done/broken
  void CloseConnection(Connection* c);
  void RejectFrame(Connection* c, protocol::ErrorCode code);
  void ExpireParked(int64_t now);
  void CheckIdle(int64_t now);
  int ComputeTimeoutMs(int64_t now) const;

  const uint32_t index_;
  const NetOptions opt_;
  std::atomic<int64_t>* open_connections_;
  broker::RequestHandler* handler_ = nullptr;
  int epfd_ = -1;
  int evfd_ = -1;
  std::atomic<bool> evfd_armed_{false};
  moodycamel::ConcurrentQueue<Message> inbox_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> conns_;
  std::vector<uint64_t> retry_;  // connections with a frame waiting
  std::vector<broker::ParkedFetch> parked_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> stop_{false};
  int64_t drain_deadline_ms_ = 0;
  int64_t next_idle_check_ms_ = 0;
  std::thread thread_;
  NetStats stats_;
};

}  // namespace sentry::net
