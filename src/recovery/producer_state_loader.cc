#include "recovery/producer_state_loader.h"

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/file_util.h"
#include "storage/batch_walker.h"

namespace sentry::recovery {

namespace {
constexpr size_t kReplayChunkBytes = 1 << 20;
constexpr int64_t kSnapshotMaxAgeMs = 60000;

std::string SnapshotPath(const PartitionLog& log) {
  return log.dir() + "/" + kProducerSnapshotFile;
}
}  // namespace

Status RebuildProducerState(PartitionLog* log, ProducerRebuild* out) {
  *out = ProducerRebuild{};
  ProducerState& ps = log->producers();
  MutexLock l(&ps.mu());
  int64_t from = log->log_start_offset();
  const int64_t end = log->high_watermark();
  auto bytes = ReadFile(SnapshotPath(*log));
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
  WalkOptions wo;
  wo.verify_crc = false;  // recovery already checked what it kept
  wo.zeros_end_log = false;
  for (int64_t at = from; at < end;) {
    auto rr = log->Read(at, kReplayChunkBytes);
    if (!rr.ok()) return rr.status();
    BatchWalker walker(rr->bytes(), 0, wo);
    WalkedBatch wb;
    const int64_t before = at;
    while (walker.Next(&wb)) {
      const RecordBatchView& b = wb.view;
      if (b.producer_id() >= 0) {
        const int64_t last_seq = static_cast<int64_t>(b.base_sequence()) + b.last_offset_delta();
        ps.Replay(b.producer_id(), b.producer_epoch(), b.base_sequence(),
                  static_cast<int32_t>(last_seq % (int64_t{INT32_MAX} + 1)), b.base_offset(),
                  b.last_offset());
        out->batches_replayed++;
      }
      at = b.last_offset() + 1;
    }
    if (at == before) {
      return Status::Corruption(log->dir() + ": cannot read batches at offset " +
                                std::to_string(at));
    }
  }
  out->producers = ps.size();
  // What was just rebuilt is what the log holds up to `end`.
  auto& mark = ps.snapshot_mark();
  if (out->from_snapshot && out->batches_replayed == 0) {
    mark = {ps.version(), from, SteadyMillis()};
  }
  return Status::OK();
}

Status SnapshotProducerState(PartitionLog* log, bool force) {
  ProducerState& ps = log->producers();
  std::string bytes;
  int64_t offset = 0;
  {
    MutexLock l(&ps.mu());
    auto& mark = ps.snapshot_mark();
    offset = log->high_watermark();
    const int64_t now = SteadyMillis();
    const bool changed = ps.version() != mark.version;
    const bool stale = offset != mark.offset && now - mark.at_ms >= kSnapshotMaxAgeMs;
    if (!force && !changed && !stale) return Status::OK();
    bytes = ps.Serialize(offset);
    mark = {ps.version(), offset, now};
  }
  Status s = WriteFileAtomically(SnapshotPath(*log), bytes);
  if (!s.ok()) {
    MutexLock l(&ps.mu());
    ps.snapshot_mark() = {};  // try again next time
  }
  return s;
}

}  // namespace sentry::recovery
