// Writer: one thread that owns a set of partitions (partition -> writer is
// fixed), so their appends take no lock.
//
// Queue: bounded moodycamel queue; producers are the network threads, each
// with its own producer token, so requests from one connection (always on one
// network thread) keep their order. try_enqueue never allocates: when it
// fails the queue is full and the network thread applies backpressure.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include <concurrentqueue/blockingconcurrentqueue.h>

#include "metrics/thread_metrics.h"
#include "pipeline/appender.h"
#include "pipeline/flusher.h"
#include "pipeline/write_request.h"

namespace sentry::pipeline {

class Writer {
 public:
  Writer(uint32_t index, size_t capacity, size_t producers, Flusher* flusher,
         std::vector<CompletionSink*> sinks);
  ~Writer();
  void Start();
  void Stop();  // processes what is queued, then exits
  // After Start(): SCHED_FIFO at `priority` for this thread (realtime.priority).
  Status SetRealtimePriority(int priority);

  // Raw pointers so that TryEnqueue's "not taken" case plainly leaves the
  // request with the caller (a full queue is normal backpressure); once
  // enqueued, every slot owns its request: Run() re-wraps it at once, and
  // ~Writer frees any that were never run.
  using Queue = moodycamel::BlockingConcurrentQueue<WriteRequest*>;
  Queue& queue() { return queue_; }
  // Network thread, with its own token for this writer. Takes `req` only
  // when it returns true (the queue had room).
  bool TryEnqueue(moodycamel::ProducerToken& token, WriteRequestPtr& req) {
    req->enqueued_nanos = metrics::ThreadMetrics::Now();  // the network thread's pass
    if (!queue_.try_enqueue(token, req.get())) return false;
    req.release();  // the queue's slot owns it now; Run() re-wraps it
    return true;
  }
  // Any thread; may allocate (barriers, shutdown). Takes `req`.
  void Enqueue(WriteRequestPtr req) { queue_.enqueue(req.release()); }
  size_t depth() const { return queue_.size_approx(); }
  const WriterStats& stats() const { return stats_; }
  // Counts of the partitions this writer owns, appended here or inline.
  WriterStats* mutable_stats() { return &stats_; }
  // The writer thread's metrics: its histogram is the queue wait.
  const metrics::ThreadMetrics& metrics() const { return metrics_; }

 private:
  void Run();
  void Process(WriteRequestPtr req, std::vector<std::shared_ptr<Partition>>* touched);
  // Queues an answer for this bulk's post to its network thread.
  void Complete(WriteRequestPtr req);
  // Posts the completions gathered during this bulk, one batch per sink.
  void PostCompletions();

  const uint32_t index_;
  Appender appender_;
  std::vector<CompletionSink*> sinks_;
  // Writer thread only: completions of the current bulk, per network thread.
  std::vector<std::vector<CompletionPtr>> done_;
  Queue queue_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  WriterStats stats_;
  metrics::ThreadMetrics metrics_;
};

}  // namespace sentry::pipeline
