#include "recovery/producer_state_loader.h"

#include <spdlog/spdlog.h>

#include <limits>
#include <vector>

#include "common/clock.h"
#include "common/file_util.h"

namespace sentry::recovery {

Status RebuildProducerState(PartitionLog* log, ProducerRebuild* out) {
  *out = ProducerRebuild{};
  ProducerState& ps = log->producers();
  MutexLock l(&ps.mu());
  int64_t from = log->log_start_offset();
  const int64_t end = log->high_watermark();
  auto bytes = ReadFile(log->dir() + "/" + ProducerState::kSnapshotFile);
  if (bytes.ok()) {
    int64_t offset = 0;
    std::map<int64_t, ProducerState::Entry> producers;
    Status s = ProducerState::Parse(*bytes, &offset, &producers);
    if (s.ok() && offset >= from && offset <= end) {
      ps.Reset(std::move(producers));
      from = offset;
      out->from_snapshot = true;
    } else {
      // Damaged, or ahead of a log that lost its unsynced tail: replay all.
      spdlog::warn("{}: producer snapshot not used ({}); replaying the whole log", log->dir(),
                   s.ok() ? "its offset is outside the log" : s.message());
    }
  }
  // Collected first, replayed after: the walk's callback runs outside the
  // lock's scope as far as the thread-safety analysis can see.
  struct Seen {
    int64_t producer_id;
    int16_t epoch;
    int32_t first_seq, last_seq;
    int64_t first_offset, last_offset;
  };
  std::vector<Seen> seen;
  constexpr int64_t kSeqSpace = int64_t{std::numeric_limits<int32_t>::max()} + 1;
  SENTRY_RETURN_IF_ERROR(log->WalkHeaders(from, [&seen](const RecordBatchView& b) {
    if (b.producer_id() < 0) return;
    const int64_t last_seq = (int64_t{b.base_sequence()} + b.last_offset_delta()) % kSeqSpace;
    seen.push_back({b.producer_id(), b.producer_epoch(), b.base_sequence(),
                    static_cast<int32_t>(last_seq), b.base_offset(), b.last_offset()});
  }));
  for (const Seen& s : seen) {
    ps.Replay(s.producer_id, s.epoch, s.first_seq, s.last_seq, s.first_offset, s.last_offset);
  }
  out->batches_replayed = static_cast<int64_t>(seen.size());
  out->producers = ps.size();
  if (out->from_snapshot && from == end) {
    // Exactly what is on disk: no need to write it again before it changes.
    ps.snapshot_mark() = {ps.version(), end, SteadyMillis()};
  }
  return Status::OK();
}

}  // namespace sentry::recovery
