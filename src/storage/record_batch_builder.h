// Builds uncompressed RecordBatch v2 bytes (see record_batch.h for the layout).
// For clients, tests and benchmarks. Not thread-safe; one builder per thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "storage/record_batch.h"

namespace sentry {

struct RecordHeader {
  std::string_view key;
  std::optional<std::string_view> value;
};

class RecordBatchBuilder {
 public:
  explicit RecordBatchBuilder(int64_t base_timestamp = -1) : base_timestamp_(base_timestamp) {}

  // Adds one record. A null key/value is std::nullopt. timestamp_ms -1 means
  // "now" taken once per batch (base timestamp).
  void Add(std::optional<std::string_view> key, std::optional<std::string_view> value,
           int64_t timestamp_ms = -1, const std::vector<RecordHeader>& headers = {});

  // Marks the batches built from now on as an idempotent producer's
  // (producer id -1, the default, means none).
  void SetProducer(int64_t producer_id, int16_t epoch, int32_t base_sequence) {
    producer_id_ = producer_id;
    producer_epoch_ = epoch;
    base_sequence_ = base_sequence;
  }

  int32_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  // Bytes the finished batch will take.
  size_t EstimatedSize() const;

  // Finishes the batch (CRC computed) and resets the builder.
  std::vector<uint8_t> Build(int64_t base_offset = 0);
  // Same, appending to `out` (several batches can be concatenated).
  void BuildInto(std::vector<uint8_t>* out, int64_t base_offset = 0);

 private:
  int64_t base_timestamp_;
  int64_t first_timestamp_ = -1;
  int64_t max_timestamp_ = -1;
  int32_t count_ = 0;
  int64_t producer_id_ = -1;
  int16_t producer_epoch_ = -1;
  int32_t base_sequence_ = -1;
  std::vector<uint8_t> records_;
  std::vector<uint8_t> scratch_;
};

// One decoded record of an uncompressed batch; views point into the batch.
struct DecodedRecord {
  int64_t offset = 0;
  int64_t timestamp = 0;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  std::vector<std::pair<std::string_view, std::optional<std::string_view>>> headers;
  // The record's bytes as stored (its length varint first): the cleaner
  // copies survivors verbatim.
  std::span<const uint8_t> raw;
};

// Decodes every record of a validated, uncompressed batch. Corruption when a
// record is malformed; NotSupported for compressed batches.
Status DecodeRecords(const uint8_t* batch, size_t size, std::vector<DecodedRecord>* out);
// Decodes the records of `view` from `body`: the batch's records section, or
// for a compressed batch its decompressed bytes (storage/decompress.h).
Status DecodeRecordsBody(const RecordBatchView& view, std::span<const uint8_t> body,
                         std::vector<DecodedRecord>* out);
// The key of the first record of a validated batch, read up to the key only;
// nullopt when it has none, or the batch is compressed (its records cannot be
// read cheaply).
std::optional<std::string_view> FirstRecordKey(const uint8_t* batch, size_t size);

}  // namespace sentry
