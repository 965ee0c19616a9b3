// Pipeline: the writers and the flusher, wired to the network threads'
// completion sinks. Built once at start-up, stopped once at shutdown.
//
// Threads: TryEnqueue and TryAppendInline are called by network thread
// `net_thread` only (it uses that thread's producer tokens and inbox).
// Barrier from any thread except a writer.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "pipeline/flusher.h"
#include "pipeline/writer.h"

namespace sentry::pipeline {

struct PipelineOptions {
  uint32_t writer_threads = 1;   // num.writer.threads
  size_t queue_capacity = 4096;  // queued.max.requests, per writer
  size_t inline_append_max_bytes = 0;  // pipeline.inline.append.max.bytes (0 = never)
};

class Pipeline {
 public:
  Pipeline(const PipelineOptions& opt, std::vector<CompletionSink*> sinks);
  ~Pipeline();
  void Start();
  // After Start(): SCHED_FIFO at `priority` for every writer thread.
  Status SetRealtimePriority(int priority);
  void Stop();  // drains the queues and the flusher

  // Which writer owns (topic, partition): fixed for the broker's lifetime.
  uint32_t WriterFor(std::string_view topic, int32_t partition) const;
  uint32_t writer_count() const { return static_cast<uint32_t>(writers_.size()); }

  // False when that writer's queue is full: nothing was enqueued and `req`
  // is still the caller's. True: the pipeline owns it until its completion.
  bool TryEnqueue(uint32_t net_thread, WriteRequestPtr& req);
  // The short way for a small write (at most inline_append_max_bytes) to a
  // partition nobody is appending to: network thread `net_thread` appends it
  // itself under the partition's append lock, when that needs no
  // file-system call (no roll, no allocation: PartitionLog::CanAppendWithoutIo),
  // and posts the completion to its own inbox. That saves the hand-off to the
  // writer and back, half the cost of a one-record produce. False: nothing
  // happened and `req` is still the caller's (enqueue it). The caller keeps
  // a connection's order: it goes inline only when none of that
  // connection's writes to the partition is still queued.
  bool TryAppendInline(uint32_t net_thread, WriteRequestPtr& req);
  // From any thread, for rare internal writes (group records): never
  // refused, may allocate, and ignores the queue bound.
  void Enqueue(WriteRequestPtr req);
  // Returns once writer `w` has processed everything enqueued before the call.
  void Barrier(uint32_t w);

  const Writer& writer(uint32_t w) const { return *writers_[w]; }
  const Flusher& flusher() const { return *flusher_; }

 private:
  const PipelineOptions opt_;
  const std::vector<CompletionSink*> sinks_;
  std::unique_ptr<Flusher> flusher_;
  Appender inline_appender_;
  std::vector<std::unique_ptr<Writer>> writers_;
  // tokens_[net_thread][writer]
  std::vector<std::vector<std::unique_ptr<moodycamel::ProducerToken>>> tokens_;
};

}  // namespace sentry::pipeline
