// BatchWalker: the one read-only walk over the record batches of a .log
// image, used by the segment (recovery scans, lazy verification, index
// rebuilds) and by the offline tools (sentryctl dump/verify).
//
// A walk stops at the end of the data, at zeros where the next header would
// start (preallocated space: a clean end, unless non-zero bytes follow), or at
// the first batch that fails its checks (header, CRC, offset continuity).
// The walker never writes; it reports what it found (a stop reason and a CRC
// error are formatted strings, made only when a walk meets damage).
//
// Any thread; the caller keeps the bytes alive and unchanged during the walk.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "storage/record_batch.h"

namespace sentry {

struct WalkOptions {
  bool verify_crc = true;
  // The base offset the first batch must have; each later batch must
  // continue the previous one. nullopt: offsets are not checked.
  std::optional<int64_t> expect_offset;
  // With expect_offset: a batch may start above the expected offset (a
  // compacted log, whose cleaner removed whole batches), never below it.
  bool allow_gaps = false;
  // A batch whose CRC alone is wrong is returned (crc_ok = false) and the
  // walk goes on, so one pass reports every damaged batch (offline tools).
  bool continue_past_crc = false;
  // Zeros where a header would start end the log. False for a range known to
  // hold only batches (bytes below a published size).
  bool zeros_end_log = true;
};

struct WalkedBatch {
  size_t position = 0;
  RecordBatchView view;
  bool crc_ok = true;
  std::string crc_error;  // when !crc_ok
};

class BatchWalker {
 public:
  // Walks bytes [from, data.size()).
  BatchWalker(std::span<const uint8_t> data, size_t from, WalkOptions opt);

  // The next batch; false when the walk ended (see clean_end()).
  bool Next(WalkedBatch* out);

  // After Next() returned false: true for end of data or zeros to the end.
  bool clean_end() const { return clean_; }
  // Why the walk stopped when !clean_end().
  const std::string& reason() const { return reason_; }
  // End of the last batch returned (where a stop happened).
  size_t position() const { return pos_; }
  // Offset after the last batch returned (expect_offset set), else -1.
  int64_t next_offset() const { return next_offset_; }

 private:
  bool Stop(std::string reason);

  std::span<const uint8_t> data_;
  size_t pos_;
  WalkOptions opt_;
  int64_t next_offset_;
  bool done_ = false;
  bool clean_ = true;
  std::string reason_;
};

// True when every byte of [p, p + n) is zero.
bool AllZero(const uint8_t* p, size_t n);

}  // namespace sentry
