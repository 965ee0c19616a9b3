// Unit tests of the producer's partitioning and batching (no broker).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "client/partitioner.h"
#include "client/record_accumulator.h"
#include "common/murmur2.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

namespace sentry::client {
namespace {

std::vector<DecodedRecord> Decode(const ProducerBatch& b) {
  std::vector<DecodedRecord> out;
  RecordBatchView v;
  EXPECT_TRUE(RecordBatchView::Parse(b.bytes.data(), b.bytes.size(), &v).ok());
  EXPECT_TRUE(DecodeRecords(b.bytes.data(), b.bytes.size(), &out).ok());
  return out;
}

TEST(PartitionerTest, KeyedRecordsUseKafkaMurmur2) {
  Partitioner p(7);
  for (std::string key : {"a", "order-17", "", "customer/42", "\xff\xfe"}) {
    const int32_t want = static_cast<int32_t>(
        (Murmur2(reinterpret_cast<const uint8_t*>(key.data()), key.size()) & 0x7fffffff) % 7);
    EXPECT_EQ(p.Partition(key), want) << key;
    EXPECT_EQ(p.Partition(key), want) << "same key, same partition";
  }
}

TEST(PartitionerTest, NullKeysGoRoundRobin) {
  Partitioner p(3);
  std::vector<int32_t> got;
  for (int i = 0; i < 7; i++) got.push_back(p.Partition(std::nullopt));
  EXPECT_EQ(got, (std::vector<int32_t>{0, 1, 2, 0, 1, 2, 0}));
}

TEST(RecordAccumulatorTest, BatchClosesBeforeExceedingBatchSize) {
  RecordAccumulator acc(1, /*batch_size=*/1000, /*linger_ms=*/1000000);
  const std::string value(100, 'v');
  for (int i = 0; i < 30; i++) acc.Append(0, std::nullopt, value, -1, 0);
  auto& ready = acc.ready(0);
  ASSERT_GE(ready.size(), 2u);
  int total = 0;
  for (auto& b : ready) {
    EXPECT_LE(b.bytes.size(), 1000u);
    total += b.records;
  }
  acc.CloseExpired(0, /*flush=*/true);
  total = 0;
  for (auto& b : ready) total += b.records;
  EXPECT_EQ(total, 30);
}

TEST(RecordAccumulatorTest, OversizedRecordGetsItsOwnBatch) {
  RecordAccumulator acc(1, 100, 1000000);
  acc.Append(0, std::nullopt, "small", -1, 0);
  acc.Append(0, std::nullopt, std::string(500, 'x'), -1, 0);
  acc.Append(0, std::nullopt, "after", -1, 0);
  acc.CloseExpired(0, true);
  auto& ready = acc.ready(0);
  ASSERT_EQ(ready.size(), 3u);
  EXPECT_EQ(Decode(ready[0])[0].value, "small");
  EXPECT_EQ(Decode(ready[1])[0].value->size(), 500u);
  EXPECT_EQ(Decode(ready[2])[0].value, "after");
}

TEST(RecordAccumulatorTest, LingerClosesOnlyExpiredBatches) {
  RecordAccumulator acc(2, 1 << 20, /*linger_ms=*/10);
  acc.Append(0, std::nullopt, "p0", -1, /*now_ms=*/100);
  acc.Append(1, std::nullopt, "p1", -1, /*now_ms=*/105);
  EXPECT_EQ(acc.NextLingerDeadline(), 110);
  acc.CloseExpired(109, false);
  EXPECT_TRUE(acc.ready(0).empty());
  acc.CloseExpired(110, false);
  EXPECT_EQ(acc.ready(0).size(), 1u);
  EXPECT_TRUE(acc.ready(1).empty());
  EXPECT_EQ(acc.NextLingerDeadline(), 115);
  acc.CloseExpired(115, false);
  EXPECT_EQ(acc.ready(1).size(), 1u);
  EXPECT_EQ(acc.NextLingerDeadline(), INT64_MAX);
}

TEST(RecordAccumulatorTest, BatchesAreValidRecordBatchesWithKeysAndOrder) {
  RecordAccumulator acc(1, 1 << 20, 0);
  for (int i = 0; i < 5; i++) {
    std::string k = "k" + std::to_string(i), v = "v" + std::to_string(i);
    acc.Append(0, i == 2 ? std::nullopt : std::optional<std::string_view>(k), v, 1700000000000 + i,
               0);
  }
  acc.CloseExpired(0, false);
  ASSERT_EQ(acc.ready(0).size(), 1u);
  auto recs = Decode(acc.ready(0)[0]);
  ASSERT_EQ(recs.size(), 5u);
  for (int i = 0; i < 5; i++) {
    EXPECT_EQ(recs[i].offset, i);
    EXPECT_EQ(recs[i].value, "v" + std::to_string(i));
    EXPECT_EQ(recs[i].timestamp, 1700000000000 + i);
  }
  EXPECT_FALSE(recs[2].key.has_value());
  EXPECT_EQ(recs[3].key, "k3");
}

TEST(RecordAccumulatorTest, RequeuedBatchesGoBackInFrontInOrder) {
  RecordAccumulator acc(1, 1, 1000);  // every record closes its batch
  for (const char* v : {"a", "b", "c", "d"}) acc.Append(0, std::nullopt, v, -1, 0);
  auto& q = acc.ready(0);
  ASSERT_EQ(q.size(), 4u);
  std::vector<ProducerBatch> sent;
  sent.push_back(std::move(q[0]));
  sent.push_back(std::move(q[1]));
  q.pop_front();
  q.pop_front();
  acc.Requeue(0, std::move(sent));
  std::string order;
  for (auto& b : q) order += *Decode(b)[0].value;
  EXPECT_EQ(order, "abcd");
}

TEST(RecordAccumulatorTest, BufferedBytesTracksClosedAndReleasedBatches) {
  RecordAccumulator acc(1, 1 << 20, 0);
  EXPECT_EQ(acc.buffered_bytes(), 0u);
  acc.Append(0, std::nullopt, std::string(1000, 'x'), -1, 0);
  EXPECT_GT(acc.buffered_bytes(), 1000u);
  acc.CloseExpired(0, true);
  const size_t batch = acc.ready(0).front().bytes.size();
  EXPECT_EQ(acc.buffered_bytes(), batch);
  acc.Release(batch);
  acc.ready(0).pop_front();
  EXPECT_EQ(acc.buffered_bytes(), 0u);
  EXPECT_TRUE(acc.empty());
}

}  // namespace
}  // namespace sentry::client
