// LeaderEpochCache: which leader epoch wrote which part of a partition's log
// (Kafka's LeaderEpochFileCache, KIP-101 / KIP-279), so a follower can ask
// "where did my last epoch end on the leader?" (OffsetForLeaderEpoch) and cut
// its log there instead of at its high watermark.
//
// Entries (epoch, start_offset): epoch E wrote the batches from start_offset
// up to the next entry's start_offset (the log end for the last entry).
// Both fields strictly increase along the entries. Every batch carries the
// epoch it was written under in partition_leader_epoch (record_batch.h),
// so the cache can always be rebuilt from the log.
//
// File `leader-epoch-checkpoint` in the partition directory, text, as Kafka:
//   0                   version
//   N                   number of entries
//   <epoch> <offset>    N lines, oldest first, e.g. "3 1200"
// Written atomically (temp file, fsync, rename, directory fsync) whenever the
// entries change; the entries in memory change only once the file is
// written, so a failed write changes nothing. Read back by
// recovery::LoadPartition (recovery/leader_epoch_loader.h), which drops the
// entries a crash left beyond the log end and rebuilds a missing or garbled
// file from the batch headers.
//
// Threads: one writer at a time changes the entries (the partition's
// appender: Assign, TruncateFromEnd; the retention thread:
// TruncateFromStart) serialised by `write_mu_`; readers (network threads
// answering OffsetForLeaderEpoch) take only the short `mu_`, never the one
// held across the file write. latest_epoch() is lock-free.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"

namespace sentry {

class LeaderEpochCache {
 public:
  static constexpr const char* kFileName = "leader-epoch-checkpoint";

  struct Entry {
    int32_t epoch = -1;
    int64_t start_offset = -1;
    bool operator==(const Entry&) const = default;
  };

  // Empty; no file is touched until the entries change.
  explicit LeaderEpochCache(std::string dir);
  LeaderEpochCache(const LeaderEpochCache&) = delete;
  LeaderEpochCache& operator=(const LeaderEpochCache&) = delete;

  // --- writers (one at a time) ---
  // Epoch `epoch` starts at `start_offset`: a leader starting a new epoch at
  // its log end, or a batch carrying a newer epoch being appended. Above the
  // latest epoch: added (after dropping any last entries that start at or
  // after `start_offset`, which no batch can belong to any more, as Kafka
  // does). Equal to the latest: ignored. Older: InvalidArgument, nothing
  // changes. Negative epoch or offset: InvalidArgument.
  Status Assign(int32_t epoch, int64_t start_offset);
  // The log was truncated to `offset`: removes the entries starting at or
  // after it.
  Status TruncateFromEnd(int64_t offset);
  // The log start moved up to `offset`: the entries starting at or below it
  // are replaced by the last of them, starting at `offset` (the epoch that
  // wrote the first batch still in the log).
  Status TruncateFromStart(int64_t offset);

  // --- any thread ---
  // OffsetForLeaderEpoch: the largest epoch <= `epoch` and where it ends (the
  // next entry's start offset, or `log_end_offset` for the latest epoch).
  // {-1, -1} when `epoch` is below the first entry or the cache is empty.
  std::pair<int32_t, int64_t> EndOffsetFor(int32_t epoch, int64_t log_end_offset) const;
  // -1 when empty.
  int32_t latest_epoch() const { return latest_epoch_.load(std::memory_order_acquire); }
  std::vector<Entry> entries() const;

  // --- recovery (the start-up thread, before the log is shared) ---
  // The entries stored in partition directory `dir`: NotFound when there is
  // no file, Corruption when it does not parse or is not strictly increasing.
  static Result<std::vector<Entry>> ReadCheckpoint(const std::string& dir);
  // Takes `entries` (strictly increasing, else InvalidArgument); with
  // `persist` writes them to the file first.
  Status Restore(std::vector<Entry> entries, bool persist);

  // The file's text, and the reverse (Corruption names what is wrong).
  static std::string Format(const std::vector<Entry>& entries);
  static Result<std::vector<Entry>> Parse(std::string_view text);

 private:
  // Writes `next` to the file, then makes it the entries. Holds write_mu_.
  Status Commit(std::vector<Entry> next) REQUIRES(write_mu_);
  std::vector<Entry> Copy() const;

  const std::string path_;
  // Held by every writer from reading the entries to publishing the new
  // ones, across the file write (taken before mu_), so writers never lose
  // each other's change and the file always holds the last entries published.
  Mutex write_mu_;
  mutable Mutex mu_;
  std::vector<Entry> entries_ GUARDED_BY(mu_);
  std::atomic<int32_t> latest_epoch_{-1};
};

}  // namespace sentry
