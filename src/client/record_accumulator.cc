#include "client/record_accumulator.h"

#include <algorithm>
#include <climits>

namespace sentry::client {

RecordAccumulator::RecordAccumulator(int32_t partitions, size_t batch_size, int64_t linger_ms)
    : batch_size_(batch_size), linger_ms_(linger_ms), parts_(partitions > 0 ? partitions : 1) {}

void RecordAccumulator::Append(int32_t partition, std::optional<std::string_view> key,
                               std::optional<std::string_view> value, int64_t timestamp_ms,
                               int64_t now_ms) {
  Part& p = parts_[partition];
  // Record overhead is at most ~21 bytes of varints and attributes.
  const size_t record_bytes = (key ? key->size() : 0) + (value ? value->size() : 0) + 21;
  if (!p.open.empty() && p.open.EstimatedSize() + record_bytes > batch_size_) Close(partition);
  if (p.open.empty()) p.opened_ms = now_ms;
  const size_t before = p.open.empty() ? 0 : p.open.EstimatedSize();
  p.open.Add(key, value, timestamp_ms);
  buffered_bytes_ += p.open.EstimatedSize() - before;
  if (p.open.EstimatedSize() >= batch_size_) Close(partition);
}

void RecordAccumulator::Close(int32_t partition) {
  Part& p = parts_[partition];
  if (p.open.empty()) return;
  const size_t estimated = p.open.EstimatedSize();
  ProducerBatch b;
  b.partition = partition;
  b.records = p.open.count();
  if (producer_id_ >= 0) {
    // Sequences count records per partition and wrap at 2^31 (as Kafka's).
    p.open.SetProducer(producer_id_, producer_epoch_, p.next_sequence);
    p.next_sequence = static_cast<int32_t>(
        (static_cast<int64_t>(p.next_sequence) + b.records) % (int64_t{1} << 31));
  }
  b.bytes = p.open.Build();
  buffered_bytes_ += b.bytes.size();
  buffered_bytes_ -= estimated;
  p.ready.push_back(std::move(b));
}

void RecordAccumulator::CloseExpired(int64_t now_ms, bool flush) {
  for (int32_t i = 0; i < partitions(); i++) {
    Part& p = parts_[i];
    if (!p.open.empty() && (flush || now_ms - p.opened_ms >= linger_ms_)) Close(i);
  }
}

int64_t RecordAccumulator::NextLingerDeadline() const {
  int64_t d = INT64_MAX;
  for (const Part& p : parts_) {
    if (!p.open.empty()) d = std::min(d, p.opened_ms + linger_ms_);
  }
  return d;
}

void RecordAccumulator::Requeue(int32_t partition, std::vector<ProducerBatch> batches) {
  auto& q = parts_[partition].ready;
  for (auto it = batches.rbegin(); it != batches.rend(); ++it) q.push_front(std::move(*it));
}

bool RecordAccumulator::empty() const {
  for (const Part& p : parts_) {
    if (!p.open.empty() || !p.ready.empty()) return false;
  }
  return true;
}

}  // namespace sentry::client
