// Recovery against a real sentryd: bit rot in a rolled segment found after a
// clean restart takes only that partition offline; an unclean restart after
// rolls keeps every offset; deleted indexes are rebuilt.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "integration/broker_process.h"
#include "integration/error_code.h"
#include "protocol/errors.h"
#include "storage/segment.h"
#include "test_util.h"

namespace sentry {
namespace {

namespace fs = std::filesystem;
using protocol::ErrorCode;
using testing::BrokerProcess;

using testing::E;

class RecoveryIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<BrokerProcess>(
        dir_ / "data", std::vector<std::string>{"--segment.bytes", "16384"});
    ASSERT_TRUE(broker_->Start()) << broker_->Output();
    auto c = broker_->NewClient();
    ASSERT_EQ(c->CreateTopic("t", 2).value(), 0);
    for (int i = 0; i < 200; i++) {
      auto b = testing::MakeBatch(3, 80);
      ASSERT_EQ(c->Produce("t", i % 2, 1, b)->error, 0);
    }
  }
  void TearDown() override {
    if (broker_->running()) broker_->Stop();
  }
  std::string PartitionDir(int p) { return dir_ / ("data/t-" + std::to_string(p)); }
  testing::TempDir dir_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(RecoveryIntegrationTest, BitRotInARolledSegmentTakesOnlyThatPartitionOffline) {
  ASSERT_EQ(broker_->Stop(), 0);
  auto bases = Segment::ListBases(PartitionDir(0)).value();
  ASSERT_GT(bases.size(), 2u);
  const std::string victim = Segment::FileName(PartitionDir(0), bases[1], ".log");
  {
    std::fstream f(victim, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.put('\x7f');
  }
  ASSERT_TRUE(broker_->Start()) << broker_->Output();
  auto c = broker_->NewClient();
  // Partition 1 is untouched and serves normally.
  auto ok = c->Fetch("t", 1, 0);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->error, 0);
  // Reading the damaged segment: KAFKA_STORAGE_ERROR, never the bytes.
  auto bad = c->Fetch("t", 0, bases[1]);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->error, E(ErrorCode::kKafkaStorageError));
  EXPECT_TRUE(bad->body.records.empty());
  EXPECT_TRUE(broker_->WaitForOutput("is OFFLINE"));
  EXPECT_NE(broker_->Output().find(victim), std::string::npos);
  // The whole partition is offline now, for produce too; partition 1 is not.
  auto b = testing::MakeBatch(1);
  EXPECT_EQ(c->Produce("t", 0, 1, b)->error, E(ErrorCode::kKafkaStorageError));
  EXPECT_EQ(c->Produce("t", 1, 1, b)->error, 0);
}

TEST_F(RecoveryIntegrationTest, UncleanRestartAfterRollsKeepsEveryOffset) {
  auto c = broker_->NewClient();
  int64_t end0 = c->ListOffsets("t", 0, -1)->body.offset;
  int64_t end1 = c->ListOffsets("t", 1, -1)->body.offset;
  c.reset();
  broker_->Kill();
  ASSERT_TRUE(broker_->Start()) << broker_->Output();
  EXPECT_NE(broker_->Output().find("no clean shutdown"), std::string::npos);
  c = broker_->NewClient();
  EXPECT_EQ(c->ListOffsets("t", 0, -1)->body.offset, end0);
  EXPECT_EQ(c->ListOffsets("t", 1, -1)->body.offset, end1);
  for (int64_t o = 0; o < end0; o += 7) {
    auto f = c->Fetch("t", 0, o, 1);
    ASSERT_EQ(f->error, 0) << o;
  }
}

TEST_F(RecoveryIntegrationTest, RestartWithIndexesDeletedOrTimeIndexMissing) {
  ASSERT_EQ(broker_->Stop(), 0);
  for (auto& e : fs::directory_iterator(PartitionDir(0))) {
    if (e.path().extension() == ".index") fs::remove(e.path());
  }
  for (auto& e : fs::directory_iterator(PartitionDir(1))) {
    if (e.path().extension() == ".timeindex") fs::remove(e.path());
  }
  ASSERT_TRUE(broker_->Start()) << broker_->Output();
  auto c = broker_->NewClient();
  for (int p = 0; p < 2; p++) {
    int64_t end = c->ListOffsets("t", p, -1)->body.offset;
    EXPECT_EQ(end, 300);
    for (int64_t o = 0; o < end; o++) ASSERT_EQ(c->Fetch("t", p, o, 1)->error, 0) << p << "/" << o;
    EXPECT_EQ(c->ListOffsets("t", p, 0)->body.offset, 0);
  }
}

// Retention against a real broker: records written with timestamps an hour
// old expire at once under retention.ms=60000; the retention thread (checking
// every 100 ms) deletes whole sealed segments, never the active one; a fetch
// below the new log start gets OFFSET_OUT_OF_RANGE naming it; the start
// survives a kill -9.
TEST(RetentionIntegrationTest, ExpiredSegmentsAreDeletedAndTheLogStartSurvivesKill9) {
  testing::TempDir dir;
  BrokerProcess broker(dir / "data", {"--log.retention.check.interval.ms", "100"});
  ASSERT_TRUE(broker.Start()) << broker.Output();
  auto c = broker.NewClient();
  ASSERT_EQ(c->CreateTopic("r", 1, {{"segment.bytes", "16384"}, {"retention.ms", "60000"}}).value(),
            0);
  const int64_t hour_ago =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch()).count() - 3600 * 1000;
  for (int i = 0; i < 400; i++) {
    auto b = testing::MakeBatch(3, 80, hour_ago + i);
    ASSERT_EQ(c->Produce("r", 0, 1, b)->error, 0);
  }
  const int64_t end = c->ListOffsets("r", 0, -1)->body.offset;
  ASSERT_EQ(end, 1200);
  const std::string pdir = dir / "data/r-0";
  // Passes may already have run while producing. Every sealed segment has
  // expired, so the log ends up starting at the active segment, which no
  // longer changes: await the pass that says so.
  const int64_t active_base = Segment::ListBases(pdir).value().back();
  ASSERT_GT(active_base, end / 2);  // most of the log was in sealed segments
  ASSERT_TRUE(broker.WaitForOutput("retention: r-0 starts at offset " +
                                   std::to_string(active_base) + " "))
      << broker.Output();
  const int64_t start = c->ListOffsets("r", 0, -2)->body.offset;
  EXPECT_EQ(start, active_base);
  auto bases = Segment::ListBases(pdir).value();
  ASSERT_EQ(bases.size(), 1u);  // only the active segment is left
  EXPECT_EQ(bases[0], start);
  auto below = c->Fetch("r", 0, 0);
  ASSERT_TRUE(below.ok());
  EXPECT_EQ(below->error, E(ErrorCode::kOffsetOutOfRange));
  EXPECT_EQ(below->body.header.log_start_offset, start);
  EXPECT_EQ(below->body.header.high_watermark, end);
  for (int64_t o = start; o < end; o++) ASSERT_EQ(c->Fetch("r", 0, o, 1)->error, 0) << o;
  c.reset();
  broker.Kill();
  ASSERT_TRUE(broker.Start()) << broker.Output();
  c = broker.NewClient();
  EXPECT_EQ(c->ListOffsets("r", 0, -2)->body.offset, start);
  EXPECT_EQ(c->ListOffsets("r", 0, -1)->body.offset, end);
  EXPECT_EQ(c->Fetch("r", 0, start - 1)->error, E(ErrorCode::kOffsetOutOfRange));
  // New records continue the offsets; none is reused.
  auto b = testing::MakeBatch(1);
  EXPECT_EQ(c->Produce("r", 0, 1, b)->body.base_offset, end);
  EXPECT_EQ(broker.Stop(), 0);
}

}  // namespace
}  // namespace sentry
