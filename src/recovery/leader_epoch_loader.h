// The leader epoch cache at start-up (storage/leader_epoch_cache.h): from
// `leader-epoch-checkpoint`, or rebuilt from the log.
//
//  - The file parses: its entries are taken, except those starting at or
//    past the recovered log end (a crash lost the batches they named, or
//    the epoch began and wrote nothing; Kafka drops them the same way), and
//    the first one kept starts no lower than the log start. When that
//    changed anything, the file is rewritten.
//  - Missing or garbled: rebuilt from the batch headers from the log start
//    (PartitionLog::WalkHeaders: no CRC checks, nothing served), a new entry
//    at each batch whose partition_leader_epoch is above the last one
//    (negative epochs: none), then written, with one WARN line. A missing
//    file on an empty log is a new partition: nothing to walk, nothing
//    written, nothing logged (10,000 new partitions cost no fsync).
//  - A file that cannot be written (a full disk) is removed instead, with a
//    WARN line: the partition loads, and the next start rebuilds again.
//
// A batch appended without a leader epoch (PartitionLog::Append's -1) keeps
// whatever its producer wrote there (Sentry's builder 0, Kafka clients -1),
// and a rebuild takes that at its word.
//
// Threads: the start-up thread, before the partition is served.
#pragma once

#include <cstddef>

#include "common/status.h"
#include "storage/partition_log.h"

namespace sentry::recovery {

struct LeaderEpochRestore {
  bool rebuilt = false;     // from the log: the file was missing or garbled
  int entries_dropped = 0;  // stored entries at or past the log end
  size_t entries = 0;       // in the cache now
};

Status RestoreLeaderEpochs(PartitionLog* log, LeaderEpochRestore* out);

}  // namespace sentry::recovery
