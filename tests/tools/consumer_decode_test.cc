// Unit tests of the consumer's fetch decoding (no broker) and sentryctl's
// --format expansion.
#include <gtest/gtest.h>

#include "client/consumer.h"
#include "sentryctl/commands.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

namespace sentry::client {
namespace {

// Three batches as a FETCH answer would carry them: offsets 10-14, 15-17, 18.
std::vector<uint8_t> ThreeBatches() {
  std::vector<uint8_t> out;
  int64_t base = 10;
  for (int n : {5, 3, 1}) {
    RecordBatchBuilder b(1000);
    for (int i = 0; i < n; i++) {
      b.Add("k" + std::to_string(base + i), "v" + std::to_string(base + i), 1000 + base + i);
    }
    b.BuildInto(&out, base);
    base += n;
  }
  return out;
}

std::vector<int64_t> Offsets(const std::vector<ConsumerRecord>& rs) {
  std::vector<int64_t> o;
  for (auto& r : rs) o.push_back(r.offset);
  return o;
}

TEST(DecodeFetchedRecordsTest, RecordsBelowTheRequestedOffsetInTheFirstBatchAreSkipped) {
  auto bytes = ThreeBatches();
  std::vector<ConsumerRecord> out;
  auto next = DecodeFetchedRecords(2, bytes, 13, &out);
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next.value(), 19);
  EXPECT_EQ(Offsets(out), (std::vector<int64_t>{13, 14, 15, 16, 17, 18}));
  EXPECT_EQ(out[0].partition, 2);
  EXPECT_EQ(out[0].key, "k13");
  EXPECT_EQ(out[0].value, "v13");
  EXPECT_EQ(out[0].timestamp, 1013);
}

TEST(DecodeFetchedRecordsTest, WholeBatchBelowTheOffsetIsSkipped) {
  auto bytes = ThreeBatches();
  std::vector<ConsumerRecord> out;
  auto next = DecodeFetchedRecords(0, bytes, 16, &out);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(Offsets(out), (std::vector<int64_t>{16, 17, 18}));
  EXPECT_EQ(next.value(), 19);
}

TEST(DecodeFetchedRecordsTest, TrailingPartialBatchIsLeftForTheNextFetch) {
  auto bytes = ThreeBatches();
  bytes.resize(bytes.size() - 5);  // cut into the last batch
  std::vector<ConsumerRecord> out;
  auto next = DecodeFetchedRecords(0, bytes, 10, &out);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next.value(), 18);
  EXPECT_EQ(out.size(), 8u);
}

TEST(DecodeFetchedRecordsTest, EmptyAnswerKeepsThePosition) {
  std::vector<ConsumerRecord> out;
  auto next = DecodeFetchedRecords(0, {}, 42, &out);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next.value(), 42);
  EXPECT_TRUE(out.empty());
}

TEST(DecodeFetchedRecordsTest, CrcMismatchIsCorruption) {
  auto bytes = ThreeBatches();
  bytes[batch_layout::kHeaderSize + 3] ^= 0xff;  // inside the first batch's records
  std::vector<ConsumerRecord> out;
  auto next = DecodeFetchedRecords(0, bytes, 10, &out);
  ASSERT_FALSE(next.ok());
  EXPECT_TRUE(next.status().IsCorruption());
  EXPECT_NE(next.status().message().find("crc"), std::string::npos) << next.status().message();
}

TEST(StartPositionTest, ParsesEveryForm) {
  EXPECT_EQ(StartPosition::Parse("earliest")->kind, StartPosition::Kind::kEarliest);
  EXPECT_EQ(StartPosition::Parse("latest")->kind, StartPosition::Kind::kLatest);
  auto o = StartPosition::Parse("1234");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->kind, StartPosition::Kind::kOffset);
  EXPECT_EQ(o->value, 1234);
  auto t = StartPosition::Parse("@1700000000000");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->kind, StartPosition::Kind::kTimestamp);
  EXPECT_EQ(t->value, 1700000000000);
  for (const char* bad : {"", "-1", "12x", "@", "@abc", "first"}) {
    EXPECT_FALSE(StartPosition::Parse(bad).ok()) << bad;
  }
}

TEST(FormatRecordTest, ExpandsPlaceholdersAndEscapes) {
  std::string k = "key", v = "value";
  EXPECT_EQ(ctl::FormatRecord("%T/%p@%o %t %k=%v 100%%\\tend", "orders", 3, 42, 1700, &k, &v),
            "orders/3@42 1700 key=value 100%\tend");
  EXPECT_EQ(ctl::FormatRecord("[%k]", "t", 0, 0, 0, nullptr, &v), "[]");
}

}  // namespace
}  // namespace sentry::client
