// PartitionLog: the ordered segments of one topic partition.
//
// Offsets (Kafka's words, distinct named things, order asserted):
//   log_start_offset <= durable_offset <= high_watermark == log_end_offset
//   - log_end_offset / high_watermark: next offset to assign; everything below
//     it is in the mapping and visible to readers (no replication yet, so the
//     two are the same number).
//   - durable_offset: everything below it has been msync'ed.
//
// Threads:
//   - Append / AppendReplica / TruncateTo / Roll / Close: one appender at a
//     time (pipeline::Partition's append lock). No lock here.
//     TruncateTo also needs the retention lock (no retention or cleaner pass
//     meanwhile) and no reader at or past its offset (see there).
//   - RetentionTarget / AdvanceLogStart: one retention thread at a time,
//     concurrently with the appender (the segment list is changed only under
//     its mutex, by roll appending and retention removing from the front).
//   - Flush: any one thread at a time (the flusher), concurrently with Append.
//   - Read / OffsetForTimestamp / the offset getters: any thread, no lock on
//     the append path: readers acquire the high watermark, which the writer
//     releases after the bytes, index slots and segment size are written.
//   The segment list is an immutable vector swapped on roll;
//   readers hold the segment they read by shared_ptr, so it stays mapped.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "storage/leader_epoch_cache.h"
#include "storage/log_config.h"
#include "storage/producer_state.h"
#include "storage/record_batch.h"
#include "storage/segment.h"

namespace sentry {

struct AppendInfo {
  int64_t base_offset = -1;   // offset of the first record appended
  int64_t last_offset = -1;   // offset of the last record appended
  uint32_t position = 0;      // byte position in the segment
  int64_t log_append_time = -1;  // the broker's stamp (LogAppendTime topics), else -1
};

// Whole batches from one segment, straight from the mapping (no copy).
struct ReadResult {
  std::shared_ptr<const Segment> segment;  // keeps the bytes mapped
  const uint8_t* data = nullptr;
  size_t size = 0;
  int64_t high_watermark = 0;
  int64_t log_start_offset = 0;
  std::span<const uint8_t> bytes() const { return {data, size}; }
};


class PartitionLog {
 public:
  // A new, empty partition in `dir` (created if missing) with one segment
  // at `base_offset` (0 for a new partition; the recovery loader passes a
  // persisted log start when no segment is left, so that no offset is given
  // twice). AlreadyExists when `dir` holds segments: an existing partition
  // is opened only by recovery::LoadPartition, the one loader (broker,
  // tests, benches). `sync_dirs` false: the caller fsyncs `dir` and its
  // parent (batched).
  static Result<std::unique_ptr<PartitionLog>> Create(const std::string& dir,
                                                      const LogConfig& cfg,
                                                      bool sync_dirs = true,
                                                      int64_t base_offset = 0);
  // Takes segments that recovery already opened and restored (ordered,
  // contiguous; the last one becomes active). `durable_offset`: what is known
  // to be on stable storage.
  static Result<std::unique_ptr<PartitionLog>> Adopt(const std::string& dir, const LogConfig& cfg,
                                                     std::vector<std::shared_ptr<Segment>> segs,
                                                     int64_t durable_offset);
  ~PartitionLog();

  // --- the appender (one thread at a time; see pipeline::Partition) ---
  // Appends validated batches (see ValidateBatches) contiguously: assigns
  // offsets from log_end_offset by patching each base_offset. Rolls first when
  // the active segment lacks room or is older than segment.ms. kNoSpace /
  // kIoError leave the log unchanged; kTooLarge when it can never fit.
  // leader_epoch >= 0 (a replicated partition's leader): also stamps it into
  // every batch's partition_leader_epoch, and when it is newer than
  // leader_epochs().latest_epoch() records that it starts here (a file
  // write, before the batches are written). -1: the field is left as the
  // client sent it.
  Result<AppendInfo> Append(std::span<const uint8_t> batches, const BatchSetSummary& summary,
                            int32_t leader_epoch = -1);
  // A follower's append of batches fetched from the leader, stored exactly as
  // given: they already carry their offsets, timestamps and leader epoch, and
  // nothing is patched. `summary` from ValidateBatches. The first batch must
  // start at log_end_offset() (else OutOfRange) and each next one where the
  // previous ended (else InvalidArgument); both leave the log unchanged.
  // A log that may have offset gaps (its topic compacted, now or when it was
  // opened, or cleaned before) also takes a batch that starts later: the
  // offsets in between are ones the leader's cleaner removed, and are
  // skipped here too (SkipTo). The first gap writes the cleaner checkpoint
  // if there is none, so a restart knows the log may have gaps. Each batch whose partition_leader_epoch is newer than
  // the latest known one starts that epoch in leader_epochs() (written
  // before the batches, as Append does). Idempotent producers' batches are
  // recorded in producers() under its lock, as the leader's writer does
  // (so do not hold producers().mu() when calling). Rolls, indexes, errors,
  // durability: as Append.
  Result<AppendInfo> AppendReplica(std::span<const uint8_t> batches,
                                   const BatchSetSummary& summary);
  // Drops every batch at or after `offset` (a follower whose log diverged
  // from its leader's). An offset inside a batch truncates to that batch's
  // base offset; offset >= log_end_offset(): nothing to do; below
  // log_start_offset() (or inside a batch that starts below it): OutOfRange.
  // Segments wholly at or past the new end leave the list and their files
  // are unlinked (a reader holding one keeps its mapping, as with
  // retention); in the segment holding it the dropped bytes, index slots and
  // time index entries are zeroed and msynced before this returns, so a
  // crash right after cannot bring them back (zeros end a recovery walk).
  // That segment becomes the active one. log_end_offset, high_watermark and
  // durable_offset come down to the new end; the next append continues
  // there. leader_epochs() forgets the epochs starting at or after it; the
  // cleaner checkpoint comes down to it. Idempotent producers: when producers()
  // remembers a dropped batch, it is rebuilt from producer.snapshot (a
  // snapshot taken past the new end is deleted first) and the batch headers
  // after it, else from the whole log, as at start-up.
  // Preconditions: no reader is being served bytes at or past `offset` (the
  // caller exposes only offsets below a replicated high watermark <= offset);
  // the caller holds the partition's retention lock as well as the append
  // lock. After it, rewrite the recovery checkpoint (recovery::Maintenance::
  // CheckpointNow): one written before still names a recovery point past the
  // new end, which an unclean start after a power loss would trust for
  // batches appended since. An error after the first byte changed takes the
  // partition offline.
  Status TruncateTo(int64_t offset);
  // Kafka's truncateFullyAndStartAt: a follower whose log is of no use any
  // more (it ends at or below its leader's log start: it was away while the
  // leader's retention or a DeleteRecords removed what it lacks) drops every
  // batch and continues, empty, at `offset`, which may lie past the log end
  // (the leader's log start) or below it (the base of the leader's batch
  // that holds its log start; Kafka does the same). The caller decides that
  // the log is of no use; offset < 0 is InvalidArgument, and an empty log
  // already at `offset` is left as it is. Steps, each safe to crash after:
  // (0) producers() is emptied and the producer snapshot removed (a crash
  // leaves the old log, whose producers the next start replays); (1) the
  // old segments' files are unlinked, newest first (a crash leaves a prefix
  // of the old log, or no segment, which the next start opens empty at the
  // persisted log start); (2) the log start `offset` is persisted (a crash:
  // no segment, opened empty at `offset`); (3) an empty segment at `offset`
  // is created and published alone: log start, log end, high watermark and
  // durable offset all become `offset`; (4) a producer snapshot written
  // since step 0 is removed, leader_epochs() forgets every epoch and the
  // cleaner checkpoint moves to `offset`. There is never a gap
  // between segments on disk. An error in steps 0-2 leaves the published
  // log as it was and may be retried (a retry cleans up what a failed
  // attempt left); an error after it takes the partition offline.
  // Preconditions as TruncateTo: the retention and append locks are held,
  // and nothing of this log is being served as committed (a follower).
  Status StartOverAt(int64_t offset);
  // True when that Append would neither roll nor allocate nor otherwise call
  // the file system (so a network thread may run it inline). A leader_epoch
  // newer than the latest known one means a file write.
  bool CanAppendWithoutIo(size_t bytes, const BatchSetSummary& summary,
                          int32_t leader_epoch = -1) const;
  Status Roll();
  // A topic alter: segment.bytes, index.max.entries (for the segments rolled
  // from now on), segment.ms and message.timestamp.type (from the next
  // append). Appender only (hold the append lock).
  // `compacted`: the topic is compacted now (a follower then takes its
  // leader's offset gaps, AppendReplica).
  void UpdateAppendConfig(uint32_t segment_bytes, uint32_t index_max_entries, int64_t segment_ms,
                          bool log_append_time, bool compacted) {
    append_cfg_.segment_bytes = segment_bytes;
    append_cfg_.index_max_entries = index_max_entries;
    append_cfg_.segment_ms = segment_ms;
    append_cfg_.log_append_time = log_append_time;
    append_cfg_.compacted = compacted;
  }
  // Clean stop: flushes, trims the active segment's files to their data.
  Status Close();

  // --- one flusher thread (or the writer) ---
  // msyncs everything appended since the last flush (a group commit) and
  // returns the new durable offset.
  Result<int64_t> Flush();
  // msyncs only rolled segments (what Kafka flushes on roll): the durable
  // offset reaches the active segment's base. Cheap when nothing rolled.
  Result<int64_t> FlushSealed();

  // --- retention (one thread at a time, concurrently with the appender and
  // readers; see docs/retention.md) ---
  // Where retention would start the log: past the oldest sealed segments
  // (never the active one) while the oldest one's newest timestamp is older
  // than now_ms - retention_ms (retention_ms < 0: no time limit; a segment
  // without timestamps is never too old), or while the log without it still
  // holds at least retention_bytes of batches (< 0: no size limit). Returns
  // log_start_offset() when nothing is due.
  int64_t RetentionTarget(int64_t now_ms, int64_t retention_ms, int64_t retention_bytes) const;
  // Moves the log start offset up to `offset` (never backwards, never past
  // the high watermark): first persisted (the `log-start-offset` file, atomic
  // and fsynced), then published (reads below it get OutOfRange), then the
  // segments wholly below it leave the list and their files are unlinked; a
  // reader still holding one keeps its mapping until it lets go. Last,
  // leader_epochs() drops the epochs that ended below it. Returns how many
  // segments went. A crash between the steps leaves files that the next
  // start deletes (LoadPartition reads the same file).
  Result<int> AdvanceLogStart(int64_t offset);
  // Bytes of batches in the log (what Kafka counts for retention.bytes: not
  // the space allocated ahead).
  int64_t size_bytes() const;
  // The persisted log start offset of partition directory `dir`: 0 when the
  // file is missing.
  static Result<int64_t> ReadLogStartCheckpoint(const std::string& dir);
  // Recovery, before the log is shared: the log starts at `offset`, clamped
  // to [first segment's base, log end].
  void RestoreLogStartOffset(int64_t offset);

  // --- the log cleaner (one thread at a time, holding the same partition
  // lock as retention; see storage/log_cleaner.h) ---
  using SegmentList = std::vector<std::shared_ptr<Segment>>;
  // The current segments, oldest first; the last one is the active segment.
  std::shared_ptr<const SegmentList> SegmentsSnapshot() const { return segments(); }
  // Puts `cleaned` (covering [base, end), sealed) in the place of the sealed
  // segments that cover exactly that range. Readers holding an old segment
  // keep its mapping. InvalidArgument when the list no longer matches.
  Status ReplaceSegments(int64_t base, int64_t end, std::shared_ptr<Segment> cleaned);
  // Offsets below it have been through the cleaner (Kafka's cleaner
  // checkpoint): the dirty part of the log starts here.
  int64_t cleaned_offset() const { return cleaned_offset_.load(std::memory_order_acquire); }
  // Persists (the `cleaner-offset` file, atomically) and publishes it.
  Status SetCleanedOffset(int64_t offset);
  // True once the cleaner wrote (or recovery found) the checkpoint file: the
  // log may have offset gaps from then on (LoadPartition treats it as
  // compacted whatever the topic's policy).
  bool has_cleaner_checkpoint() const { return has_cleaner_checkpoint_.load(); }
  // The persisted cleaner checkpoint of partition directory `dir`: 0 when none.
  static Result<int64_t> ReadCleanerCheckpoint(const std::string& dir);
  // Recovery, before the log is shared; `exists`: the file was there.
  void RestoreCleanedOffset(int64_t offset, bool exists) {
    cleaned_offset_.store(offset, std::memory_order_release);
    has_cleaner_checkpoint_.store(exists);
  }
  // Whether partition directory `dir` has a cleaner checkpoint file.
  static bool CleanerCheckpointExists(const std::string& dir);

  // --- offline state (any thread) ---
  // A partition whose stored bytes failed verification goes offline: reads
  // fail with Corruption and appends with IoError; other partitions go on.
  bool offline() const { return offline_.load(std::memory_order_acquire); }
  std::string offline_reason() const;
  void SetOffline(const std::string& reason);
  // Background scrub: verifies up to `max_bytes` more of the first segment
  // with unverified bytes. False when everything is verified (or offline).
  bool ScrubStep(size_t max_bytes);

  // --- any thread ---
  int64_t high_watermark() const { return high_watermark_.load(std::memory_order_acquire); }
  int64_t log_end_offset() const { return high_watermark(); }
  int64_t log_start_offset() const { return log_start_offset_.load(std::memory_order_acquire); }
  // Idempotent producers' state (storage/producer_state.h): checked and
  // recorded by the writer around Append, rebuilt by recovery.
  ProducerState& producers() { return producers_; }
  // What ReloadProducers did.
  struct ProducerReload {
    bool from_snapshot = false;
    int64_t batches_replayed = 0;
    size_t producers = 0;
  };
  // Rebuilds producers() from what the log holds: producer.snapshot when it
  // parses and its offset lies in [log start, log end] (else a warning, the
  // file is removed, and the state starts empty at the log start), then the
  // batch headers from there to the log end are replayed (WalkHeaders: no
  // CRC checks, nothing served). A snapshot is only a shortcut. Start-up
  // (recovery::RebuildProducerState) and TruncateTo; not while the writer
  // appends nor a snapshot is written. Takes producers().mu().
  Status ReloadProducers(ProducerReload* out);
  // Which leader epoch wrote which offsets (storage/leader_epoch_cache.h):
  // assigned by Append / AppendReplica, cut by TruncateTo and
  // AdvanceLogStart, loaded by recovery. Internally locked.
  LeaderEpochCache& leader_epochs() { return leader_epochs_; }
  const LeaderEpochCache& leader_epochs() const { return leader_epochs_; }
  // Writes producer.snapshot when due: the state changed, or the log moved
  // on and the last snapshot is over a minute old (bounding the replay after
  // a crash). `force` (clean shutdown) writes it unless nothing moved at all.
  // Maintenance thread, or Close(). One snapshot write at a time, never
  // during a TruncateTo (snapshot_mu_).
  Status SnapshotProducers(bool force = false);
  int64_t durable_offset() const { return durable_offset_.load(std::memory_order_acquire); }
  // Whole batches starting with the one holding `offset`: at least one batch,
  // then more while the total stays within max_bytes, all from one segment.
  // offset == high watermark: empty result. Outside [log_start, hwm]: OutOfRange.
  Result<ReadResult> Read(int64_t offset, size_t max_bytes) const;
  // First offset whose batch max_timestamp >= ts, or log_end_offset.
  int64_t OffsetForTimestamp(int64_t ts) const;
  // Calls fn for the header of every batch from the one holding `from` up to
  // the high watermark, without checking CRCs or serving bytes (rebuilding
  // producer state, the max-timestamp lookup). Corruption when a header does
  // not fit where it sits.
  Status WalkHeaders(int64_t from, const std::function<void(const RecordBatchView&)>& fn) const;
  size_t segment_count() const { return segments()->size(); }
  const std::string& dir() const { return dir_; }
  const LogConfig& config() const { return cfg_; }

 private:
  // The persisted log start offset, in the partition's directory.
  static constexpr const char* kLogStartFile = "log-start-offset";
  PartitionLog(std::string dir, const LogConfig& cfg)
      : dir_(std::move(dir)), cfg_(cfg), append_cfg_(cfg), leader_epochs_(dir_) {}
  void Init(SegmentList list, int64_t durable_offset);
  // kTooLarge when `n` bytes / `records` offsets can never fit a segment.
  Status CheckFits(size_t n, int64_t records) const;
  // Rolls when due, then appends to the active segment and publishes.
  // `stamp_time`: LogAppendTime (the broker's clock into every batch).
  Result<AppendInfo> AppendToActive(std::span<const uint8_t> batches,
                                    const BatchSetSummary& summary, bool stamp_time,
                                    int32_t leader_epoch);
  // A compacted follower: offsets [log_end_offset(), offset) hold nothing
  // (the leader's cleaner removed them). The active segment's index covers
  // them, pointing at its end, as the cleaner's segments do; a segment
  // whose index is full is rolled first.
  Status SkipTo(int64_t offset);
  // AppendReplica of `batches` (checked, epochs assigned) with gaps before
  // or between them, or too many offsets for one segment: each run of
  // contiguous batches (`one_per_run`: each batch) after a SkipTo.
  Result<AppendInfo> AppendReplicaRuns(std::span<const uint8_t> batches, bool one_per_run);
  // Appends checked replica batches as they are, recording idempotent
  // producers under their lock (AppendReplica and each of its runs).
  Result<AppendInfo> AppendVerbatim(std::span<const uint8_t> batches,
                                    const BatchSetSummary& summary);
  // TruncateTo's destructive part: `seg` holds the new end `target`, at
  // position `pos`.
  Status TruncateSegments(std::shared_ptr<Segment> seg, uint32_t pos, int64_t target)
      REQUIRES(flush_mu_);
  // TruncateTo's bookkeeping after the segments: epochs, cleaner checkpoint,
  // producers.
  Status TruncateState(int64_t target);
  Result<int64_t> FlushSegments(bool include_active);
  // The active segment must roll before this append although it has room
  // (segment.ms, or limits lowered since it was created). Appender only.
  bool DueToRoll(size_t bytes, const BatchSetSummary& summary) const;
  void PublishSegments(SegmentList list);
  std::shared_ptr<const SegmentList> segments() const {
    MutexLock l(&segments_mu_);
    return segments_;
  }

  const std::string dir_;
  const LogConfig cfg_;      // as opened (any thread)
  LogConfig append_cfg_;     // appender-only: what rolls and appends use now
  std::shared_ptr<Segment> active_;  // writer-only handle on the last segment
  // The segment list is swapped on roll and copied (one reference count) by
  // readers under a short mutex; the append path never takes it (appends use
  // active_), so the writer stays lock-free.
  mutable Mutex segments_mu_;
  std::shared_ptr<const SegmentList> segments_ GUARDED_BY(segments_mu_);

  ProducerState producers_;
  // Serialises producer.snapshot writes (SnapshotProducers) with TruncateTo,
  // which must not let a snapshot taken past its new end reach the disk.
  // Taken before producers_.mu().
  Mutex snapshot_mu_;
  LeaderEpochCache leader_epochs_;
  alignas(64) std::atomic<int64_t> high_watermark_{0};
  alignas(64) std::atomic<int64_t> durable_offset_{0};
  std::atomic<int64_t> log_start_offset_{0};
  std::atomic<int64_t> cleaned_offset_{0};
  std::atomic<bool> has_cleaner_checkpoint_{false};

  std::atomic<bool> offline_{false};
  mutable Mutex offline_mu_;
  std::string offline_reason_ GUARDED_BY(offline_mu_);

  // Flusher state (Init writes it before the log is shared).
  Mutex flush_mu_;
  int64_t synced_segment_base_ GUARDED_BY(flush_mu_) = 0;
  uint32_t synced_bytes_ GUARDED_BY(flush_mu_) = 0;
};

}  // namespace sentry
