// RecordBatch v2 (Apache Kafka's magic-2 batch): the unit on the wire and on disk.
//
//  offset size field                   notes
//  0      8    base_offset     i64     not covered by the CRC: the broker patches it
//  8      4    batch_length    i32     bytes after this field (total = 12 + batch_length)
//  12     4    partition_leader_epoch i32 not covered by the CRC either: the
//                                      leader stamps its epoch (PartitionLog::Append)
//  16     1    magic           i8      must be 2
//  17     4    crc             u32     CRC-32C of bytes [21, end)
//  21     2    attributes      i16     bits 0-2 compression, bit 3 timestamp type,
//                                      bit 4 transactional, bit 5 control
//  23     4    last_offset_delta i32   records_count - 1 as produced; more after
//                                      the log cleaner removed records (gaps)
//  27     8    base_timestamp  i64
//  35     8    max_timestamp   i64
//  43     8    producer_id     i64
//  51     2    producer_epoch  i16
//  53     4    base_sequence   i32
//  57     4    records_count   i32
//  61     ...  records
//
// All integers big-endian. A view never owns its bytes. Any thread; the
// caller keeps the bytes alive and unchanged while the view is used (except
// SetBaseOffset / SetPartitionLeaderEpoch, which only the partition's writer
// calls).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/endian.h"
#include "common/status.h"

namespace sentry {

namespace batch_layout {
constexpr size_t kBaseOffset = 0;
constexpr size_t kBatchLength = 8;
constexpr size_t kLeaderEpoch = 12;
constexpr size_t kMagic = 16;
constexpr size_t kCrc = 17;
constexpr size_t kAttributes = 21;
constexpr size_t kLastOffsetDelta = 23;
constexpr size_t kBaseTimestamp = 27;
constexpr size_t kMaxTimestamp = 35;
constexpr size_t kProducerId = 43;
constexpr size_t kProducerEpoch = 51;
constexpr size_t kBaseSequence = 53;
constexpr size_t kRecordsCount = 57;
constexpr size_t kHeaderSize = 61;       // first record starts here
constexpr size_t kLogOverhead = 12;      // base_offset + batch_length
constexpr size_t kCrcStart = kAttributes;
constexpr int8_t kMagicV2 = 2;
constexpr int16_t kCompressionMask = 0x07;
constexpr int16_t kTimestampTypeBit = 0x08;
constexpr int16_t kTransactionalBit = 0x10;
constexpr int16_t kControlBit = 0x20;
static_assert(kRecordsCount + 4 == kHeaderSize);
static_assert(kCrc + 4 == kCrcStart);
}  // namespace batch_layout

class RecordBatchView {
 public:
  // Checks exactly what docs/protocol.md lists: enough bytes for the header,
  // batch_length matching the bytes available (`size` must be at least the
  // batch; extra bytes after it belong to the next batch), magic 2, CRC-32C,
  // records_count >= 1, last_offset_delta >= records_count - 1 (more after
  // compaction removed records), compression 0-4. ValidateBatches (produce)
  // also requires last_offset_delta == records_count - 1.
  // On success `*out` views the batch and its size is TotalSize().
  static Status Parse(const uint8_t* data, size_t size, RecordBatchView* out,
                      bool verify_crc = true);

  // Header-only size probe: returns total batch bytes, or 0 when fewer than 12
  // bytes are present or batch_length is not positive.
  static size_t PeekTotalSize(const uint8_t* data, size_t size);

  RecordBatchView() = default;
  explicit RecordBatchView(const uint8_t* data) : data_(data) {}

  const uint8_t* data() const { return data_; }
  size_t TotalSize() const {
    return batch_layout::kLogOverhead +
           static_cast<uint32_t>(GetI32(data_ + batch_layout::kBatchLength));
  }
  int64_t base_offset() const { return GetI64(data_ + batch_layout::kBaseOffset); }
  int32_t last_offset_delta() const { return GetI32(data_ + batch_layout::kLastOffsetDelta); }
  int64_t last_offset() const { return base_offset() + last_offset_delta(); }
  int32_t partition_leader_epoch() const { return GetI32(data_ + batch_layout::kLeaderEpoch); }
  int64_t base_timestamp() const { return GetI64(data_ + batch_layout::kBaseTimestamp); }
  int64_t max_timestamp() const { return GetI64(data_ + batch_layout::kMaxTimestamp); }
  int32_t records_count() const { return GetI32(data_ + batch_layout::kRecordsCount); }
  int16_t attributes() const { return GetI16(data_ + batch_layout::kAttributes); }
  int compression() const { return attributes() & batch_layout::kCompressionMask; }
  bool log_append_time() const { return attributes() & batch_layout::kTimestampTypeBit; }
  uint32_t crc() const { return GetU32(data_ + batch_layout::kCrc); }
  int64_t producer_id() const { return GetI64(data_ + batch_layout::kProducerId); }
  int16_t producer_epoch() const { return GetI16(data_ + batch_layout::kProducerEpoch); }
  int32_t base_sequence() const { return GetI32(data_ + batch_layout::kBaseSequence); }
  bool is_transactional() const { return attributes() & batch_layout::kTransactionalBit; }
  bool is_control() const { return attributes() & batch_layout::kControlBit; }

  // Marks the batch LogAppendTime with the broker's `now` as its
  // max_timestamp, and recomputes the CRC (which covers both), as Kafka.
  static void StampLogAppendTime(uint8_t* batch, int64_t now);

  // Overwrites base_offset in place; the CRC does not cover it.
  static void SetBaseOffset(uint8_t* batch, int64_t base_offset) {
    PutI64(batch + batch_layout::kBaseOffset, base_offset);
  }
  // Overwrites partition_leader_epoch in place; the CRC does not cover it.
  static void SetPartitionLeaderEpoch(uint8_t* batch, int32_t epoch) {
    PutI32(batch + batch_layout::kLeaderEpoch, epoch);
  }

 private:
  const uint8_t* data_ = nullptr;
};

// Walks a buffer of concatenated batches, validating each.
// Returns the number of batches and fills totals; any invalid batch (or
// trailing bytes that are not a whole batch) is an error naming its position.
// A produced batch numbers its records densely (last_offset_delta =
// records_count - 1). `compacted`: batches a leader's log cleaner left are
// taken too, with fewer records than the offsets they span (a follower of a
// compacted topic fetches them).
struct BatchSetSummary {
  int32_t batch_count = 0;
  // Offsets the batches span (sum of last_offset_delta + 1): the records,
  // except in compacted batches, which hold fewer.
  int64_t record_count = 0;
  int64_t max_timestamp = -1;
  size_t largest_batch = 0;
  bool has_producer_ids = false;  // some batch carries a producer id (idempotent)
};
Status ValidateBatches(std::span<const uint8_t> bytes, BatchSetSummary* summary,
                       bool compacted = false);

}  // namespace sentry
