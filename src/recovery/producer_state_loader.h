// The rebuild of idempotent producers' state (storage/producer_state.h) at
// start-up, from `producer.snapshot` and the log.
//
// Rebuild: the snapshot (when it parses, and its offset lies within the log
// as recovered) is the state up to its offset; the batch headers from there
// to the log end are replayed. Without a usable snapshot the whole log is
// replayed, and an unusable one is removed (ahead of a log that lost its
// tail, it would look usable once the log grew past its offset again).
// Either way the result is what the log holds: a snapshot is only a
// shortcut.
//
// The walk reads batch headers only (PartitionLog::WalkHeaders): it neither
// checks CRCs nor counts as serving the bytes, so lazy verification and the
// scrub keep their jobs. The work is PartitionLog::ReloadProducers (a
// truncation reloads the state the same way).
//
// Threads: the start-up thread, before the partition is served.
#pragma once

#include <cstdint>

#include "common/status.h"
#include "storage/partition_log.h"

namespace sentry::recovery {

struct ProducerRebuild {
  bool from_snapshot = false;
  int64_t batches_replayed = 0;
  size_t producers = 0;
};

Status RebuildProducerState(PartitionLog* log, ProducerRebuild* out);

}  // namespace sentry::recovery
