// Offline reading of segment files for `sentryctl dump` and `verify`.
//
// Files are read with plain read() into memory and never opened through
// PartitionLog (whose recovery would truncate and re-index them): these tools
// must show a data directory exactly as it is. The layouts and the batch walk
// are the storage layer's own (storage/index_layout.h, storage/batch_walker.h).
//
// Any thread; no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/index_layout.h"

namespace sentry::ctl {

Result<std::vector<uint8_t>> ReadWholeFile(const std::string& path);

// Base offset from a segment file name (20 decimal digits + extension).
std::optional<int64_t> SegmentBaseOffset(const std::string& path);

struct ScannedBatch {
  size_t position = 0;
  size_t size = 0;
  int64_t base_offset = 0;
  int64_t last_offset = 0;
  int32_t records = 0;
  int64_t base_timestamp = 0;
  int64_t max_timestamp = 0;
  int compression = 0;
  uint32_t crc = 0;
  bool crc_ok = true;
  std::string crc_error;  // when !crc_ok
};

struct LogScan {
  std::vector<ScannedBatch> batches;
  size_t data_end = 0;      // position after the last batch read
  size_t file_size = 0;
  // Why the scan stopped before the end of the data; empty when it ended
  // cleanly (end of file, or zero bytes where the next header would start).
  std::string stop_reason;
  size_t stop_position = 0;
};

// Walks the batches of a .log image. A batch whose CRC alone is wrong is kept
// (crc_ok false) and the walk goes on, so one scan reports every damaged
// batch; any other damage ends the walk.
LogScan ScanLog(const std::vector<uint8_t>& bytes);

using sentry::IndexSlot;
// Slots of a .index image (a trailing partial slot is ignored).
std::vector<IndexSlot> ReadIndexSlots(const std::vector<uint8_t>& bytes);
// Number of slots before the all-zero tail (slot 0 counts when any later one is set).
size_t UsedIndexSlots(const std::vector<IndexSlot>& slots);

using TimeIndexEntry = sentry::TimeIndexSlot;
std::vector<TimeIndexEntry> ReadTimeIndex(const std::vector<uint8_t>& bytes);
size_t UsedTimeIndexEntries(const std::vector<TimeIndexEntry>& entries);

}  // namespace sentry::ctl
