// LoadPartition: opens one partition directory at start-up and decides, per
// segment, how much to trust it.
//
//  - Clean shutdown (marker present): every segment's indexes are trusted
//    after CheckIndexes (every slot in range and in order); log bytes are
//    verified lazily before first being served, or by the scrub.
//  - Unclean: segments entirely below the recovery point are treated as on a
//    clean start (they were msync'ed). Every segment holding offsets at or
//    above it is walked batch by batch (header, CRC-32C, offset continuity).
//    At the first failure, or at zeros, the log ends: the tail is truncated,
//    the indexes rebuilt, later segments removed, one WARN line logged.
//  - A bad batch below the recovery point is corruption of acknowledged,
//    synced data: the partition is loaded OFFLINE (files untouched), unless
//    `truncate_corrupt` is set, in which case it is truncated there with an
//    ERROR line spelling out the data loss (Kafka's behaviour).
//  - Indexes that are missing, short, zeroed or inconsistent are rebuilt.
//  - The persisted log start offset (`log-start-offset`, written by
//    retention before it unlinks segments) is applied: segments wholly below
//    it are deleted, and the log starts there.
//  - Idempotent producers' state and the leader epoch cache are loaded last,
//    from their files and the log (producer_state_loader.h,
//    leader_epoch_loader.h).
//
// Runs on the start-up thread, before the partition is served.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/status.h"
#include "storage/partition_log.h"

namespace sentry::recovery {

struct RecoveryOptions {
  bool clean_shutdown = false;
  int64_t recovery_point = 0;     // from the checkpoint; 0 when unknown
  bool truncate_corrupt = false;  // operator setting: truncate instead of offline
  // false: a partition created here does not fsync its new directory entries;
  // the caller syncs the directory and its parent (many at once).
  bool sync_new_dirs = true;
};

// What start-up knows about the whole data directory: the options of each
// partition follow from it.
struct StartupState {
  bool clean_shutdown = false;    // the clean-shutdown marker was there
  bool truncate_corrupt = false;  // recovery.truncate.corrupt
  std::map<std::string, int64_t> recovery_points;  // by partition directory name
  // The options for partition directory `name` ("orders-3").
  RecoveryOptions For(const std::string& name) const;
};

struct RecoveryReport {
  int segments = 0;
  int segments_walked = 0;       // CRC-checked at start
  int indexes_rebuilt = 0;
  int segments_removed = 0;      // past a torn tail
  int segments_deleted_below_start = 0;  // retention had persisted the log start past them
  bool cleaner_swap_completed = false;   // a committed compaction swap was finished
  int cleaner_files_removed = 0;         // .cleaned / .deleted leftovers removed
  int64_t bytes_truncated = 0;
  std::string truncation;        // empty when nothing was cut
  std::string offline_reason;    // non-empty: loaded offline
  int64_t log_end_offset = 0;
  size_t producers = 0;                    // idempotent producers known after the rebuild
  int64_t producer_batches_replayed = 0;   // batch headers read to rebuild them
  size_t leader_epochs = 0;                // entries of the leader epoch cache
  bool leader_epochs_rebuilt = false;      // from the log: no usable checkpoint file
  int leader_epochs_dropped = 0;           // stored entries at or past the log end
};

Result<std::unique_ptr<PartitionLog>> LoadPartition(const std::string& dir, const LogConfig& cfg,
                                                    const RecoveryOptions& opt,
                                                    RecoveryReport* report);

}  // namespace sentry::recovery
