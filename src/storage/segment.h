// Segment: one `.log` + `.index` + `.timeindex` triple, named by its 20-digit
// base offset (00000000000000000000.log).
//
// The crash rule: a batch exists once its bytes are in the .log and pass the
// batch CRC with a base_offset continuing the previous batch; indexes are
// derived data, rebuilt from the log when in doubt.
//
// Threads: exactly one writer (the partition's writer thread) calls Append,
// Seal and the recovery methods. Readers on any thread call PositionOf /
// published_size / log_data for offsets below the partition's published high
// watermark. The writer stores published_size with release *before* the
// partition publishes the high watermark, so a reader that acquired the
// watermark sees every byte and index slot below it.
// Held by shared_ptr: a reader keeps it mapped while it uses its bytes.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "storage/log_config.h"
#include "storage/offset_index.h"
#include "storage/time_index.h"

namespace sentry {

struct BatchSetSummary;

// What a walk over a segment's .log found (see Segment::Scan).
struct SegmentScan {
  uint32_t valid_bytes = 0;    // end of the last good batch
  int64_t next_offset = 0;     // offset after the last good batch
  int32_t batches = 0;
  int64_t max_timestamp = -1;
  bool clean_end = true;       // stopped at end of file or at zeros
  std::string reason;          // why the walk stopped when !clean_end
  uint32_t torn_bytes = 0;     // non-zero bytes after valid_bytes (dropped by a restore)
  bool crc_verified = false;   // the walk checked every CRC
};

class Segment {
 public:
  static std::string FileName(const std::string& dir, int64_t base_offset, const char* ext);

  // A new, empty active segment (fails with AlreadyExists if the .log exists).
  // It costs one small allocation step of disk and no memory until written.
  // `sync_dir` false: the caller fsyncs `dir` itself (creating many
  // partitions syncs their directories in one batch).
  static Result<std::shared_ptr<Segment>> Create(const std::string& dir, int64_t base_offset,
                                                 const LogConfig& cfg, bool sync_dir = true);
  // Maps existing files without validating them; call Scan/RestoreFrom* next.
  static Result<std::shared_ptr<Segment>> OpenExisting(const std::string& dir,
                                                       int64_t base_offset,
                                                       const LogConfig& cfg);
  ~Segment();

  int64_t base_offset() const { return base_offset_; }
  // Offset after the last batch (writer's view).
  int64_t next_offset() const { return base_offset_ + next_rel_; }
  uint32_t size() const { return size_; }
  bool sealed() const { return sealed_.load(std::memory_order_acquire); }
  int64_t created_ms() const { return created_ms_; }  // CoarseSteadyMillis
  const std::string& log_path() const { return log_->path(); }
  // The newest record timestamp in the segment (its last time-index entry),
  // -1 when it has none. What time retention judges a segment by.
  int64_t largest_timestamp() const { return time_index_->last_timestamp(); }

  // --- writer ---
  // True when `bytes` more log bytes and `records` more offsets fit.
  bool HasRoom(size_t bytes, int64_t records) const;
  // The most offsets this segment's index holds (its config when created).
  uint32_t index_capacity() const { return cfg_.index_max_entries; }
  // True when Append of these batches would make no file-system call: they
  // fit the segment and what its three files have already allocated, and a
  // prefaulter (not this thread) moves the allocation ahead.
  bool CanAppendWithoutIo(size_t bytes, const BatchSetSummary& summary) const;
  // Appends validated, concatenated batches starting at offset next_offset():
  // reserves space in all three files first (so a full disk fails with
  // nothing written), copies once into the mapping, patches each base_offset,
  // writes index slots, and publishes the new size.
  // log_append_time >= 0: stamp every batch with it (LogAppendTime topics).
  // leader_epoch >= 0: stamp every batch's partition_leader_epoch with it.
  Status Append(const uint8_t* bytes, size_t n, const BatchSetSummary& summary,
                int64_t log_append_time = -1, int32_t leader_epoch = -1);
  // Trims the three files to their data and makes the segment read-only.
  Status Seal();
  // Compacted logs: makes the segment cover offsets up to `next_offset`
  // (the next segment's base, or on a follower the next batch's base) when
  // its last surviving batch ends before: the index slots of the removed
  // offsets point at the end of the log, so a read there moves on to what
  // follows. Writer only (the loader, or the appender on an active segment).
  Status ExtendTo(int64_t next_offset);
  // Drops every batch from log position `pos` (a batch boundary, where
  // relative offset `rel` starts) on: unpublishes them, zeroes their .log
  // bytes, .index slots and .timeindex entries and msyncs the zeros before
  // returning, so a walk after a crash ends at `pos` (zeros end the log).
  // A sealed segment becomes the active one again (appends continue at
  // `pos`). Writer only, with the flusher kept out (PartitionLog::TruncateTo
  // holds its flush lock) and no reader at or past `pos`. Costs a write of
  // the dropped bytes (a follower drops a few batches at the tail).
  Status TruncateTo(LogPosition pos, RelativeOffset rel);
  // An I/O error if a page of any of the three mappings could not be read
  // (SIGBUS caught, see mapping_faults.h): the segment's bytes are not trusted.
  Status CheckFaults() const;
  // Writes back the .log range [from, to).
  Status SyncLog(uint32_t from, uint32_t to) const { return log_->SyncRange(from, to); }
  Status SyncIndexes();
  // Flusher: for a sealed segment, syncs its indexes once (later calls no-op).
  Status SyncSealedIndexesOnce();

  // --- recovery (writer, before the partition is served) ---
  // Walks batches from position 0, validating header, CRC and offset
  // continuity; stops at zeros, at the end, or at the first bad batch.
  SegmentScan Scan(bool verify_crc) const {
    return ScanFrom(verify_crc, LogPosition(0), base_offset_);
  }
  // The same walk starting at byte `from`, where offset `from_offset` begins.
  SegmentScan ScanFrom(bool verify_crc, LogPosition from, int64_t from_offset) const;
  // Unclean start with a recovery point inside this segment: trusts the
  // index slots below `point` after checking them, walks (CRC) only the bytes
  // after the batch that ends at `point`, truncates a torn tail and extends
  // the indexes over the walked batches. NotFound/Corruption when the prefix
  // cannot be trusted (the caller then walks the whole segment).
  Result<SegmentScan> RestoreFromPoint(int64_t point);
  // Makes the scan's valid prefix the segment: truncates what follows (unless
  // `truncate_log` is false: an offline partition keeps its bytes for the
  // operator) and rebuilds .index and .timeindex from the log.
  Status RestoreFromScan(const SegmentScan& scan, bool truncate_log = true);
  // Base offsets of the *.log files in `dir`, sorted.
  static Result<std::vector<int64_t>> ListBases(const std::string& dir);
  // Removes this base offset's three files (recovery dropping a torn tail,
  // retention deleting a segment below the log start offset).
  static Status RemoveFiles(const std::string& dir, int64_t base_offset);
  // Trusts existing indexes after cheap checks (last slot names the batch that
  // ends the log, sizes are whole slots); used for rolled segments.
  Status RestoreFromIndexes();
  // Recovery of a log with gaps, before a walk rebuilds the index: the
  // position the index as found gives for offset `end - 1`, when the index
  // ends there and that position is the end of the .log file. That is the
  // mark of a segment whose last offsets the cleaner removed (a cleaned
  // segment, or a follower's sealed copy of one); a segment that lost its
  // unsynced tail to a power cut does not carry it, unless the cut took
  // exactly one batch and reverted the .log's size to that batch's start
  // while keeping the index. nullopt otherwise.
  std::optional<uint32_t> GapEndOnDisk(int64_t end) const;

  // --- verification of bytes that came from disk (any thread) ---
  // Bytes [0, verified_bytes()) passed the batch checks (header, CRC, offset
  // continuity). Appends made by this process are verified on arrival; a
  // segment loaded without a CRC walk starts at 0 and is verified lazily,
  // before its bytes are first served, or by the background scrub.
  uint32_t verified_bytes() const { return verified_bytes_.load(std::memory_order_acquire); }
  // Verifies from verified_bytes() to at least `end` (<= published size).
  // Corruption names the file and position of the first bad batch.
  Status VerifyUpTo(uint32_t end);
  // Checks every slot of .index (relative offset, non-decreasing positions
  // inside the log) and of .timeindex (increasing, inside the offsets) without
  // touching the log. Used before trusting indexes of a loaded segment.
  Status CheckIndexes() const;

  // --- readers (any thread) ---
  uint32_t published_size() const { return published_size_.load(std::memory_order_acquire); }
  const uint8_t* log_data() const { return log_->data(); }
  // See MappedFile::WillNeed.
  void WillNeed(uint32_t from, size_t to) const { log_->WillNeed(from, to); }
  Result<uint32_t> PositionOf(int64_t offset) const;
  std::optional<int64_t> OffsetForTime(int64_t ts) const;
  int64_t max_timestamp() const { return time_index_->last_timestamp(); }

 private:
  Segment(int64_t base, const LogConfig& cfg) : base_offset_(base), cfg_(cfg) {}
  Status RebuildIndexes(LogPosition valid_end);
  // Appends index slots / time index entries for batches in [pos, end).
  Status IndexBatches(LogPosition from, RelativeOffset first, LogPosition end);

  const int64_t base_offset_;
  const LogConfig cfg_;
  std::unique_ptr<MappedFile> log_;
  std::unique_ptr<OffsetIndex> index_;
  std::unique_ptr<TimeIndex> time_index_;
  // Writer-owned state.
  uint32_t size_ = 0;
  uint32_t next_rel_ = 0;
  std::atomic<bool> sealed_{false};  // set by the writer; read by the flusher
  int64_t created_ms_ = 0;
  bool indexes_synced_ = false;  // flusher-only
  Mutex verify_mu_;  // one verifier at a time
  int64_t verified_next_offset_ GUARDED_BY(verify_mu_) = 0;
  std::atomic<uint32_t> verified_bytes_{0};
  // Published to readers.
  std::atomic<uint32_t> published_size_{0};
};

}  // namespace sentry
