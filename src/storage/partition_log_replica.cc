// PartitionLog's follower side (docs/cluster.md, docs/recovery.md): appends
// that keep the leader's offsets (AppendReplica), truncation of a divergent
// tail (TruncateTo) and starting over at the leader's log start
// (StartOverAt). The rest of the class is in partition_log.cc.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "common/file_util.h"
#include "storage/batch_walker.h"
#include "storage/partition_log.h"

namespace sentry {

Result<AppendInfo> PartitionLog::AppendReplica(std::span<const uint8_t> batches,
                                               const BatchSetSummary& summary) {
  if (offline()) return Status::IoError(dir_ + " is offline: " + offline_reason());
  // Each batch must fit a segment; a whole fetch of a compacted leader's
  // batches may span more offsets than one index holds, and is then
  // appended batch by batch (AppendReplicaRuns).
  for (size_t pos = 0; pos < batches.size();) {
    const RecordBatchView v(batches.data() + pos);
    SENTRY_RETURN_IF_ERROR(CheckFits(v.TotalSize(), int64_t{v.last_offset_delta()} + 1));
    pos += v.TotalSize();
  }
  const bool fits_whole = CheckFits(batches.size(), summary.record_count).ok();
  // The leader's offsets are kept, so they must not go back: an overlap
  // means the follower's idea of its log end is wrong. A gap is the leader's
  // cleaner's, taken whatever the topic's policy is now: a topic changed from
  // compact back to delete keeps the gaps it has (Kafka's followers, too,
  // take any batch past their end).
  const int64_t end = log_end_offset();
  int64_t expect = end;
  int32_t index = 0;
  bool gaps = false;
  for (size_t pos = 0; pos < batches.size(); index++) {
    const RecordBatchView v(batches.data() + pos);
    if (v.base_offset() < expect) {
      if (pos == 0) {
        return Status::OutOfRange(fmt::format(
            "{}: replica batches start at offset {}, but the log ends at {}", dir_,
            v.base_offset(), end));
      }
      return Status::InvalidArgument(fmt::format(
          "{}: replica batch {} at byte {} starts at offset {}, not where the one before it "
          "ended ({})",
          dir_, index, pos, v.base_offset(), expect));
    }
    gaps = gaps || v.base_offset() != expect;
    expect = v.last_offset() + 1;
    pos += v.TotalSize();
  }
  // Epochs first, as in Append (see there).
  int32_t latest = leader_epochs_.latest_epoch();
  for (size_t pos = 0; pos < batches.size();) {
    const RecordBatchView v(batches.data() + pos);
    if (v.partition_leader_epoch() > latest) {
      latest = v.partition_leader_epoch();
      SENTRY_RETURN_IF_ERROR(leader_epochs_.Assign(latest, v.base_offset()));
    }
    pos += v.TotalSize();
  }
  if (gaps) {
    // A restart must walk this log as one with gaps (LoadPartition).
    if (!has_cleaner_checkpoint()) SENTRY_RETURN_IF_ERROR(SetCleanedOffset(cleaned_offset()));
  }
  if (gaps || !fits_whole) return AppendReplicaRuns(batches, /*one_per_run=*/!fits_whole);
  return AppendVerbatim(batches, summary);
}

Result<AppendInfo> PartitionLog::AppendVerbatim(std::span<const uint8_t> batches,
                                                const BatchSetSummary& summary) {
  // No LogAppendTime, no epoch: the bytes stay the leader's. (The segment
  // writes each base_offset, the very value AppendReplica checked.)
  if (!summary.has_producer_ids) {
    return AppendToActive(batches, summary, /*stamp_time=*/false, /*leader_epoch=*/-1);
  }
  // A follower keeps its idempotent producers' state as the leader does, so
  // it detects duplicates once it leads; recorded under the same lock as the
  // leader's writer uses, so a snapshot never sees a batch the state misses.
  MutexLock l(&producers_.mu());
  auto r = AppendToActive(batches, summary, /*stamp_time=*/false, /*leader_epoch=*/-1);
  if (r.ok()) producers_.Record(batches, r->base_offset);
  return r;
}

Result<AppendInfo> PartitionLog::AppendReplicaRuns(std::span<const uint8_t> batches,
                                                    bool one_per_run) {
  AppendInfo all;
  size_t start = 0;
  while (start < batches.size()) {
    // One run: batches that continue each other.
    size_t stop = start;
    int64_t next = -1;
    while (stop < batches.size()) {
      const RecordBatchView v(batches.data() + stop);
      if (next >= 0 && (one_per_run || v.base_offset() != next)) break;
      next = v.last_offset() + 1;
      stop += v.TotalSize();
    }
    const auto run = batches.subspan(start, stop - start);
    BatchSetSummary summary;
    SENTRY_RETURN_IF_ERROR(ValidateBatches(run, &summary, /*compacted=*/true));
    SENTRY_RETURN_IF_ERROR(SkipTo(RecordBatchView(run.data()).base_offset()));
    auto r = AppendVerbatim(run, summary);
    if (!r.ok()) return r.status();
    if (start == 0) all = *r;
    all.last_offset = r->last_offset;
    start = stop;
  }
  return all;
}

Status PartitionLog::SkipTo(int64_t offset) {
  while (active_->next_offset() < offset) {
    // The most offsets this segment's index holds (its own capacity, which
    // a later index.max.entries does not change).
    const int64_t limit = active_->base_offset() + int64_t{active_->index_capacity()};
    if (active_->next_offset() < limit && !active_->sealed()) {
      SENTRY_RETURN_IF_ERROR(active_->ExtendTo(std::min(offset, limit)));
    } else {
      SENTRY_RETURN_IF_ERROR(Roll());
    }
  }
  high_watermark_.store(active_->next_offset(), std::memory_order_release);
  return Status::OK();
}

Status PartitionLog::TruncateTo(int64_t offset) {
  if (offline()) return Status::IoError(dir_ + " is offline: " + offline_reason());
  if (offset >= log_end_offset()) return Status::OK();
  if (offset < log_start_offset()) {
    return Status::OutOfRange(fmt::format("{}: cannot truncate to offset {}, below the log "
                                          "start offset {}",
                                          dir_, offset, log_start_offset()));
  }
  int64_t target = offset;
  Status s;
  {
    // The flusher stays out while segments, sizes and its own resume point
    // change under it.
    MutexLock flush_lock(&flush_mu_);
    auto list = segments();
    auto it = std::upper_bound(list->begin(), list->end(), offset,
                               [](int64_t o, const auto& seg) { return o < seg->base_offset(); });
    if (it == list->begin()) return Status::OutOfRange("offset below the first segment");
    std::shared_ptr<Segment> seg = *(it - 1);
    SENTRY_ASSIGN_OR_RETURN(uint32_t pos, seg->PositionOf(offset));
    if (pos < seg->published_size()) {
      RecordBatchView v;
      SENTRY_RETURN_IF_ERROR(RecordBatchView::Parse(seg->log_data() + pos,
                                                    seg->published_size() - pos, &v,
                                                    /*verify_crc=*/false));
      // The slot names the batch holding `offset` (in a compacted segment
      // the next surviving batch when the cleaner removed it: the end then
      // stays at `offset`, and the slots below it point at the new end).
      const bool gaps = cfg_.compacted || has_cleaner_checkpoint();
      if (v.last_offset() < offset || (!gaps && v.base_offset() > offset)) {
        return Status::Corruption(fmt::format("{}: index slot of offset {} names the batch [{}, "
                                              "{}] at position {}",
                                              seg->log_path(), offset, v.base_offset(),
                                              v.last_offset(), pos));
      }
      target = std::min(offset, v.base_offset());
    }
    if (target < log_start_offset()) {
      return Status::OutOfRange(fmt::format("{}: offset {} is inside the batch starting at {}, "
                                            "below the log start offset {}",
                                            dir_, offset, target, log_start_offset()));
    }
    s = TruncateSegments(std::move(seg), pos, target);
  }
  if (s.ok()) s = TruncateState(target);
  if (!s.ok()) {
    // Half truncated: serve nothing until a restart's recovery (which ends
    // the log at the zeros) sorts it out.
    SetOffline(fmt::format("truncation to offset {} failed: {}", target, s.ToString()));
  }
  return s;
}

Status PartitionLog::StartOverAt(int64_t offset) {
  if (offline()) return Status::IoError(dir_ + " is offline: " + offline_reason());
  if (offset < 0) {
    return Status::InvalidArgument(
        fmt::format("{}: cannot start over at offset {}, below 0", dir_, offset));
  }
  if (log_start_offset() == offset && log_end_offset() == offset) return Status::OK();
  // 0. The producers of the batches about to go. (A snapshot the
  // maintenance thread takes meanwhile holds none, at the old end: the next
  // start ignores it for a log that does not reach that far.)
  {
    MutexLock snapshot_lock(&snapshot_mu_);
    const std::string path = dir_ + "/" + ProducerState::kSnapshotFile;
    if (ReadFile(path).ok()) SENTRY_RETURN_IF_ERROR(RemoveFileDurably(path));
    MutexLock l(&producers_.mu());
    producers_.Reset({});
    producers_.snapshot_mark() = {};
  }
  // 1. The old files, newest first: a crash leaves a prefix of the log. The
  // published list keeps its mappings (nobody reads a follower's log).
  const auto old = segments();
  for (auto g = old->rbegin(); g != old->rend(); ++g) {
    SENTRY_RETURN_IF_ERROR(Segment::RemoveFiles(dir_, (*g)->base_offset()));
  }
  // 2. Durable: with no segment left, the next start opens the log empty
  // here (recovery::LoadPartition).
  SENTRY_RETURN_IF_ERROR(
      WriteFileAtomically(dir_ + "/" + kLogStartFile, fmt::format("{}\n", offset)));
  // 3. The new segment, alone. Files a failed attempt left at this base go
  // first (no published segment owns them: step 1 unlinked every one).
  SENTRY_RETURN_IF_ERROR(Segment::RemoveFiles(dir_, offset));
  SENTRY_ASSIGN_OR_RETURN(auto fresh, Segment::Create(dir_, offset, append_cfg_));
  {
    MutexLock flush_lock(&flush_mu_);
    // The high watermark before the durable offset, as everywhere (durable
    // <= high watermark at every step; nothing below `offset` exists, so all
    // of it is durable).
    high_watermark_.store(offset, std::memory_order_release);
    durable_offset_.store(offset, std::memory_order_release);
    log_start_offset_.store(offset, std::memory_order_release);
    {
      MutexLock l(&segments_mu_);
      segments_ = std::make_shared<const SegmentList>(SegmentList{fresh});
    }
    active_ = std::move(fresh);
    synced_segment_base_ = offset;
    synced_bytes_ = 0;
  }
  // 4. The state that described the old batches: a producer snapshot the
  // maintenance thread wrote since step 0 (of no producers, at the old end)
  // would look usable once the new log grows past its offset; the epochs;
  // the cleaner's offset.
  Status s;
  {
    MutexLock snapshot_lock(&snapshot_mu_);
    const std::string path = dir_ + "/" + ProducerState::kSnapshotFile;
    if (ReadFile(path).ok()) s = RemoveFileDurably(path);
    MutexLock l(&producers_.mu());
    producers_.snapshot_mark() = {};
  }
  if (s.ok()) s = leader_epochs_.TruncateFromEnd(0);
  if (s.ok() && has_cleaner_checkpoint()) s = SetCleanedOffset(offset);
  if (!s.ok()) SetOffline(fmt::format("starting over at offset {} failed: {}", offset, s.ToString()));
  return s;
}

Status PartitionLog::TruncateSegments(std::shared_ptr<Segment> seg, uint32_t pos,
                                      int64_t target) {
  // Unpublished first, the durable offset before the high watermark, so
  // durable_offset <= high_watermark holds at every step.
  durable_offset_.store(std::min(durable_offset(), target), std::memory_order_release);
  high_watermark_.store(target, std::memory_order_release);
  SENTRY_RETURN_IF_ERROR(seg->TruncateTo(
      LogPosition(pos), RelativeOffset(static_cast<uint32_t>(target - seg->base_offset()))));
  // The flusher resumes at the new end (the zeros after it are synced).
  if (synced_segment_base_ > seg->base_offset()) {
    synced_segment_base_ = seg->base_offset();
    synced_bytes_ = pos;
  } else if (synced_segment_base_ == seg->base_offset()) {
    synced_bytes_ = std::min(synced_bytes_, pos);
  }
  // The segments after it leave the list (read under the mutex: retention
  // may have removed some from the front meanwhile) ...
  SegmentList gone;
  {
    MutexLock l(&segments_mu_);
    const SegmentList& cur = *segments_;
    auto at = std::find(cur.begin(), cur.end(), seg);
    SENTRY_CHECK(at != cur.end(), "the segment being truncated left the list");
    gone.assign(at + 1, cur.end());
    segments_ = std::make_shared<const SegmentList>(cur.begin(), at + 1);
  }
  active_ = std::move(seg);
  // ... and their files go, newest first, so a crash in between leaves the
  // log a prefix of itself. Readers holding one keep its mapping.
  for (auto g = gone.rbegin(); g != gone.rend(); ++g) {
    SENTRY_RETURN_IF_ERROR(Segment::RemoveFiles(dir_, (*g)->base_offset()));
  }
  return Status::OK();
}

Status PartitionLog::TruncateState(int64_t target) {
  // After the segments: a crash in between leaves epochs starting past the
  // log end, which the next start drops. The other order could leave
  // batches of an epoch the cache no longer knows.
  SENTRY_RETURN_IF_ERROR(leader_epochs_.TruncateFromEnd(target));
  // Offsets from the new end on are appended again, and they are dirty.
  if (has_cleaner_checkpoint() && cleaned_offset() > target) {
    SENTRY_RETURN_IF_ERROR(SetCleanedOffset(target));
  }
  // Idempotent producers must not remember dropped batches: a retry of one
  // would be answered as a duplicate of something no longer stored.
  MutexLock snapshot_lock(&snapshot_mu_);
  // A snapshot from past the new end would be trusted by the next start once
  // the log grows past its offset again, skipping the batches appended from
  // here: it goes (a damaged one too; the start would ignore it anyway).
  const std::string path = dir_ + "/" + ProducerState::kSnapshotFile;
  if (auto bytes = ReadFile(path); bytes.ok()) {
    int64_t at = -1;
    std::map<int64_t, ProducerState::Entry> ignored;
    if (!ProducerState::Parse(*bytes, &at, &ignored).ok() || at > target) {
      SENTRY_RETURN_IF_ERROR(RemoveFileDurably(path));
    }
  }
  bool remembers_dropped;
  {
    MutexLock l(&producers_.mu());
    producers_.snapshot_mark() = {};  // the next SnapshotProducers writes one
    remembers_dropped = producers_.HasBatchAtOrAfter(target);
  }
  // Nothing dropped had a producer id: the state is already what the kept
  // log gives. Otherwise rebuilt as at start-up: the evicted history of a
  // producer (older batches, an older epoch) is only in the log.
  if (!remembers_dropped) return Status::OK();
  ProducerReload reload;
  return ReloadProducers(&reload);
}


}  // namespace sentry
