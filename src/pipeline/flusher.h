// Flusher: the one thread that msyncs partition logs, so writers keep
// appending while a sync runs.
//
// Group commit: it drains everything queued, msyncs each partition named in
// the batch once (covering every append made before the sync started), then
// completes the waiting requests in queue order. Durable throughput therefore
// grows with load instead of being capped at one sync per request.
// It also runs the time-based cadence (flush.ms) for partitions the writers
// reported dirty.
//
// Queue: writers produce (one producer token each, FIFO per writer), the
// flusher thread consumes. Order holds per producer only, which is all that is
// needed: a partition always has the same writer.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <thread>
#include <unordered_map>
#include <vector>

#include <concurrentqueue/blockingconcurrentqueue.h>

#include "metrics/thread_metrics.h"
#include "pipeline/partition.h"
#include "pipeline/write_request.h"

namespace sentry::pipeline {

struct FlushItem {
  std::shared_ptr<Partition> partition;
  WriteRequestPtr waiter;        // completed after the item is handled (may be null)
  bool needs_sync = false;         // false: only keeps completion order / reports dirt
};

struct FlusherStats {
  std::atomic<uint64_t> syncs{0};
  std::atomic<uint64_t> sync_micros_total{0};
  std::atomic<uint64_t> sync_micros_max{0};
};

class Flusher {
 public:
  explicit Flusher(std::vector<CompletionSink*> sinks);
  ~Flusher();
  void Start();
  void Stop();  // drains what is queued first
  // Any writer thread.
  void Submit(FlushItem item) { queue_.enqueue(std::move(item)); }
  const FlusherStats& stats() const { return stats_; }
  // The flusher thread's metrics: its histogram is the sync latency.
  const metrics::ThreadMetrics& metrics() const { return metrics_; }

 private:
  void Run();
  void Handle(std::span<FlushItem> items);
  void FlushDueByTime(int64_t now_ms);
  Status SyncPartition(Partition* p, int64_t now_ms);

  std::vector<CompletionSink*> sinks_;
  moodycamel::BlockingConcurrentQueue<FlushItem> queue_;
  std::unordered_map<Partition*, std::shared_ptr<Partition>> dirty_;  // flusher thread only
  std::atomic<bool> stop_{false};
  std::thread thread_;
  FlusherStats stats_;
  metrics::ThreadMetrics metrics_;
};

}  // namespace sentry::pipeline
