#include "storage/segment.h"

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <fstream>

#include "storage/record_batch.h"
#include "test_util.h"

namespace sentry {
namespace {

using testing::MakeBatch;

class SegmentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.segment_bytes = 1 << 20;
    cfg_.index_max_entries = 1000;
  }
  std::shared_ptr<Segment> NewSegment(int64_t base = 0) {
    auto s = Segment::Create(dir_.path(), base, cfg_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.value();
  }
  void AppendBatch(Segment* s, int records, int64_t ts = 1000) {
    auto b = MakeBatch(records, 16, ts);
    BatchSetSummary sum;
    ASSERT_TRUE(ValidateBatches(b, &sum).ok());
    ASSERT_TRUE(s->Append(b.data(), b.size(), sum).ok());
  }
  testing::TempDir dir_;
  LogConfig cfg_;
};

TEST_F(SegmentTest, AnEmptySegmentReservesOneSmallStepAndItsIndexesNothing) {
  // Whatever segment.bytes, a new partition reserves 64 KiB of log (the
  // first step, so a full disk fails the create, not a later write) and no
  // index space until it is written (issue 14: 10,000 empty partitions).
  cfg_.segment_bytes = 1 << 30;
  cfg_.index_max_entries = 1 << 23;
  auto seg = NewSegment(0);
  auto blocks = [&](const char* ext) {
    struct stat st;
    EXPECT_EQ(::stat(Segment::FileName(dir_.path(), 0, ext).c_str(), &st), 0);
    return uint64_t(st.st_blocks) * 512;
  };
  EXPECT_EQ(blocks(".log"), 64u << 10);
  EXPECT_EQ(blocks(".index"), 0u);
  EXPECT_EQ(blocks(".timeindex"), 0u);
  AppendBatch(seg.get(), 10);
  EXPECT_EQ(blocks(".log"), 64u << 10) << "a small write stays in the first step";
  // The indexes start at 4 KiB and are allocated one step ahead.
  EXPECT_LE(blocks(".index"), 8u << 10);
  EXPECT_GT(blocks(".index"), 0u);
  EXPECT_LE(blocks(".timeindex"), 8u << 10);
}

TEST_F(SegmentTest, FilesAreNamedByTwentyDigitBaseOffset) {
  NewSegment(1234);
  EXPECT_EQ(Segment::FileName(dir_.path(), 1234, ".log"),
            dir_.path() + "/00000000000000001234.log");
  std::ifstream log(dir_ / "00000000000000001234.log");
  std::ifstream idx(dir_ / "00000000000000001234.index");
  std::ifstream tidx(dir_ / "00000000000000001234.timeindex");
  EXPECT_TRUE(log.good() && idx.good() && tidx.good());
}

TEST_F(SegmentTest, AppendPatchesBaseOffsetsAndIndexesEveryOffset) {
  auto s = NewSegment(100);
  AppendBatch(s.get(), 3);
  AppendBatch(s.get(), 2);
  EXPECT_EQ(s->next_offset(), 105);
  RecordBatchView first(s->log_data());
  EXPECT_EQ(first.base_offset(), 100);
  uint32_t second_pos = static_cast<uint32_t>(first.TotalSize());
  EXPECT_EQ(RecordBatchView(s->log_data() + second_pos).base_offset(), 103);
  for (int64_t o = 100; o < 103; o++) EXPECT_EQ(s->PositionOf(o).value(), 0u);
  for (int64_t o = 103; o < 105; o++) EXPECT_EQ(s->PositionOf(o).value(), second_pos);
}

TEST_F(SegmentTest, UnwrittenIndexSlotIsReportedNotTrusted) {
  auto s = NewSegment();
  AppendBatch(s.get(), 2);
  EXPECT_FALSE(s->PositionOf(5).ok());
}

TEST_F(SegmentTest, TimeIndexKeepsOnlyIncreasingMaxTimestamps) {
  auto s = NewSegment();
  AppendBatch(s.get(), 1, 100);   // offset 0, entry
  AppendBatch(s.get(), 1, 50);    // offset 1, not above: no entry
  AppendBatch(s.get(), 1, 200);   // offset 2, entry
  EXPECT_EQ(s->OffsetForTime(10).value(), 0);
  EXPECT_EQ(s->OffsetForTime(100).value(), 0);
  EXPECT_EQ(s->OffsetForTime(101).value(), 2);
  EXPECT_FALSE(s->OffsetForTime(201).has_value());
  EXPECT_EQ(s->max_timestamp(), 200);
}

TEST_F(SegmentTest, HasRoomRespectsLogAndIndexLimits) {
  auto s = NewSegment();
  EXPECT_TRUE(s->HasRoom(cfg_.segment_bytes, 1));
  EXPECT_FALSE(s->HasRoom(cfg_.segment_bytes + 1, 1));
  EXPECT_TRUE(s->HasRoom(10, 1000));
  EXPECT_FALSE(s->HasRoom(10, 1001));
}

TEST_F(SegmentTest, SealTrimsFilesToTheirData) {
  auto s = NewSegment();
  AppendBatch(s.get(), 4);
  uint32_t size = s->size();
  ASSERT_TRUE(s->Seal().ok());
  EXPECT_TRUE(s->sealed());
  EXPECT_FALSE(s->HasRoom(1, 1));
  std::ifstream log(dir_ / "00000000000000000000.log", std::ios::ate | std::ios::binary);
  EXPECT_EQ(static_cast<uint32_t>(log.tellg()), size);
  std::ifstream idx(dir_ / "00000000000000000000.index", std::ios::ate | std::ios::binary);
  EXPECT_EQ(idx.tellg(), 4 * 8);
  std::ifstream tidx(dir_ / "00000000000000000000.timeindex", std::ios::ate | std::ios::binary);
  EXPECT_EQ(tidx.tellg(), 12);
}

TEST_F(SegmentTest, ScanStopsAtZerosWithCleanEnd) {
  auto s = NewSegment();
  AppendBatch(s.get(), 3);
  AppendBatch(s.get(), 3);
  SegmentScan scan = s->Scan(true);
  EXPECT_TRUE(scan.clean_end);
  EXPECT_EQ(scan.batches, 2);
  EXPECT_EQ(scan.next_offset, 6);
  EXPECT_EQ(scan.valid_bytes, s->size());
}

TEST_F(SegmentTest, TornTailIsTruncatedAndIndexesRebuilt) {
  uint32_t good_size;
  {
    auto s = NewSegment();
    AppendBatch(s.get(), 3);
    good_size = s->size();
    AppendBatch(s.get(), 3);
    // Tear the second batch: flip a byte in its records.
    const_cast<uint8_t*>(s->log_data())[s->size() - 2] ^= 0xFF;
  }
  auto s = Segment::OpenExisting(dir_.path(), 0, cfg_).value();
  SegmentScan scan = s->Scan(true);
  EXPECT_FALSE(scan.clean_end);
  EXPECT_EQ(scan.valid_bytes, good_size);
  EXPECT_GT(scan.torn_bytes, 0u);
  EXPECT_NE(scan.reason.find("crc"), std::string::npos);
  ASSERT_TRUE(s->RestoreFromScan(scan).ok());
  EXPECT_EQ(s->next_offset(), 3);
  EXPECT_EQ(s->size(), good_size);
  EXPECT_EQ(s->PositionOf(2).value(), 0u);
  EXPECT_FALSE(s->PositionOf(3).ok());  // rebuilt index has no slot past the cut
  // The next append lands right after the valid prefix, at offset 3.
  AppendBatch(s.get(), 1);
  EXPECT_EQ(RecordBatchView(s->log_data() + good_size).base_offset(), 3);
}

TEST_F(SegmentTest, BatchNotContinuingTheOffsetsEndsTheScan) {
  auto s = NewSegment();
  AppendBatch(s.get(), 2);
  uint32_t first = s->size();
  AppendBatch(s.get(), 2);
  RecordBatchView::SetBaseOffset(const_cast<uint8_t*>(s->log_data()) + first, 7);
  SegmentScan scan = s->Scan(true);
  EXPECT_FALSE(scan.clean_end);
  EXPECT_EQ(scan.valid_bytes, first);
  EXPECT_NE(scan.reason.find("continue"), std::string::npos);
}

TEST_F(SegmentTest, CleanIndexesAreTrustedAfterSeal) {
  {
    auto s = NewSegment(50);
    AppendBatch(s.get(), 3, 10);
    AppendBatch(s.get(), 4, 20);
    ASSERT_TRUE(s->Seal().ok());
  }
  auto s = Segment::OpenExisting(dir_.path(), 50, cfg_).value();
  ASSERT_TRUE(s->RestoreFromIndexes().ok());
  EXPECT_EQ(s->next_offset(), 57);
  EXPECT_EQ(s->OffsetForTime(15).value(), 53);
}

TEST_F(SegmentTest, ZeroedIndexIsDetected) {
  {
    auto s = NewSegment();
    AppendBatch(s.get(), 3);
    AppendBatch(s.get(), 3);
    ASSERT_TRUE(s->Seal().ok());
  }
  {
    std::fstream idx(dir_ / "00000000000000000000.index",
                     std::ios::in | std::ios::out | std::ios::binary);
    std::string zeros(6 * 8, '\0');
    idx.write(zeros.data(), zeros.size());
  }
  auto s = Segment::OpenExisting(dir_.path(), 0, cfg_).value();
  EXPECT_TRUE(s->RestoreFromIndexes().IsCorruption());
}

}  // namespace
}  // namespace sentry
