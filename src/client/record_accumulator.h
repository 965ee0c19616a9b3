// client::RecordAccumulator: the producer's per-partition batching.
//
// Each partition has one open RecordBatchBuilder and a FIFO of closed
// batches. A batch is closed when adding the next record would take it past
// `batch_size` bytes (a record larger than that gets a batch of its own), or
// when it has been open for `linger_ms`. Closed batches leave in the order
// they were closed, and a retried batch goes back to the front, so records of
// one partition are never reordered.
//
// Time is passed in (`now_ms`) so tests drive linger without sleeping.
// Threads: one thread at a time (the producer's caller).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string_view>
#include <vector>

#include "storage/record_batch_builder.h"

namespace sentry::client {

// One closed RecordBatch v2 on its way to a partition.
struct ProducerBatch {
  int32_t partition = 0;
  int32_t records = 0;
  int attempts = 0;  // produce requests that carried it so far
  int64_t first_sent_ms = -1;  // steady clock of the first attempt (delivery timeout)
  std::vector<uint8_t> bytes;
};

class RecordAccumulator {
 public:
  RecordAccumulator(int32_t partitions, size_t batch_size, int64_t linger_ms);

  // Batches closed from now on carry this idempotent producer's id, epoch
  // and per-partition sequence numbers (from 0); the broker then stores a
  // resent batch once.
  void SetProducer(int64_t producer_id, int16_t epoch) {
    producer_id_ = producer_id;
    producer_epoch_ = epoch;
  }

  void Append(int32_t partition, std::optional<std::string_view> key,
              std::optional<std::string_view> value, int64_t timestamp_ms, int64_t now_ms);
  // Closes open batches that have lingered long enough (all of them if `flush`).
  void CloseExpired(int64_t now_ms, bool flush);
  // Earliest time an open batch's linger ends, or INT64_MAX when none is open.
  int64_t NextLingerDeadline() const;

  std::deque<ProducerBatch>& ready(int32_t partition) { return parts_[partition].ready; }
  // Puts batches that must be sent again back in front, keeping their order.
  void Requeue(int32_t partition, std::vector<ProducerBatch> batches);

  int32_t partitions() const { return static_cast<int32_t>(parts_.size()); }
  // Bytes in closed and open batches (for back-pressure).
  size_t buffered_bytes() const { return buffered_bytes_; }
  void Release(size_t bytes) { buffered_bytes_ -= bytes; }
  bool empty() const;

 private:
  struct Part {
    RecordBatchBuilder open;
    int64_t opened_ms = 0;
    std::deque<ProducerBatch> ready;
    int32_t next_sequence = 0;
  };
  void Close(int32_t partition);

  size_t batch_size_;
  int64_t linger_ms_;
  size_t buffered_bytes_ = 0;
  int64_t producer_id_ = -1;
  int16_t producer_epoch_ = -1;
  std::vector<Part> parts_;
};

}  // namespace sentry::client
