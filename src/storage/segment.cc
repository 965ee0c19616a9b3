#include "storage/segment.h"

#include <dirent.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "common/clock.h"
#include "common/crc32c.h"
#include "common/endian.h"
#include "common/file_util.h"
#include "storage/batch_walker.h"
#include "storage/record_batch.h"

namespace sentry {


std::string Segment::FileName(const std::string& dir, int64_t base_offset, const char* ext) {
  return fmt::format("{}/{:020d}{}", dir, base_offset, ext);
}

Result<std::shared_ptr<Segment>> Segment::Create(const std::string& dir, int64_t base_offset,
                                                 const LogConfig& cfg, bool sync_dir) {
  std::string log_path = FileName(dir, base_offset, ".log");
  if (::access(log_path.c_str(), F_OK) == 0) {
    return Status::AlreadyExists(log_path + " already exists");
  }
  SENTRY_ASSIGN_OR_RETURN(auto seg, OpenExisting(dir, base_offset, cfg));
  // Back the first (small) step now: a full disk fails segment creation, not
  // a write. Nothing is populated or prefaulted until the first append.
  SENTRY_RETURN_IF_ERROR(seg->log_->Reserve(1));
  // The new files' directory entries must survive a power loss too, or data
  // msynced into them later could be unreachable.
  if (sync_dir) SENTRY_RETURN_IF_ERROR(SyncDirectory(dir));
  return seg;
}

Result<std::shared_ptr<Segment>> Segment::OpenExisting(const std::string& dir,
                                                       int64_t base_offset,
                                                       const LogConfig& cfg) {
  std::shared_ptr<Segment> seg(new Segment(base_offset, cfg));
  SENTRY_ASSIGN_OR_RETURN(seg->log_, MappedFile::Open(FileName(dir, base_offset, ".log"),
                                                      cfg.segment_bytes, true, cfg.file));
  SENTRY_ASSIGN_OR_RETURN(seg->index_,
                          OffsetIndex::Open(FileName(dir, base_offset, ".index"),
                                            cfg.index_max_entries, true, cfg.file));
  SENTRY_ASSIGN_OR_RETURN(seg->time_index_,
                          TimeIndex::Open(FileName(dir, base_offset, ".timeindex"),
                                          cfg.index_max_entries, true, cfg.file));
  seg->created_ms_ = CoarseSteadyMillis();
  return seg;
}

Segment::~Segment() = default;

bool Segment::HasRoom(size_t bytes, int64_t records) const {
  return !sealed() && size_t{size_} + bytes <= cfg_.segment_bytes &&
         int64_t{next_rel_} + records <= int64_t{cfg_.index_max_entries};
}

bool Segment::CanAppendWithoutIo(size_t bytes, const BatchSetSummary& summary) const {
  if (!HasRoom(bytes, summary.record_count) || !log_->has_prefaulter()) return false;
  const size_t slots = size_t{next_rel_} + static_cast<size_t>(summary.record_count);
  const size_t times = time_index_->entries() + static_cast<size_t>(summary.batch_count);
  return size_t{size_} + bytes <= log_->backed_size() &&
         slots * kIndexSlotBytes <= index_->file()->backed_size() &&
         times * kTimeIndexSlotBytes <= time_index_->file()->backed_size();
}

Status Segment::Append(const uint8_t* bytes, size_t n, const BatchSetSummary& summary,
                       int64_t log_append_time, int32_t leader_epoch) {
  SENTRY_CHECK(!sealed(), "append to a sealed segment");
  SENTRY_CHECK(HasRoom(n, summary.record_count), "append without room; roll first");
  // Reserve every file first: a failure here leaves the segment untouched.
  SENTRY_RETURN_IF_ERROR(log_->Reserve(size_t{size_} + n));
  SENTRY_RETURN_IF_ERROR(index_->file()->Reserve(
      (size_t{next_rel_} + static_cast<size_t>(summary.record_count)) * kIndexSlotBytes));
  SENTRY_RETURN_IF_ERROR(time_index_->file()->Reserve(
      (size_t{time_index_->entries()} + static_cast<size_t>(summary.batch_count)) *
      kTimeIndexSlotBytes));

  uint8_t* dst = log_->data() + size_;
  std::memcpy(dst, bytes, n);
  size_t pos = 0;
  uint32_t rel = next_rel_;
  while (pos < n) {
    uint8_t* b = dst + pos;
    RecordBatchView view(b);
    RecordBatchView::SetBaseOffset(b, base_offset_ + rel);
    if (log_append_time >= 0) RecordBatchView::StampLogAppendTime(b, log_append_time);
    if (leader_epoch >= 0) RecordBatchView::SetPartitionLeaderEpoch(b, leader_epoch);
    // The offsets the batch spans (a compacted leader's batch, which a
    // follower stores, holds fewer records than that).
    uint32_t count = static_cast<uint32_t>(view.last_offset_delta()) + 1;
    // Reserved above, so these cannot fail for lack of space.
    SENTRY_RETURN_IF_ERROR(index_->Append(RelativeOffset(rel), count,
                                          LogPosition(size_ + static_cast<uint32_t>(pos))));
    SENTRY_RETURN_IF_ERROR(time_index_->MaybeAppend(view.max_timestamp(), RelativeOffset(rel)));
    rel += count;
    pos += view.TotalSize();
  }
  SENTRY_CHECK(pos == n, "batch set size mismatch");
  // Appended batches were validated by the caller: extend the verified
  // prefix when it reached the old end.
  const bool extend_verified = verified_bytes() == size_;
  size_ += static_cast<uint32_t>(n);
  next_rel_ = rel;
  if (extend_verified) {
    MutexLock l(&verify_mu_);
    verified_next_offset_ = base_offset_ + rel;
    verified_bytes_.store(size_, std::memory_order_release);
  }
  published_size_.store(size_, std::memory_order_release);
  log_->PrepareAhead(size_);
  return Status::OK();
}

Status Segment::ExtendTo(int64_t next_offset) {
  if (next_offset <= this->next_offset()) return Status::OK();
  if (next_offset - base_offset_ > int64_t{cfg_.index_max_entries}) {
    return Status::Corruption(fmt::format("{}: cannot cover offsets up to {} (index holds {})",
                                          log_->path(), next_offset, cfg_.index_max_entries));
  }
  const uint32_t count = static_cast<uint32_t>(next_offset - this->next_offset());
  // An active segment's index file grows in steps: room for the slots first
  // (a follower skipping offsets its leader's cleaner removed).
  if (!sealed()) {
    SENTRY_RETURN_IF_ERROR(
        index_->file()->Reserve((size_t{next_rel_} + count) * kIndexSlotBytes));
  }
  SENTRY_RETURN_IF_ERROR(index_->Append(RelativeOffset(next_rel_), count, LogPosition(size_)));
  next_rel_ += count;
  if (sealed()) SENTRY_RETURN_IF_ERROR(index_->TrimTo(next_rel_));
  return Status::OK();
}

Status Segment::TruncateTo(LogPosition pos_at, RelativeOffset rel_at) {
  const uint32_t pos = pos_at.value;
  const uint32_t rel = rel_at.value;
  SENTRY_CHECK(pos <= size_ && rel <= next_rel_, "truncation past the end of the segment");
  const uint32_t old_size = size_;
  const uint32_t old_rel = next_rel_;
  // Unpublished first: a reader that comes now stops at `pos`.
  published_size_.store(pos, std::memory_order_release);
  size_ = pos;
  next_rel_ = rel;
  {
    MutexLock l(&verify_mu_);
    if (verified_bytes_.load(std::memory_order_relaxed) > pos) {
      verified_next_offset_ = base_offset_ + rel;
      verified_bytes_.store(pos, std::memory_order_release);
    }
  }
  // Zeros where the next header would start end every walk (batch_walker.h),
  // so once they are on disk the dropped batches cannot come back through
  // recovery, whatever else a crash leaves. Zeroed rather than cut off with
  // ftruncate: the file keeps its allocated space, so the appends that
  // follow never write into unbacked pages.
  std::memset(log_->data() + pos, 0, old_size - pos);
  SENTRY_RETURN_IF_ERROR(log_->SyncRange(pos, old_size));
  // The indexes are derived, but stale slots past the end would only make
  // the next start distrust them and rebuild; they go too.
  SENTRY_RETURN_IF_ERROR(index_->ClearSlots(RelativeOffset(rel), old_rel));
  SENTRY_RETURN_IF_ERROR(
      time_index_->KeepEntries(time_index_->EntriesBelow(RelativeOffset(rel))));
  if (sealed()) {
    // The last segment of the log again: it takes the appends.
    log_->ResumePrefault();
    index_->file()->ResumePrefault();
    time_index_->file()->ResumePrefault();
    indexes_synced_ = false;
    sealed_.store(false, std::memory_order_release);
  }
  return Status::OK();
}

Status Segment::Seal() {
  log_->StopPrefault();
  index_->file()->StopPrefault();
  time_index_->file()->StopPrefault();
  SENTRY_RETURN_IF_ERROR(log_->TrimTo(size_));
  SENTRY_RETURN_IF_ERROR(index_->TrimTo(next_rel_));
  SENTRY_RETURN_IF_ERROR(time_index_->TrimTo(time_index_->entries()));
  sealed_.store(true, std::memory_order_release);
  return Status::OK();
}

Status Segment::SyncSealedIndexesOnce() {
  if (indexes_synced_ || !sealed()) return Status::OK();
  SENTRY_RETURN_IF_ERROR(SyncIndexes());
  indexes_synced_ = true;
  return Status::OK();
}

Status Segment::SyncIndexes() {
  SENTRY_RETURN_IF_ERROR(index_->Sync(next_rel_));
  return time_index_->Sync();
}

Result<uint32_t> Segment::PositionOf(int64_t offset) const {
  if (offset < base_offset_ || offset - base_offset_ >= cfg_.index_max_entries) {
    return Status::OutOfRange(fmt::format("offset {} is not in segment {}", offset, base_offset_));
  }
  SENTRY_ASSIGN_OR_RETURN(LogPosition pos,
                          index_->Lookup(RelativeOffset(static_cast<uint32_t>(offset - base_offset_))));
  return pos.value;
}

std::optional<int64_t> Segment::OffsetForTime(int64_t ts) const {
  auto rel = time_index_->Lookup(ts);
  if (!rel) return std::nullopt;
  return base_offset_ + *rel;
}

SegmentScan Segment::ScanFrom(bool verify_crc, LogPosition from_pos, int64_t from_offset) const {
  const uint32_t from = from_pos.value;
  SegmentScan scan;
  scan.next_offset = from_offset;
  scan.valid_bytes = from;
  scan.crc_verified = verify_crc;
  const uint8_t* base = log_->data();
  const size_t limit = log_->backed_size();
  WalkOptions opt;
  opt.verify_crc = verify_crc;
  opt.expect_offset = from_offset;
  opt.allow_gaps = cfg_.compacted;
  BatchWalker walker({base, limit}, from, opt);
  WalkedBatch b;
  std::string overflow;
  while (walker.Next(&b)) {
    if (b.view.last_offset() + 1 - base_offset_ > int64_t{cfg_.index_max_entries}) {
      overflow = "batch overflows the segment's index";
      break;
    }
    scan.next_offset = b.view.last_offset() + 1;
    scan.batches++;
    if (b.view.max_timestamp() > scan.max_timestamp) scan.max_timestamp = b.view.max_timestamp();
    scan.valid_bytes = static_cast<uint32_t>(b.position + b.view.TotalSize());
  }
  if (!overflow.empty() || !walker.clean_end()) {
    scan.clean_end = false;
    scan.reason = overflow.empty() ? walker.reason() : overflow;
    size_t last = limit;
    while (last > scan.valid_bytes && base[last - 1] == 0) last--;
    scan.torn_bytes = static_cast<uint32_t>(last - scan.valid_bytes);
  }
  return scan;
}

Status Segment::RebuildIndexes(LogPosition valid_end) {
  SENTRY_RETURN_IF_ERROR(index_->TrimTo(0));
  SENTRY_RETURN_IF_ERROR(time_index_->TrimTo(0));
  time_index_->ResetEntries(0);
  return IndexBatches(LogPosition(0), RelativeOffset(0), valid_end);
}

Status Segment::IndexBatches(LogPosition from, RelativeOffset first, LogPosition end) {
  // Bytes already checked (by a scan or on arrival): no CRC, no zero test.
  WalkOptions opt;
  opt.verify_crc = false;
  opt.zeros_end_log = false;
  BatchWalker walker({log_->data(), end.value}, from.value, opt);
  WalkedBatch b;
  uint32_t rel = first.value;
  while (walker.Next(&b)) {
    // Slots from `rel` to the batch's last offset name it: in a compacted
    // segment that includes the gap before it (offsets the cleaner removed).
    const int64_t last_rel = b.view.last_offset() - base_offset_;
    if (b.view.base_offset() < base_offset_ + rel || last_rel >= int64_t{cfg_.index_max_entries}) {
      return Status::Corruption(fmt::format("{} position {}: batch offsets [{}, {}] do not fit "
                                            "after relative offset {}",
                                            log_->path(), b.position, b.view.base_offset(),
                                            b.view.last_offset(), rel));
    }
    const uint32_t count = static_cast<uint32_t>(last_rel + 1 - rel);
    SENTRY_RETURN_IF_ERROR(index_->Append(RelativeOffset(rel), count,
                                          LogPosition(static_cast<uint32_t>(b.position))));
    SENTRY_RETURN_IF_ERROR(time_index_->MaybeAppend(b.view.max_timestamp(), RelativeOffset(rel)));
    rel += count;
  }
  if (!walker.clean_end()) {
    return Status::Corruption(fmt::format("{} position {}: {}", log_->path(), walker.position(),
                                          walker.reason()));
  }
  next_rel_ = rel;
  return Status::OK();
}

Result<SegmentScan> Segment::RestoreFromPoint(int64_t point) {
  if (point <= base_offset_ || point - base_offset_ > cfg_.index_max_entries) {
    return Status::NotFound("recovery point not inside this segment");
  }
  const uint32_t trusted = static_cast<uint32_t>(point - base_offset_);
  const size_t log_bytes = log_->backed_size();
  // Every slot below the point must be sane (this reads only the index).
  uint32_t prev = 0;
  if (Status s = index_->CheckSlots(trusted, log_bytes, &prev, cfg_.compacted); !s.ok()) {
    return Status::Corruption("below the recovery point: " + s.message());
  }
  RecordBatchView last;
  SENTRY_RETURN_IF_ERROR(RecordBatchView::Parse(log_->data() + prev, log_bytes - prev, &last,
                                                /*verify_crc=*/false));
  if (last.last_offset() != point - 1) {
    return Status::Corruption("the batch at the last trusted slot does not end at the point");
  }
  const uint32_t start = prev + static_cast<uint32_t>(last.TotalSize());
  SegmentScan scan = ScanFrom(/*verify_crc=*/true, LogPosition(start), point);
  // A page that could not be read ended the walk early: change nothing.
  SENTRY_RETURN_IF_ERROR(CheckFaults());
  // Time index: keep the increasing entries below the point, drop the rest.
  uint32_t keep = 0;
  const uint32_t tcap = static_cast<uint32_t>(time_index_->file()->backed_size() /
                                              kTimeIndexSlotBytes);
  while (keep < tcap && time_index_->RelAt(keep) < trusted &&
         (keep == 0 || (time_index_->TimestampAt(keep) > time_index_->TimestampAt(keep - 1) &&
                        time_index_->RelAt(keep) > time_index_->RelAt(keep - 1)))) {
    keep++;
  }
  if (keep == 0) return Status::Corruption("time index below the recovery point is empty");
  SENTRY_RETURN_IF_ERROR(log_->TrimTo(scan.valid_bytes));
  SENTRY_RETURN_IF_ERROR(index_->TrimTo(trusted));
  SENTRY_RETURN_IF_ERROR(time_index_->TrimTo(keep));
  time_index_->ResetEntries(keep);
  SENTRY_RETURN_IF_ERROR(
      IndexBatches(LogPosition(start), RelativeOffset(trusted), LogPosition(scan.valid_bytes)));
  size_ = scan.valid_bytes;
  {
    MutexLock l(&verify_mu_);
    verified_next_offset_ = base_offset_;
    verified_bytes_.store(0, std::memory_order_release);  // the trusted prefix: lazily
  }
  published_size_.store(size_, std::memory_order_release);
  return scan;
}

Result<std::vector<int64_t>> Segment::ListBases(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Status::FromErrno(errno, "opendir " + dir);
  std::vector<int64_t> bases;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.size() != 24 || name.compare(20, 4, ".log") != 0) continue;
    if (name.find_first_not_of("0123456789") != 20) continue;
    bases.push_back(std::strtoll(name.c_str(), nullptr, 10));
  }
  ::closedir(d);
  std::sort(bases.begin(), bases.end());
  return bases;
}

Status Segment::CheckFaults() const {
  SENTRY_RETURN_IF_ERROR(log_->CheckFault());
  SENTRY_RETURN_IF_ERROR(index_->file()->CheckFault());
  return time_index_->file()->CheckFault();
}

Status Segment::RemoveFiles(const std::string& dir, int64_t base_offset) {
  // The .log last: a crash in between leaves it, so the segment is still
  // listed (ListBases) and removed again at the next start, never an orphan
  // index nobody lists.
  for (const char* ext : {".index", ".timeindex", ".log"}) {
    std::string p = FileName(dir, base_offset, ext);
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) return Status::FromErrno(errno, "unlink " + p);
  }
  return SyncDirectory(dir);
}

Status Segment::RestoreFromScan(const SegmentScan& scan, bool truncate_log) {
  // A scan that met an unreadable page saw zeros there, not the end.
  SENTRY_RETURN_IF_ERROR(CheckFaults());
  // Truncating drops the torn tail; later Reserve() calls allocate fresh
  // (zeroed) space after it, so "bytes past the end are zero" holds again.
  if (truncate_log) SENTRY_RETURN_IF_ERROR(log_->TrimTo(scan.valid_bytes));
  SENTRY_RETURN_IF_ERROR(RebuildIndexes(LogPosition(scan.valid_bytes)));
  size_ = scan.valid_bytes;
  {
    MutexLock l(&verify_mu_);
    // The scan checked CRCs only when asked to; otherwise verify lazily.
    if (scan.crc_verified) {
      verified_next_offset_ = scan.next_offset;
      verified_bytes_.store(size_, std::memory_order_release);
    } else {
      verified_next_offset_ = base_offset_;
      verified_bytes_.store(0, std::memory_order_release);
    }
  }
  published_size_.store(size_, std::memory_order_release);
  return Status::OK();
}

Status Segment::VerifyUpTo(uint32_t end) {
  MutexLock l(&verify_mu_);
  const uint32_t from = verified_bytes_.load(std::memory_order_relaxed);
  const uint32_t limit = published_size();
  if (end > limit) end = limit;
  if (from >= end) return Status::OK();
  WalkOptions opt;
  opt.expect_offset = verified_next_offset_;
  opt.allow_gaps = cfg_.compacted;
  opt.zeros_end_log = false;  // below the published size there are only batches
  BatchWalker walker({log_->data(), limit}, from, opt);
  WalkedBatch b;
  while (walker.position() < end && walker.Next(&b)) {
    verified_next_offset_ = walker.next_offset();
    verified_bytes_.store(static_cast<uint32_t>(walker.position()), std::memory_order_release);
  }
  if (walker.position() < end) {
    return Status::Corruption(fmt::format("{} position {}: {}", log_->path(), walker.position(),
                                          walker.reason()));
  }
  return Status::OK();
}

Status Segment::CheckIndexes() const {
  const uint32_t entries = next_rel_;
  SENTRY_RETURN_IF_ERROR(index_->CheckSlots(entries, size_, nullptr, cfg_.compacted));
  const uint32_t tentries = time_index_->entries();
  for (uint32_t i = 0; i < tentries; i++) {
    if (time_index_->RelAt(i) >= entries ||
        (i > 0 && (time_index_->TimestampAt(i) <= time_index_->TimestampAt(i - 1) ||
                   time_index_->RelAt(i) <= time_index_->RelAt(i - 1)))) {
      return Status::Corruption(
          fmt::format("{}: entry {} is out of order", time_index_->file()->path(), i));
    }
  }
  return Status::OK();
}

std::optional<uint32_t> Segment::GapEndOnDisk(int64_t end) const {
  if (end <= base_offset_ || end - base_offset_ > int64_t{cfg_.index_max_entries}) {
    return std::nullopt;
  }
  // Both files trimmed to their data, as the cleaner writes them and Seal
  // leaves them; an active segment's files end at an allocation step.
  const auto slots = static_cast<size_t>(end - base_offset_);
  if (index_->file_bytes() != slots * kIndexSlotBytes) return std::nullopt;
  auto pos = index_->Lookup(RelativeOffset(static_cast<uint32_t>(slots - 1)));
  if (!pos.ok() || size_t{pos->value} != log_->backed_size()) return std::nullopt;
  return pos->value;
}

Status Segment::RestoreFromIndexes() {
  const size_t log_bytes = log_->backed_size();
  const size_t idx_bytes = index_->file_bytes();
  const size_t tidx_bytes = time_index_->file()->backed_size();
  if (idx_bytes % kIndexSlotBytes || tidx_bytes % kTimeIndexSlotBytes) {
    return Status::Corruption("index size is not a whole number of slots");
  }
  uint32_t entries = static_cast<uint32_t>(idx_bytes / kIndexSlotBytes);
  uint32_t tentries = static_cast<uint32_t>(tidx_bytes / kTimeIndexSlotBytes);
  const bool gaps = cfg_.compacted;
  if (entries == 0) {
    if (log_bytes != 0 || tentries != 0) return Status::Corruption("empty index, non-empty log");
  } else {
    if (!index_->SlotValid(RelativeOffset(entries - 1), static_cast<uint32_t>(log_bytes), gaps)) {
      return Status::Corruption("last index slot is invalid");
    }
    // The slot of the last batch's last offset names that batch, which ends
    // the log. Without gaps that is the last slot; in a compacted segment
    // the slots after it (offsets the cleaner removed) point at the end.
    const uint32_t named =
        gaps ? index_->FirstSlotAtOrAfter(entries, static_cast<uint32_t>(log_bytes)) : entries;
    if (named == 0) {
      if (log_bytes != 0 || tentries != 0) {
        return Status::Corruption("no index slot names a batch of a non-empty log");
      }
    } else {
      if (!index_->SlotValid(RelativeOffset(named - 1), static_cast<uint32_t>(log_bytes))) {
        return Status::Corruption("the slot of the last batch is invalid");
      }
      const uint32_t pos = index_->Lookup(RelativeOffset(named - 1)).value().value;
      RecordBatchView view;
      SENTRY_RETURN_IF_ERROR(
          RecordBatchView::Parse(log_->data() + pos, log_bytes - pos, &view, false));
      if (view.last_offset() != base_offset_ + named - 1 || pos + view.TotalSize() != log_bytes) {
        return Status::Corruption("last index slot does not match the end of the log");
      }
      if (tentries == 0 || time_index_->RelAt(tentries - 1) >= entries) {
        return Status::Corruption("time index does not match the offset index");
      }
    }
  }
  time_index_->ResetEntries(tentries);
  size_ = static_cast<uint32_t>(log_bytes);
  next_rel_ = entries;
  Status full = CheckIndexes();
  if (!full.ok()) {
    time_index_->ResetEntries(0);
    size_ = 0;
    next_rel_ = 0;
    return full;
  }
  {
    MutexLock l(&verify_mu_);
    verified_next_offset_ = base_offset_;
    verified_bytes_.store(0, std::memory_order_release);  // log bytes not yet checked
  }
  published_size_.store(size_, std::memory_order_release);
  return Status::OK();
}

}  // namespace sentry
