#include "storage/partition_log.h"

#include "storage/batch_walker.h"
#include "common/clock.h"
#include "common/file_util.h"

#include <dirent.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <map>

namespace sentry {


Result<std::unique_ptr<PartitionLog>> PartitionLog::Create(const std::string& dir,
                                                           const LogConfig& cfg,
                                                           bool sync_dirs, int64_t base_offset) {
  if (cfg.segment_bytes < 1024 || cfg.segment_bytes > 0x7FFFFFFFu) {
    return Status::InvalidArgument(fmt::format("segment.bytes {} is outside [1024, 2^31-1]",
                                               cfg.segment_bytes));
  }
  if (cfg.index_max_entries < 1) return Status::InvalidArgument("index.max.entries must be >= 1");
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::FromErrno(errno, "mkdir " + dir);
  }
  SENTRY_ASSIGN_OR_RETURN(auto bases, Segment::ListBases(dir));
  if (!bases.empty()) {
    return Status::AlreadyExists(dir + " already holds a partition: open it with recovery");
  }
  if (base_offset < 0) return Status::InvalidArgument("a log cannot start below offset 0");
  SENTRY_ASSIGN_OR_RETURN(auto seg, Segment::Create(dir, base_offset, cfg, sync_dirs));
  std::unique_ptr<PartitionLog> log(new PartitionLog(dir, cfg));
  SegmentList list;
  list.push_back(std::move(seg));
  log->Init(std::move(list), base_offset);
  return log;
}

PartitionLog::~PartitionLog() = default;

void PartitionLog::Init(SegmentList list, int64_t durable_offset) {
  MutexLock flush_lock(&flush_mu_);  // uncontended: the log is not shared yet
  active_ = list.back();
  log_start_offset_.store(list.front()->base_offset(), std::memory_order_release);
  high_watermark_.store(active_->next_offset(), std::memory_order_release);
  durable_offset = std::min(durable_offset, active_->next_offset());
  durable_offset_.store(durable_offset, std::memory_order_release);
  // Resume syncing at the segment holding the durable offset.
  synced_segment_base_ = list.front()->base_offset();
  for (const auto& seg : list) {
    if (seg->base_offset() <= durable_offset) synced_segment_base_ = seg->base_offset();
  }
  synced_bytes_ = 0;
  if (durable_offset >= active_->next_offset()) {
    synced_segment_base_ = active_->base_offset();
    synced_bytes_ = active_->size();
  }
  PublishSegments(std::move(list));
}

Result<std::unique_ptr<PartitionLog>> PartitionLog::Adopt(
    const std::string& dir, const LogConfig& cfg, std::vector<std::shared_ptr<Segment>> segs,
    int64_t durable_offset) {
  if (segs.empty()) return Status::InvalidArgument("Adopt needs at least one segment");
  for (size_t i = 1; i < segs.size(); i++) {
    if (segs[i - 1]->next_offset() != segs[i]->base_offset()) {
      return Status::Corruption(fmt::format("{}: segment {} does not continue the log at {}",
                                            dir, segs[i]->base_offset(),
                                            segs[i - 1]->next_offset()));
    }
  }
  std::unique_ptr<PartitionLog> log(new PartitionLog(dir, cfg));
  log->Init(std::move(segs), durable_offset);
  return log;
}

std::string PartitionLog::offline_reason() const {
  MutexLock l(&offline_mu_);
  return offline_reason_;
}

void PartitionLog::SetOffline(const std::string& reason) {
  MutexLock l(&offline_mu_);
  if (offline_.load()) return;
  offline_reason_ = reason;
  offline_.store(true, std::memory_order_release);
  spdlog::error("Partition {} is OFFLINE: {}. It answers KAFKA_STORAGE_ERROR until an "
                "operator repairs it (see docs/operations.md, recovery).",
                dir_, reason);
}

bool PartitionLog::ScrubStep(size_t max_bytes) {
  if (offline()) return false;
  auto list = segments();
  for (const auto& seg : *list) {
    uint32_t size = seg->published_size();
    uint32_t done = seg->verified_bytes();
    if (done >= size) continue;
    uint32_t target = static_cast<uint32_t>(std::min<size_t>(size, done + max_bytes));
    Status s = seg->VerifyUpTo(target);
    if (!s.ok()) {
      SetOffline(s.message());
      return false;
    }
    return true;
  }
  return false;
}

void PartitionLog::PublishSegments(SegmentList list) {
  auto fresh = std::make_shared<const SegmentList>(std::move(list));
  MutexLock l(&segments_mu_);
  segments_ = std::move(fresh);
}

Status PartitionLog::Roll() {
  if (!active_->sealed()) SENTRY_RETURN_IF_ERROR(active_->Seal());
  SENTRY_ASSIGN_OR_RETURN(auto seg, Segment::Create(dir_, active_->next_offset(), append_cfg_));
  {
    // Read, extend and publish in one step: retention may remove from the
    // front of the list meanwhile.
    MutexLock l(&segments_mu_);
    SegmentList list = *segments_;
    list.push_back(seg);
    segments_ = std::make_shared<const SegmentList>(std::move(list));
  }
  active_ = std::move(seg);
  return Status::OK();
}

namespace {
constexpr const char* kCleanerFile = "cleaner-offset";

Result<int64_t> ReadOffsetFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return int64_t{0};  // none written
  int64_t v = -1;
  if (std::sscanf(text->c_str(), "%" SCNd64, &v) != 1 || v < 0) {
    return Status::Corruption(path + ": not an offset");
  }
  return v;
}
}  // namespace

Status PartitionLog::ReplaceSegments(int64_t base, int64_t end, std::shared_ptr<Segment> cleaned) {
  MutexLock l(&segments_mu_);
  const SegmentList& cur = *segments_;
  size_t i = 0;
  while (i < cur.size() && cur[i]->base_offset() < base) i++;
  size_t k = i;
  while (k < cur.size() && cur[k]->base_offset() < end) k++;
  if (i == cur.size() || cur[i]->base_offset() != base || k == cur.size() ||
      cur[k]->base_offset() != end || k == i) {
    return Status::InvalidArgument(fmt::format("{}: segments no longer cover [{}, {}) exactly",
                                               dir_, base, end));
  }
  SegmentList list(cur.begin(), cur.begin() + static_cast<std::ptrdiff_t>(i));
  list.push_back(std::move(cleaned));
  list.insert(list.end(), cur.begin() + static_cast<std::ptrdiff_t>(k), cur.end());
  segments_ = std::make_shared<const SegmentList>(std::move(list));
  return Status::OK();
}

Status PartitionLog::SetCleanedOffset(int64_t offset) {
  SENTRY_RETURN_IF_ERROR(
      WriteFileAtomically(dir_ + "/" + kCleanerFile, fmt::format("{}\n", offset)));
  cleaned_offset_.store(offset, std::memory_order_release);
  has_cleaner_checkpoint_.store(true);
  return Status::OK();
}

bool PartitionLog::CleanerCheckpointExists(const std::string& dir) {
  struct stat st;
  return ::stat((dir + "/" + kCleanerFile).c_str(), &st) == 0;
}

Result<int64_t> PartitionLog::ReadCleanerCheckpoint(const std::string& dir) {
  return ReadOffsetFile(dir + "/" + kCleanerFile);
}

int64_t PartitionLog::size_bytes() const {
  int64_t total = 0;
  for (const auto& seg : *segments()) total += seg->published_size();
  return total;
}

int64_t PartitionLog::RetentionTarget(int64_t now_ms, int64_t retention_ms,
                                      int64_t retention_bytes) const {
  auto list = segments();
  int64_t target = log_start_offset();
  int64_t size = 0;
  for (const auto& seg : *list) size += seg->published_size();
  // Never the last segment of the snapshot: it is the active one (or was
  // until a roll a moment ago, which only appends behind it).
  for (size_t i = 0; i + 1 < list->size(); i++) {
    const Segment& seg = *(*list)[i];
    const int64_t next_base = (*list)[i + 1]->base_offset();
    if (next_base <= target) {  // already below the log start (files going)
      size -= seg.published_size();
      continue;
    }
    const int64_t newest = seg.largest_timestamp();
    const bool expired = retention_ms >= 0 && newest >= 0 && newest < now_ms - retention_ms;
    const bool over = retention_bytes >= 0 && size - seg.published_size() >= retention_bytes;
    if (!expired && !over) break;
    size -= seg.published_size();
    target = next_base;
  }
  return target;
}

Result<int64_t> PartitionLog::ReadLogStartCheckpoint(const std::string& dir) {
  return ReadOffsetFile(dir + "/" + kLogStartFile);  // none: the first segment's base
}

void PartitionLog::RestoreLogStartOffset(int64_t offset) {
  auto list = segments();
  offset = std::clamp(offset, list->front()->base_offset(), high_watermark());
  log_start_offset_.store(offset, std::memory_order_release);
}

Result<int> PartitionLog::AdvanceLogStart(int64_t offset) {
  offset = std::min(offset, high_watermark());
  if (offset <= log_start_offset()) return 0;
  // 1. Durable first: after a crash the next start deletes what is below it.
  SENTRY_RETURN_IF_ERROR(
      WriteFileAtomically(dir_ + "/" + kLogStartFile, fmt::format("{}\n", offset)));
  // 2. Visible: reads below it get OutOfRange from now on.
  log_start_offset_.store(offset, std::memory_order_release);
  // 3. The segments wholly below it leave the list (never the last one).
  SegmentList gone;
  {
    MutexLock l(&segments_mu_);
    const SegmentList& cur = *segments_;
    size_t n = 0;
    while (n + 1 < cur.size() && cur[n + 1]->base_offset() <= offset) n++;
    if (n > 0) {
      gone.assign(cur.begin(), cur.begin() + static_cast<std::ptrdiff_t>(n));
      segments_ = std::make_shared<const SegmentList>(
          cur.begin() + static_cast<std::ptrdiff_t>(n), cur.end());
    }
  }
  // 4. Their files go; a reader holding one keeps its mapping.
  for (const auto& seg : gone) {
    SENTRY_RETURN_IF_ERROR(Segment::RemoveFiles(dir_, seg->base_offset()));
  }
  // 5. The epochs that ended below it (a crash before this only leaves
  // entries below the log start, which the next start cuts again).
  SENTRY_RETURN_IF_ERROR(leader_epochs_.TruncateFromStart(offset));
  return static_cast<int>(gone.size());
}

Status PartitionLog::CheckFits(size_t n, int64_t records) const {
  if (n > append_cfg_.segment_bytes || records > int64_t{append_cfg_.index_max_entries}) {
    return Status::TooLarge(fmt::format("{} bytes / {} records can never fit a segment of {} "
                                        "bytes / {} offsets",
                                        n, records, append_cfg_.segment_bytes,
                                        append_cfg_.index_max_entries));
  }
  return Status::OK();
}

Result<AppendInfo> PartitionLog::Append(std::span<const uint8_t> batches,
                                        const BatchSetSummary& summary, int32_t leader_epoch) {
  if (offline()) return Status::IoError(dir_ + " is offline: " + offline_reason());
  SENTRY_RETURN_IF_ERROR(CheckFits(batches.size(), summary.record_count));
  if (leader_epoch >= 0) {
    const int32_t latest = leader_epochs_.latest_epoch();
    if (leader_epoch < latest) {
      // A leader whose epoch is over (a newer one already wrote here).
      return Status::InvalidArgument(fmt::format(
          "{}: append under leader epoch {}, older than the latest, {}", dir_, leader_epoch,
          latest));
    }
    // The epoch's start is written before its first batch: a crash in
    // between leaves an entry at the log end, which the next start drops;
    // the other order could leave batches of an epoch the cache never knew.
    if (leader_epoch > latest) {
      SENTRY_RETURN_IF_ERROR(leader_epochs_.Assign(leader_epoch, log_end_offset()));
    }
  }
  return AppendToActive(batches, summary, append_cfg_.log_append_time, leader_epoch);
}

Result<AppendInfo> PartitionLog::AppendToActive(std::span<const uint8_t> batches,
                                                const BatchSetSummary& summary, bool stamp_time,
                                                int32_t leader_epoch) {
  const size_t n = batches.size();
  const bool roll = !active_->HasRoom(n, summary.record_count) || DueToRoll(n, summary);
  if (roll) SENTRY_RETURN_IF_ERROR(Roll());
  AppendInfo info;
  info.base_offset = active_->next_offset();
  info.position = active_->size();
  if (stamp_time) info.log_append_time = WallMillis();
  SENTRY_RETURN_IF_ERROR(
      active_->Append(batches.data(), n, summary, info.log_append_time, leader_epoch));
  // A page that could not be read while appending (SIGBUS, replaced by
  // zeros) took bytes that will never reach the file: neither answered nor
  // served (the high watermark stays).
  if (Status f = active_->CheckFaults(); !f.ok()) {
    SetOffline(f.message());
    return f;
  }
  info.last_offset = active_->next_offset() - 1;
  SENTRY_CHECK(info.last_offset - info.base_offset + 1 == summary.record_count,
               "offsets assigned != records appended");
  high_watermark_.store(active_->next_offset(), std::memory_order_release);
  return info;
}

bool PartitionLog::DueToRoll(size_t bytes, const BatchSetSummary& summary) const {
  if (active_->size() == 0) return false;
  // Older than segment.ms, or past a segment.bytes / index.max.entries made
  // smaller (a topic alter) than the active segment was created with.
  return CoarseSteadyMillis() - active_->created_ms() >= append_cfg_.segment_ms ||
         size_t{active_->size()} + bytes > append_cfg_.segment_bytes ||
         active_->next_offset() - active_->base_offset() + summary.record_count >
             int64_t{append_cfg_.index_max_entries};
}

bool PartitionLog::CanAppendWithoutIo(size_t bytes, const BatchSetSummary& summary,
                                      int32_t leader_epoch) const {
  if (offline() || DueToRoll(bytes, summary)) return false;
  if (leader_epoch > leader_epochs_.latest_epoch()) return false;  // writes the epoch file
  return active_->CanAppendWithoutIo(bytes, summary);
}

Result<int64_t> PartitionLog::Flush() { return FlushSegments(/*include_active=*/true); }

Result<int64_t> PartitionLog::FlushSealed() { return FlushSegments(/*include_active=*/false); }

Result<int64_t> PartitionLog::FlushSegments(bool include_active) {
  MutexLock lock(&flush_mu_);
  // Load the watermark first: every segment size read after it covers it.
  const int64_t hwm = high_watermark();
  auto list = segments();
  int64_t durable = durable_offset();
  for (const auto& seg : *list) {
    const bool last = seg == list->back();
    if (last && !include_active) {
      durable = std::max(durable, seg->base_offset());
      break;
    }
    if (seg->base_offset() < synced_segment_base_) continue;
    uint32_t from = seg->base_offset() == synced_segment_base_ ? synced_bytes_ : 0;
    uint32_t to = seg->published_size();
    if (to > from) {
      Status s = seg->SyncLog(from, to);
      if (!s.ok()) {
        if (Status f = seg->CheckFaults(); !f.ok()) SetOffline(f.message());
        return s;
      }
    }
    // A sealed segment's indexes are synced once, so they can be trusted
    // after a power loss (the .log alone is what acks=-1 needs).
    if (!last) {
      Status s = seg->SyncSealedIndexesOnce();
      if (!s.ok()) return s;
    }
    synced_segment_base_ = seg->base_offset();
    synced_bytes_ = to;
    if (last) durable = std::max(durable, hwm);
  }
  SENTRY_CHECK(durable >= durable_offset(), "durable offset moved backwards");
  SENTRY_CHECK(durable <= high_watermark(), "durable offset above the high watermark");
  durable_offset_.store(durable, std::memory_order_release);
  return durable;
}

Status PartitionLog::Close() {
  SENTRY_RETURN_IF_ERROR(Flush().status());
  SENTRY_RETURN_IF_ERROR(active_->Seal());
  SENTRY_RETURN_IF_ERROR(active_->SyncIndexes());
  // A clean restart then replays nothing to know its idempotent producers.
  return SnapshotProducers(/*force=*/true);
}

Status PartitionLog::SnapshotProducers(bool force) {
  constexpr int64_t kMaxAgeMs = 60000;
  // Across the write: a TruncateTo meanwhile could otherwise see the old
  // file, and this one (taken before it, past its new end) land after.
  MutexLock snapshot_lock(&snapshot_mu_);
  std::string bytes;
  {
    MutexLock l(&producers_.mu());
    auto& mark = producers_.snapshot_mark();
    const int64_t offset = high_watermark();
    const int64_t now = SteadyMillis();
    const bool changed = producers_.version() != mark.version;
    const bool stale = offset != mark.offset && now - mark.at_ms >= kMaxAgeMs;
    if (!force && !changed && !stale) return Status::OK();
    // An empty log has nothing to replay: no file (10,000 empty partitions
    // stop without 10,000 fsyncs).
    if (producers_.size() == 0 && offset == log_start_offset()) return Status::OK();
    if (force && !changed && offset == mark.offset) return Status::OK();
    bytes = producers_.Serialize(offset);
    mark = {producers_.version(), offset, now};
  }
  Status s = WriteFileAtomically(dir_ + "/" + ProducerState::kSnapshotFile, bytes);
  if (!s.ok()) {
    MutexLock l(&producers_.mu());
    producers_.snapshot_mark() = {};  // try again next time
  }
  return s;
}

Status PartitionLog::ReloadProducers(ProducerReload* out) {
  *out = ProducerReload{};
  ProducerState& ps = producers_;
  MutexLock l(&ps.mu());
  int64_t from = log_start_offset();
  const int64_t end = high_watermark();
  std::map<int64_t, ProducerState::Entry> start_state;
  const std::string path = dir_ + "/" + ProducerState::kSnapshotFile;
  auto bytes = ReadFile(path);
  if (bytes.ok()) {
    int64_t offset = 0;
    std::map<int64_t, ProducerState::Entry> producers;
    Status s = ProducerState::Parse(*bytes, &offset, &producers);
    if (s.ok() && offset >= from && offset <= end) {
      start_state = std::move(producers);
      from = offset;
      out->from_snapshot = true;
    } else {
      // Damaged, or ahead of a log that lost its tail (a crash, a
      // truncation): replay all. And remove it: once the log grows past its
      // offset again it would look usable, and skip the batches below it.
      spdlog::warn("{}: producer snapshot not used ({}); removed, replaying the whole log", dir_,
                   s.ok() ? "its offset is outside the log" : s.message());
      SENTRY_RETURN_IF_ERROR(RemoveFileDurably(path));
    }
  }
  ps.Reset(std::move(start_state));
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
  SENTRY_RETURN_IF_ERROR(WalkHeaders(from, [&seen](const RecordBatchView& b) {
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

Status PartitionLog::WalkHeaders(int64_t from,
                                 const std::function<void(const RecordBatchView&)>& fn) const {
  const int64_t end = high_watermark();
  if (from < log_start_offset() || from >= end) return Status::OK();
  auto list = segments();
  auto it = std::upper_bound(list->begin(), list->end(), from,
                             [](int64_t o, const auto& s) { return o < s->base_offset(); });
  if (it == list->begin()) return Status::OutOfRange("offset below the first segment");
  WalkOptions wo;
  wo.verify_crc = false;
  wo.zeros_end_log = false;
  for (--it; it != list->end(); ++it) {
    const Segment& seg = **it;
    if (seg.base_offset() >= end) break;
    uint32_t pos = 0;
    if (from > seg.base_offset()) {
      SENTRY_ASSIGN_OR_RETURN(pos, seg.PositionOf(from));
    }
    const std::span<const uint8_t> bytes(seg.log_data(), seg.published_size());
    BatchWalker walker(bytes, pos, wo);
    WalkedBatch wb;
    while (walker.Next(&wb)) {
      if (wb.view.base_offset() >= end) return Status::OK();
      fn(wb.view);
    }
    if (!walker.clean_end()) {
      return Status::Corruption(seg.log_path() + ": " + walker.reason());
    }
  }
  return Status::OK();
}

Result<ReadResult> PartitionLog::Read(int64_t offset, size_t max_bytes) const {
  if (offline()) return Status::Corruption(dir_ + " is offline: " + offline_reason());
  ReadResult r;
  r.high_watermark = high_watermark();
  r.log_start_offset = log_start_offset();
  if (offset < r.log_start_offset || offset > r.high_watermark) {
    return Status::OutOfRange(fmt::format("offset {} outside [{}, {}]", offset,
                                          r.log_start_offset, r.high_watermark));
  }
  if (offset == r.high_watermark) return r;
  auto list = segments();
  // Last segment whose base_offset <= offset.
  auto it = std::upper_bound(list->begin(), list->end(), offset,
                             [](int64_t o, const auto& s) { return o < s->base_offset(); });
  if (it == list->begin()) return Status::OutOfRange("offset below the first segment");
  std::shared_ptr<Segment> seg;
  uint32_t pos = 0;
  uint32_t limit = 0;
  for (;;) {
    seg = *(it - 1);
    SENTRY_ASSIGN_OR_RETURN(pos, seg->PositionOf(offset));
    limit = seg->published_size();
    if (pos < limit || it == list->end()) break;
    // Compacted: the cleaner removed every batch from `offset` to the end of
    // this segment; the next surviving one is in a later segment.
    offset = (*it)->base_offset();
    ++it;
    if (offset >= r.high_watermark) return r;
  }
  const uint8_t* base = seg->log_data();
  // A reader behind the drop-behind window reads what was dropped from the
  // page cache: start the disk reads of this fetch and the next one now, in
  // large requests, before the walk below faults on the first page.
  const size_t window = cfg_.file.drop_behind;
  if (window > 0 && (seg != list->back() || size_t{pos} + window < limit)) {
    seg->WillNeed(pos, size_t{pos} + std::min<size_t>(2 * max_bytes, 32 << 20));
  }
  uint32_t end = pos;
  while (end < limit) {
    RecordBatchView view(base + end);
    if (view.base_offset() >= r.high_watermark) break;
    size_t total = view.TotalSize();
    if (end != pos && end - pos + total > max_bytes) break;
    end += static_cast<uint32_t>(total);
  }
  if (end == pos) {
    return Status::Corruption(fmt::format("{}: no batch at position {} for offset {}",
                                          seg->log_path(), end, offset));
  }
  if (seg->verified_bytes() < end) {
    // Bytes that came from disk are checked before they are first served.
    Status s = seg->VerifyUpTo(end);
    if (!s.ok()) {
      const_cast<PartitionLog*>(this)->SetOffline(s.message());
      return s;
    }
  }
  // A page of this segment that could not be read (SIGBUS, now zeros): its
  // bytes, or the index slots that led here, are not the file's.
  if (Status f = seg->CheckFaults(); !f.ok()) {
    const_cast<PartitionLog*>(this)->SetOffline(f.message());
    return f;
  }
  r.segment = seg;
  r.data = base + pos;
  r.size = end - pos;
  return r;
}

int64_t PartitionLog::OffsetForTimestamp(int64_t ts) const {
  const int64_t hwm = high_watermark();
  auto list = segments();
  for (const auto& seg : *list) {
    if (seg->max_timestamp() < ts) continue;
    auto off = seg->OffsetForTime(ts);
    if (off && *off < hwm) return *off;
  }
  return hwm;
}

}  // namespace sentry
