#include "storage/record_batch.h"

#include <gtest/gtest.h>

#include "common/crc32c.h"
#include "common/endian.h"
#include "storage/record_batch_builder.h"
#include "test_util.h"

namespace sentry {
namespace {

using namespace batch_layout;
using testing::MakeBatch;

// Rewrites the CRC after a deliberate header change, so only the intended
// check fails.
void FixCrc(std::vector<uint8_t>* b) {
  PutU32(b->data() + kCrc, Crc32c(b->data() + kCrcStart, b->size() - kCrcStart));
}

Status ParseAll(const std::vector<uint8_t>& b) {
  RecordBatchView v;
  return RecordBatchView::Parse(b.data(), b.size(), &v);
}

TEST(RecordBatchTest, BuiltBatchParsesWithExpectedFields) {
  RecordBatchBuilder builder(5000);
  builder.Add("k1", "hello", 5000);
  builder.Add(std::nullopt, "world", 5007);
  builder.Add("k3", std::nullopt, 5003);
  auto b = builder.Build(42);
  RecordBatchView v;
  ASSERT_TRUE(RecordBatchView::Parse(b.data(), b.size(), &v).ok());
  EXPECT_EQ(v.base_offset(), 42);
  EXPECT_EQ(v.records_count(), 3);
  EXPECT_EQ(v.last_offset_delta(), 2);
  EXPECT_EQ(v.last_offset(), 44);
  EXPECT_EQ(v.base_timestamp(), 5000);
  EXPECT_EQ(v.max_timestamp(), 5007);
  EXPECT_EQ(v.TotalSize(), b.size());
  EXPECT_EQ(v.compression(), 0);
}

TEST(RecordBatchTest, RecordsDecodeBackToWhatWasAdded) {
  RecordBatchBuilder builder(100);
  builder.Add("key", "value", 100, {{"h", "hv"}});
  builder.Add(std::nullopt, std::nullopt, 150);
  auto b = builder.Build(7);
  std::vector<DecodedRecord> recs;
  ASSERT_TRUE(DecodeRecords(b.data(), b.size(), &recs).ok());
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].offset, 7);
  EXPECT_EQ(*recs[0].key, "key");
  EXPECT_EQ(*recs[0].value, "value");
  ASSERT_EQ(recs[0].headers.size(), 1u);
  EXPECT_EQ(recs[0].headers[0].first, "h");
  EXPECT_EQ(recs[1].offset, 8);
  EXPECT_EQ(recs[1].timestamp, 150);
  EXPECT_FALSE(recs[1].key.has_value());
  EXPECT_FALSE(recs[1].value.has_value());
}

TEST(RecordBatchTest, FirstRecordKeyReadsOnlyUpToTheKey) {
  RecordBatchBuilder b(1000);
  b.Add("user-42", "v", 1000);
  b.Add("other", "w", 1000);
  auto batch = b.Build();
  auto key = FirstRecordKey(batch.data(), batch.size());
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(*key, "user-42");
  // Garbage after the key (the value's length varint made invalid) does not
  // change the key the partitioner hashes.
  const size_t after_key = batch_layout::kHeaderSize + 1 + 1 + 1 + 1 + 1 + 7;
  ASSERT_EQ(batch[after_key - 7], 'u');
  batch[after_key] = 0xFF;
  key = FirstRecordKey(batch.data(), batch.size());
  ASSERT_TRUE(key.has_value());
  EXPECT_EQ(*key, "user-42");
  RecordBatchBuilder n(1000);
  n.Add(std::nullopt, "v", 1000);
  auto null_key = n.Build();
  EXPECT_FALSE(FirstRecordKey(null_key.data(), null_key.size()).has_value());
}

TEST(RecordBatchTest, BaseOffsetPatchKeepsCrcValid) {
  auto b = MakeBatch(3);
  RecordBatchView::SetBaseOffset(b.data(), 123456789);
  RecordBatchView v;
  ASSERT_TRUE(RecordBatchView::Parse(b.data(), b.size(), &v).ok());
  EXPECT_EQ(v.base_offset(), 123456789);
}

TEST(RecordBatchTest, WrongMagicIsCorrupt) {
  auto b = MakeBatch(2);
  b[kMagic] = 1;
  EXPECT_TRUE(ParseAll(b).IsCorruption());
}

TEST(RecordBatchTest, ChecksumMismatchIsCorrupt) {
  auto b = MakeBatch(2);
  b.back() ^= 0x40;
  Status s = ParseAll(b);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("crc"), std::string::npos);
}

TEST(RecordBatchTest, BatchLengthPastBytesPresentIsCorrupt) {
  auto b = MakeBatch(2);
  b.pop_back();
  EXPECT_TRUE(ParseAll(b).IsCorruption());
}

TEST(RecordBatchTest, BatchLengthBelowHeaderIsCorrupt) {
  auto b = MakeBatch(2);
  PutI32(b.data() + kBatchLength, 10);
  EXPECT_TRUE(ParseAll(b).IsCorruption());
  PutI32(b.data() + kBatchLength, -5);
  EXPECT_TRUE(ParseAll(b).IsCorruption());
}

TEST(RecordBatchTest, ShortHeaderIsCorrupt) {
  auto b = MakeBatch(1);
  b.resize(kHeaderSize - 1);
  EXPECT_TRUE(ParseAll(b).IsCorruption());
}

TEST(RecordBatchTest, ZeroRecordsCountIsCorrupt) {
  auto b = MakeBatch(1);
  PutI32(b.data() + kRecordsCount, 0);
  PutI32(b.data() + kLastOffsetDelta, -1);
  FixCrc(&b);
  EXPECT_TRUE(ParseAll(b).IsCorruption());
}

TEST(RecordBatchTest, LastOffsetDeltaBelowRecordsIsCorrupt) {
  auto b = MakeBatch(3);
  PutI32(b.data() + kLastOffsetDelta, 1);
  FixCrc(&b);
  Status s = ParseAll(b);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("last_offset_delta"), std::string::npos);
}

// A cleaned batch keeps its offset range with fewer records: the log accepts
// it, a produce does not.
TEST(RecordBatchTest, SparseBatchParsesButIsNotProducible) {
  auto b = MakeBatch(3);
  PutI32(b.data() + kLastOffsetDelta, 5);
  FixCrc(&b);
  RecordBatchView v;
  ASSERT_TRUE(RecordBatchView::Parse(b.data(), b.size(), &v).ok());
  EXPECT_EQ(v.last_offset(), v.base_offset() + 5);
  BatchSetSummary sum;
  Status s = ValidateBatches(b, &sum);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("last_offset_delta"), std::string::npos);
}

TEST(RecordBatchTest, UnknownCompressionIsCorrupt) {
  auto b = MakeBatch(1);
  PutI16(b.data() + kAttributes, 5);
  FixCrc(&b);
  EXPECT_TRUE(ParseAll(b).IsCorruption());
  PutI16(b.data() + kAttributes, 4);  // zstd is a known type: header accepted
  FixCrc(&b);
  EXPECT_TRUE(ParseAll(b).ok());
}

TEST(RecordBatchTest, ValidateBatchesSumsConcatenatedBatches) {
  auto a = MakeBatch(3, 16, 100);
  auto b = MakeBatch(5, 16, 300);
  a.insert(a.end(), b.begin(), b.end());
  BatchSetSummary sum;
  ASSERT_TRUE(ValidateBatches(a, &sum).ok());
  EXPECT_EQ(sum.batch_count, 2);
  EXPECT_EQ(sum.record_count, 8);
  EXPECT_EQ(sum.max_timestamp, 300);
}

TEST(RecordBatchTest, ValidateBatchesRejectsTrailingPartialBatch) {
  auto a = MakeBatch(3);
  a.push_back(0);
  a.push_back(1);
  BatchSetSummary sum;
  Status s = ValidateBatches(a, &sum);
  EXPECT_TRUE(s.IsCorruption());
  EXPECT_NE(s.message().find("batch 1"), std::string::npos);
}

TEST(RecordBatchTest, ValidateBatchesRejectsEmptyInput) {
  BatchSetSummary sum;
  EXPECT_TRUE(ValidateBatches({}, &sum).IsCorruption());
}

TEST(RecordBatchTest, DecodeRejectsCompressedBatch) {
  auto b = MakeBatch(1);
  PutI16(b.data() + kAttributes, 1);
  FixCrc(&b);
  std::vector<DecodedRecord> recs;
  EXPECT_EQ(DecodeRecords(b.data(), b.size(), &recs).code(), Status::Code::kNotSupported);
}

}  // namespace
}  // namespace sentry
