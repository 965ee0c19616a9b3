// LogConfig: per-partition storage settings (Kafka's topic-config names in
// comments). Plain value, copied into each PartitionLog at open.
#pragma once

#include <cstdint>

#include "storage/mapped_file.h"

namespace sentry {

struct LogConfig {
  uint32_t segment_bytes = 1u << 30;        // segment.bytes (<= 2^31-1: positions are u32)
  uint32_t index_max_entries = 1u << 23;    // index.max.entries: offsets per segment
  int64_t segment_ms = 7LL * 24 * 3600 * 1000;  // segment.ms
  MappedFileOptions file;                   // allocation step, prefault, FileOps
  // message.timestamp.type=LogAppendTime: the broker's clock stamps each
  // appended batch (timestamp-type bit, max_timestamp, CRC recomputed).
  bool log_append_time = false;
  // cleanup.policy holds `compact`: sealed segments may have offset gaps
  // (the cleaner removed records), so walks accept a batch starting above
  // the previous one's end, and a segment may end before the next begins.
  bool compacted = false;
};

}  // namespace sentry
