// The log cleaner: Kafka's compaction of one partition (cleanup.policy
// compact). docs/retention.md, "Compaction", says what it keeps and why.
//
//  1. The cleanable part of the log: sealed segments that are synced (below
//     the durable offset) and whose newest record is older than
//     min.compaction.lag.ms; never the active segment. Its dirty part starts
//     at the partition's cleaner checkpoint (cleaned_offset()).
//  2. A key -> latest offset map (OffsetMap, bounded) of the dirty part;
//     when the map fills, this pass ends where it filled.
//  3. Every segment from the start of the log up to the map's end, in groups
//     of consecutive segments that fit one segment (segment.bytes,
//     index.max.entries), is rewritten keeping a record unless a later record
//     has its key, or it is a tombstone (null value) below the map's end in a
//     segment whose newest record is older than delete.retention.ms. Offsets,
//     batch base offsets, offset ranges (last_offset_delta), timestamps and
//     producer fields are kept; only whole records leave. A compressed batch
//     is kept whole while any of its records must stay (it is not
//     recompressed), and dropped when none does. Records without a key are
//     kept.
//  4. Each group's replacement is swapped in crash-safely (segment_swap.h),
//     then the checkpoint moves to the map's end.
//
// One thread per partition at a time (the broker holds the partition's
// retention lock around a pass), concurrently with the appender, the
// flusher and readers.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "common/status.h"
#include "storage/offset_map.h"
#include "storage/partition_log.h"
#include "storage/segment_swap.h"

namespace sentry {

// The per-topic settings the cleaner follows (Kafka's names).
struct CleanerConfig {
  double min_cleanable_dirty_ratio = 0.5;            // min.cleanable.dirty.ratio
  int64_t delete_retention_ms = 24LL * 3600 * 1000;  // delete.retention.ms
  int64_t min_compaction_lag_ms = 0;                 // min.compaction.lag.ms
  int64_t max_compaction_lag_ms = INT64_MAX;         // max.compaction.lag.ms
};

// What a partition offers the cleaner now.
struct Cleanable {
  int64_t first_dirty = 0;  // the dirty part is [first_dirty, end)
  int64_t end = 0;          // the first offset the cleaner may not touch
  int64_t clean_bytes = 0;
  int64_t dirty_bytes = 0;
  bool overdue = false;     // max.compaction.lag.ms passed: clean whatever the ratio
  double dirty_ratio() const {
    const int64_t total = clean_bytes + dirty_bytes;
    return total == 0 ? 0.0 : static_cast<double>(dirty_bytes) / static_cast<double>(total);
  }
  // Worth a pass under `cfg`.
  bool Due(const CleanerConfig& cfg) const {
    return dirty_bytes > 0 && (overdue || dirty_ratio() >= cfg.min_cleanable_dirty_ratio);
  }
};
Cleanable FindCleanable(const PartitionLog& log, int64_t now_ms, const CleanerConfig& cfg);

struct CleanOptions {
  int64_t now_ms = 0;
  CleanerConfig config;
  SwapFaultHook fault;          // crash points (tests, fault injection)
  std::function<bool()> stop;   // checked between groups: true = end the pass early
};

struct CleanStats {
  int segments_in = 0;
  int segments_out = 0;
  int64_t bytes_in = 0;
  int64_t bytes_out = 0;
  int64_t records_in = 0;
  int64_t records_kept = 0;
  int64_t tombstones_removed = 0;
  int64_t keys_mapped = 0;
  bool map_filled = false;
  int64_t cleaned_to = -1;  // the new checkpoint (-1: nothing was cleaned)
};

// A compacted topic takes only records with a key (Kafka refuses the others
// with INVALID_RECORD): InvalidArgument naming the first record without one,
// Corruption when a record cannot be read. Decompresses compressed batches.
// `batches`: validated batches (ValidateBatches).
Status CheckKeysForCompaction(std::span<const uint8_t> batches);

// One pass over `log` (whatever its dirty ratio; FindCleanable says whether
// it is due). A corrupt batch takes the partition offline and fails the
// pass; an I/O error fails it and leaves the files as a crash would (the
// next start completes or rolls back the swap).
Result<CleanStats> CleanLog(PartitionLog* log, OffsetMap* map, const CleanOptions& opt);

}  // namespace sentry
