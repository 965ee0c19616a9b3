// WriteRequest: one append (a produce, an offset commit) travelling network
// thread -> writer -> (flusher) -> network thread. Owned by exactly one
// thread at a time: whoever last dequeued it (see Completion). The bytes it
// appends live in `frame_hold`, the network thread's receive block, so the
// writer copies them into the mapping once, straight from the receive buffer.
#pragma once

#include <cstdint>
#include <future>
#include <memory>
#include <span>
#include <vector>

#include "pipeline/completion.h"
#include "pipeline/partition.h"
#include "storage/partition_log.h"
#include "storage/record_batch.h"

namespace sentry::pipeline {

struct WriteRequest final : Completion {
  WriteRequest() : Completion(Kind::kWrite) {}
  std::shared_ptr<Partition> partition;
  int16_t acks = 1;
  int64_t deadline_ms = 0;  // steady clock; acks=-1 must be durable by then
  std::shared_ptr<const void> frame_hold;  // keeps `records` alive
  std::span<const uint8_t> records;
  BatchSetSummary summary;
  // Appended by the network thread itself (Pipeline::TryAppendInline): never
  // among the connection's queued writes (broker::ClientSession).
  bool appended_inline = false;
  // Place among its connection's writes to this partition: answers go out in
  // this order (broker::BrokerCore::TakeInOrder).
  uint64_t order_seq = 0;
  // metrics::SteadyNanos() when it entered a writer's queue (its wait there
  // is a metric); 0 when it never did.
  int64_t enqueued_nanos = 0;

  // Result, filled by the writer / flusher (`status` is Completion's):
  // storage errors as they came, NotFound for a deleted partition, TimedOut
  // for an acks=-1 write that became durable after its deadline.
  AppendInfo info;

  // Set only on the pipeline's own barrier (never delivered to a sink): the
  // writer fulfils it once everything queued before it was processed.
  std::promise<void>* barrier = nullptr;
};

using WriteRequestPtr = std::unique_ptr<WriteRequest>;

// Where completed operations go: the owning network thread's inbox.
// Implemented by the network layer. Any thread may call it; the sink owns
// what it is given, delivered or not.
class CompletionSink {
 public:
  virtual ~CompletionSink() = default;
  virtual void Complete(CompletionPtr c) = 0;
  // From the sink's own thread only: delivered before anything already in
  // its inbox (so before any later completion from another thread), with no
  // wake-up.
  virtual void CompleteLocal(CompletionPtr c) { Complete(std::move(c)); }
  // Several at once, in order (one wake-up for all of them); empties `cs`.
  virtual void CompleteBatch(std::vector<CompletionPtr>* cs) {
    for (auto& c : *cs) Complete(std::move(c));
    cs->clear();
  }
  // The partition's high watermark moved (or it was deleted): re-check the
  // fetches parked on it.
  virtual void WakeFetches(const std::shared_ptr<Partition>& p) = 0;
};

}  // namespace sentry::pipeline
