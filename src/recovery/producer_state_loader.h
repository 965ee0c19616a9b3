// The persistence of idempotent producers' state (storage/producer_state.h):
// `producer.snapshot` in the partition directory, and its rebuild at start-up.
//
// Rebuild: the snapshot (when it parses, and its offset lies within the log
// as recovered) is the state up to its offset; the batch headers from there
// to the log end are replayed. Without a usable snapshot the whole log is
// replayed. Either way the result is what the log holds: a snapshot is only
// a shortcut.
//
// Snapshots are written by the recovery checkpoint (every
// log.flush.offset.checkpoint.interval.ms, and at clean shutdown) when the
// state changed, or when the log moved on and the last snapshot is over a
// minute old (bounding the replay after a crash).
//
// Threads: Rebuild on the start-up thread before the partition is served;
// Snapshot on the maintenance thread.
#pragma once

#include <cstdint>

#include "common/status.h"
#include "storage/partition_log.h"

namespace sentry::recovery {

constexpr const char* kProducerSnapshotFile = "producer.snapshot";

struct ProducerRebuild {
  bool from_snapshot = false;
  int64_t batches_replayed = 0;
  size_t producers = 0;
};

Status RebuildProducerState(PartitionLog* log, ProducerRebuild* out);

// Writes the snapshot if due (see above); `force` writes it anyway.
Status SnapshotProducerState(PartitionLog* log, bool force = false);

}  // namespace sentry::recovery
