// WriteRequest: one produce (or internal append) travelling network thread ->
// writer -> (flusher) -> network thread; also carries an admin request to the
// broker's admin thread and back. Owned by exactly one thread at a time:
// whoever last dequeued it. The bytes it appends live in `frame_hold`, the
// network thread's receive block, so the writer copies them into the mapping
// once, straight from the receive buffer.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "pipeline/partition.h"
#include "protocol/errors.h"
#include "storage/partition_log.h"
#include "storage/record_batch.h"

namespace sentry::pipeline {

struct WriteRequest {
  // kAdmin: CREATE/DELETE_TOPIC run by the broker's AdminExecutor (no partition).
  enum class Kind : uint8_t { kProduce, kOffsetCommit, kBarrier, kAdmin };
  Kind kind = Kind::kProduce;

  // Routing back to the connection that sent it.
  uint32_t net_thread = 0;
  uint64_t conn_id = 0;
  uint16_t api_key = 0;
  uint16_t api_version = 0;
  uint32_t correlation_id = 0;

  std::shared_ptr<Partition> partition;
  int16_t acks = 1;
  int64_t deadline_ms = 0;  // steady clock; acks=-1 must be durable by then
  std::shared_ptr<const void> frame_hold;  // keeps `records` alive
  std::span<const uint8_t> records;
  BatchSetSummary summary;

  // Result, filled by the writer / flusher.
  protocol::ErrorCode error = protocol::ErrorCode::kNone;
  AppendInfo info;
  void* user = nullptr;  // kBarrier: a std::promise<void>*; kOffsetCommit: broker data
};

// Where completed requests go: the owning network thread's completion queue.
// Implemented by the network layer. Any thread may call it.
class CompletionSink {
 public:
  virtual ~CompletionSink() = default;
  virtual void Complete(WriteRequest* req) = 0;
  // Several at once, in order (one wake-up for all of them). Default: one by one.
  virtual void CompleteBatch(std::span<WriteRequest* const> reqs) {
    for (WriteRequest* r : reqs) Complete(r);
  }
  // The partition's high watermark moved (or it was deleted): re-check the
  // fetches parked on it.
  virtual void WakeFetches(const std::shared_ptr<Partition>& p) = 0;
};

}  // namespace sentry::pipeline
