#include "storage/record_batch.h"

#include <fmt/format.h>

#include "common/crc32c.h"

namespace sentry {

using namespace batch_layout;

size_t RecordBatchView::PeekTotalSize(const uint8_t* data, size_t size) {
  if (size < kLogOverhead) return 0;
  int32_t len = GetI32(data + kBatchLength);
  if (len <= 0) return 0;
  return kLogOverhead + static_cast<size_t>(len);
}

Status RecordBatchView::Parse(const uint8_t* data, size_t size, RecordBatchView* out,
                              bool verify_crc) {
  if (size < kHeaderSize) {
    return Status::Corruption(fmt::format("batch header needs {} bytes, {} present",
                                          kHeaderSize, size));
  }
  int32_t len = GetI32(data + kBatchLength);
  if (len < static_cast<int32_t>(kHeaderSize - kLogOverhead)) {
    return Status::Corruption(fmt::format("batch_length {} is below the header size", len));
  }
  size_t total = kLogOverhead + static_cast<size_t>(len);
  if (total > size) {
    return Status::Corruption(
        fmt::format("batch_length {} runs past the {} bytes present", len, size));
  }
  int8_t magic = static_cast<int8_t>(data[kMagic]);
  if (magic != kMagicV2) return Status::Corruption(fmt::format("magic {} is not 2", magic));
  int32_t count = GetI32(data + kRecordsCount);
  if (count < 1) return Status::Corruption(fmt::format("records_count {} < 1", count));
  int32_t lod = GetI32(data + kLastOffsetDelta);
  if (lod < count - 1) {
    return Status::Corruption(
        fmt::format("last_offset_delta {} < records_count - 1 ({})", lod, count - 1));
  }
  int compression = GetI16(data + kAttributes) & kCompressionMask;
  if (compression > 4) {
    return Status::Corruption(fmt::format("compression type {} is not 0-4", compression));
  }
  if (verify_crc) {
    uint32_t want = GetU32(data + kCrc);
    uint32_t got = Crc32c(data + kCrcStart, total - kCrcStart);
    if (want != got) {
      return Status::Corruption(fmt::format("crc mismatch: stored {:#010x}, computed {:#010x}",
                                            want, got));
    }
  }
  *out = RecordBatchView(data);
  return Status::OK();
}

void RecordBatchView::StampLogAppendTime(uint8_t* batch, int64_t now) {
  using namespace batch_layout;
  const int16_t attributes = GetI16(batch + kAttributes);
  PutI16(batch + kAttributes, static_cast<int16_t>(attributes | kTimestampTypeBit));
  PutI64(batch + kMaxTimestamp, now);
  const size_t total = RecordBatchView(batch).TotalSize();
  PutU32(batch + kCrc, Crc32c(batch + kCrcStart, total - kCrcStart));
}

Status ValidateBatches(std::span<const uint8_t> bytes, BatchSetSummary* summary,
                       bool compacted) {
  *summary = BatchSetSummary{};
  if (bytes.empty()) return Status::Corruption("no record batch present");
  size_t pos = 0;
  while (pos < bytes.size()) {
    RecordBatchView view;
    Status s = RecordBatchView::Parse(bytes.data() + pos, bytes.size() - pos, &view);
    if (!s.ok()) {
      return Status::Corruption(fmt::format("batch {} at byte {}: {}", summary->batch_count,
                                            pos, s.message()));
    }
    // A produced batch numbers its records densely; only the log cleaner
    // leaves fewer records than offsets (Parse accepts that on disk).
    const bool dense = view.last_offset_delta() == view.records_count() - 1;
    const bool sparse_ok = compacted && view.records_count() >= 0 &&
                           view.last_offset_delta() >= view.records_count() - 1;
    if (!dense && !sparse_ok) {
      return Status::Corruption(fmt::format("batch {} at byte {}: last_offset_delta {} != "
                                            "records_count - 1 ({})",
                                            summary->batch_count, pos, view.last_offset_delta(),
                                            view.records_count() - 1));
    }
    size_t total = view.TotalSize();
    summary->batch_count++;
    summary->record_count += int64_t{view.last_offset_delta()} + 1;
    if (view.max_timestamp() > summary->max_timestamp) {
      summary->max_timestamp = view.max_timestamp();
    }
    if (total > summary->largest_batch) summary->largest_batch = total;
    if (view.producer_id() >= 0) summary->has_producer_ids = true;
    pos += total;
  }
  return Status::OK();
}

}  // namespace sentry
