#include "storage/record_batch_builder.h"

#include <fmt/format.h>

#include <chrono>

#include "common/clock.h"
#include "common/crc32c.h"
#include "common/endian.h"
#include "storage/record_batch.h"
#include "storage/varint.h"

namespace sentry {

using namespace batch_layout;

namespace {
void AppendBytesField(std::vector<uint8_t>* out, std::optional<std::string_view> v) {
  if (!v) {
    AppendVarint(out, -1);
    return;
  }
  AppendVarint(out, static_cast<int32_t>(v->size()));
  out->insert(out->end(), v->begin(), v->end());
}
}  // namespace

void RecordBatchBuilder::Add(std::optional<std::string_view> key,
                             std::optional<std::string_view> value, int64_t timestamp_ms,
                             const std::vector<RecordHeader>& headers) {
  if (count_ == 0) {
    first_timestamp_ = base_timestamp_ >= 0 ? base_timestamp_ : WallMillis();
  }
  int64_t ts = timestamp_ms >= 0 ? timestamp_ms : first_timestamp_;
  if (ts > max_timestamp_) max_timestamp_ = ts;
  scratch_.clear();
  scratch_.push_back(0);  // attributes
  AppendVarlong(&scratch_, ts - first_timestamp_);
  AppendVarint(&scratch_, count_);
  AppendBytesField(&scratch_, key);
  AppendBytesField(&scratch_, value);
  AppendVarint(&scratch_, static_cast<int32_t>(headers.size()));
  for (const auto& h : headers) {
    AppendBytesField(&scratch_, h.key);
    AppendBytesField(&scratch_, h.value);
  }
  AppendVarint(&records_, static_cast<int32_t>(scratch_.size()));
  records_.insert(records_.end(), scratch_.begin(), scratch_.end());
  count_++;
}

size_t RecordBatchBuilder::EstimatedSize() const { return kHeaderSize + records_.size(); }

std::vector<uint8_t> RecordBatchBuilder::Build(int64_t base_offset) {
  std::vector<uint8_t> out;
  BuildInto(&out, base_offset);
  return out;
}

void RecordBatchBuilder::BuildInto(std::vector<uint8_t>* out, int64_t base_offset) {
  size_t start = out->size();
  out->resize(start + kHeaderSize);
  out->insert(out->end(), records_.begin(), records_.end());
  uint8_t* b = out->data() + start;
  size_t total = kHeaderSize + records_.size();
  PutI64(b + kBaseOffset, base_offset);
  PutI32(b + kBatchLength, static_cast<int32_t>(total - kLogOverhead));
  PutI32(b + kLeaderEpoch, 0);
  b[kMagic] = kMagicV2;
  PutI16(b + kAttributes, 0);
  PutI32(b + kLastOffsetDelta, count_ - 1);
  PutI64(b + kBaseTimestamp, first_timestamp_);
  PutI64(b + kMaxTimestamp, max_timestamp_);
  PutI64(b + kProducerId, producer_id_);
  PutI16(b + kProducerEpoch, producer_epoch_);
  PutI32(b + kBaseSequence, base_sequence_);
  PutI32(b + kRecordsCount, count_);
  PutU32(b + kCrc, Crc32c(b + kCrcStart, total - kCrcStart));
  records_.clear();
  count_ = 0;
  max_timestamp_ = -1;
  first_timestamp_ = -1;
}

namespace {
bool ReadBytesField(const uint8_t** p, const uint8_t* end,
                    std::optional<std::string_view>* out) {
  int64_t len;
  if (!ReadVarlong(p, end, &len)) return false;
  if (len < 0) {
    *out = std::nullopt;
    return len == -1;
  }
  if (len > end - *p) return false;
  *out = std::string_view(reinterpret_cast<const char*>(*p), static_cast<size_t>(len));
  *p += len;
  return true;
}

// A record's fields up to and including its key.
struct RecordHead {
  const uint8_t* end = nullptr;  // end of the record
  int64_t ts_delta = 0;
  int64_t off_delta = 0;
  std::optional<std::string_view> key;
};

// Reads record `i` at *p (its length varint first) up to its key; *p ends
// just after the key. The partitioner needs no more than this.
Status ReadRecordHead(const uint8_t** p, const uint8_t* end, int32_t i, RecordHead* h) {
  int64_t len;
  if (!ReadVarlong(p, end, &len) || len < 1 || len > end - *p) {
    return Status::Corruption(fmt::format("record {}: bad length", i));
  }
  h->end = *p + len;
  (*p)++;  // attributes
  if (!ReadVarlong(p, h->end, &h->ts_delta) || !ReadVarlong(p, h->end, &h->off_delta) ||
      !ReadBytesField(p, h->end, &h->key)) {
    return Status::Corruption(fmt::format("record {}: malformed field", i));
  }
  return Status::OK();
}

// One whole record at *p, fields relative to `view`.
Status ReadRecord(const RecordBatchView& view, const uint8_t** p, const uint8_t* end, int32_t i,
                  DecodedRecord* r) {
  const uint8_t* begin = *p;
  RecordHead head;
  SENTRY_RETURN_IF_ERROR(ReadRecordHead(p, end, i, &head));
  const uint8_t* rend = head.end;
  r->key = head.key;
  int64_t nh;
  if (!ReadBytesField(p, rend, &r->value) || !ReadVarlong(p, rend, &nh) || nh < 0) {
    return Status::Corruption(fmt::format("record {}: malformed field", i));
  }
  for (int64_t h = 0; h < nh; h++) {
    std::optional<std::string_view> hk, hv;
    if (!ReadBytesField(p, rend, &hk) || !ReadBytesField(p, rend, &hv) || !hk) {
      return Status::Corruption(fmt::format("record {}: malformed header", i));
    }
    r->headers.emplace_back(*hk, hv);
  }
  if (*p != rend) return Status::Corruption(fmt::format("record {}: trailing bytes", i));
  r->offset = view.base_offset() + head.off_delta;
  r->timestamp = view.base_timestamp() + head.ts_delta;
  r->raw = {begin, static_cast<size_t>(rend - begin)};
  return Status::OK();
}

Status OpenUncompressed(const uint8_t* batch, size_t size, RecordBatchView* view) {
  SENTRY_RETURN_IF_ERROR(RecordBatchView::Parse(batch, size, view, /*verify_crc=*/false));
  if (view->compression() != 0) {
    return Status::NotSupported(
        fmt::format("compression type {} is not decoded here", view->compression()));
  }
  return Status::OK();
}
}  // namespace

Status DecodeRecords(const uint8_t* batch, size_t size, std::vector<DecodedRecord>* out) {
  RecordBatchView view;
  SENTRY_RETURN_IF_ERROR(OpenUncompressed(batch, size, &view));
  return DecodeRecordsBody(view, {batch + kHeaderSize, view.TotalSize() - kHeaderSize}, out);
}

Status DecodeRecordsBody(const RecordBatchView& view, std::span<const uint8_t> body,
                         std::vector<DecodedRecord>* out) {
  const uint8_t* p = body.data();
  const uint8_t* end = body.data() + body.size();
  for (int32_t i = 0; i < view.records_count(); i++) {
    DecodedRecord r;
    SENTRY_RETURN_IF_ERROR(ReadRecord(view, &p, end, i, &r));
    out->push_back(std::move(r));
  }
  if (p != end) return Status::Corruption("bytes left after the last record");
  return Status::OK();
}

std::optional<std::string_view> FirstRecordKey(const uint8_t* batch, size_t size) {
  // Reads only up to the key: the partitioner must not depend on the fields
  // after it (a record is fully checked by whoever decodes it).
  RecordBatchView view;
  if (!OpenUncompressed(batch, size, &view).ok() || view.records_count() < 1) return std::nullopt;
  const uint8_t* p = batch + kHeaderSize;
  RecordHead head;
  if (!ReadRecordHead(&p, batch + view.TotalSize(), 0, &head).ok()) return std::nullopt;
  return head.key;
}

}  // namespace sentry
