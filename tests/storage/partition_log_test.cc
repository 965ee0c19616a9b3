#include "storage/partition_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "common/clock.h"
#include "storage/record_batch_builder.h"
#include "test_util.h"

namespace sentry {
namespace {

using testing::MakeBatch;

class PartitionLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.segment_bytes = 64 << 10;
    cfg_.index_max_entries = 4096;
    cfg_.file.alloc_step = 16 << 10;
    cfg_.file.prefault_ahead = 8 << 10;
  }
  // A new partition; reopening one is the loader's job (tests/recovery).
  std::unique_ptr<PartitionLog> OpenLog() {
    auto log = PartitionLog::Create(dir_ / "t-0", cfg_);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(log).value() : nullptr;
  }
  AppendInfo Append(PartitionLog* log, int records, size_t value_bytes = 16, int64_t ts = 1000) {
    auto b = MakeBatch(records, value_bytes, ts);
    BatchSetSummary sum;
    EXPECT_TRUE(ValidateBatches(b, &sum).ok());
    auto r = log->Append(b, sum);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r.value() : AppendInfo{};
  }
  // Every record read from `from` to the end, in order, as offsets.
  std::vector<int64_t> ReadAllOffsets(PartitionLog* log, int64_t from) {
    std::vector<int64_t> out;
    int64_t next = from;
    while (next < log->high_watermark()) {
      auto r = log->Read(next, 1 << 20);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok() || r->size == 0) break;
      std::span<const uint8_t> bytes = r->bytes();
      size_t pos = 0;
      while (pos < bytes.size()) {
        std::vector<DecodedRecord> recs;
        RecordBatchView v(bytes.data() + pos);
        EXPECT_TRUE(DecodeRecords(bytes.data() + pos, v.TotalSize(), &recs).ok());
        for (auto& rec : recs) {
          if (rec.offset >= next) out.push_back(rec.offset);
        }
        pos += v.TotalSize();
      }
      next = out.empty() ? next : out.back() + 1;
    }
    return out;
  }
  testing::TempDir dir_;
  LogConfig cfg_;
};

TEST_F(PartitionLogTest, CreateRefusesADirectoryThatHoldsAPartition) {
  { auto log = OpenLog(); }
  auto again = PartitionLog::Create(dir_ / "t-0", cfg_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Status::Code::kAlreadyExists);
}

TEST_F(PartitionLogTest, EmptyLogStartsAtZero) {
  auto log = OpenLog();
  EXPECT_EQ(log->log_start_offset(), 0);
  EXPECT_EQ(log->high_watermark(), 0);
  EXPECT_EQ(log->segment_count(), 1u);
  auto r = log->Read(0, 100);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size, 0u);
}

TEST_F(PartitionLogTest, OffsetsAreContiguousAcrossManySegmentRolls) {
  auto log = OpenLog();
  int64_t expected = 0;
  for (int i = 0; i < 800; i++) {
    int n = 1 + i % 7;
    AppendInfo info = Append(log.get(), n, 100);
    ASSERT_EQ(info.base_offset, expected);
    ASSERT_EQ(info.last_offset, expected + n - 1);
    expected += n;
  }
  EXPECT_GT(log->segment_count(), 5u);
  EXPECT_EQ(log->high_watermark(), expected);
  std::vector<int64_t> offsets = ReadAllOffsets(log.get(), 0);
  ASSERT_EQ(offsets.size(), static_cast<size_t>(expected));
  for (int64_t i = 0; i < expected; i++) ASSERT_EQ(offsets[i], i);
}

TEST_F(PartitionLogTest, EveryOffsetIsFoundInEverySegment) {
  auto log = OpenLog();
  for (int i = 0; i < 600; i++) Append(log.get(), 5, 100);
  ASSERT_GT(log->segment_count(), 3u);
  for (int64_t o = 0; o < log->high_watermark(); o++) {
    auto r = log->Read(o, 1);
    ASSERT_TRUE(r.ok()) << o;
    RecordBatchView v(r->data);
    ASSERT_LE(v.base_offset(), o);
    ASSERT_GE(v.last_offset(), o);
  }
}

TEST_F(PartitionLogTest, FetchFromTheMiddleOfABatchReturnsTheBatchHoldingIt) {
  auto log = OpenLog();
  Append(log.get(), 10);
  Append(log.get(), 10);
  auto r = log->Read(15, 1 << 20);
  ASSERT_TRUE(r.ok());
  RecordBatchView v(r->data);
  EXPECT_EQ(v.base_offset(), 10);
  EXPECT_EQ(r->size, v.TotalSize());
}

TEST_F(PartitionLogTest, ReadReturnsOneWholeBatchEvenWhenLargerThanMaxBytes) {
  auto log = OpenLog();
  Append(log.get(), 20, 100);
  Append(log.get(), 20, 100);
  auto r = log->Read(0, 10);
  ASSERT_TRUE(r.ok());
  RecordBatchView v(r->data);
  EXPECT_EQ(r->size, v.TotalSize());
  EXPECT_GT(r->size, 10u);
}

TEST_F(PartitionLogTest, ReadAddsBatchesOnlyWhileWithinMaxBytes) {
  auto log = OpenLog();
  for (int i = 0; i < 5; i++) Append(log.get(), 1, 50);
  size_t one = log->Read(0, 1)->size;
  EXPECT_EQ(log->Read(0, one * 3)->size, one * 3);
  EXPECT_EQ(log->Read(0, one * 3 + one / 2)->size, one * 3);
  EXPECT_EQ(log->Read(0, 1 << 20)->size, one * 5);
}

TEST_F(PartitionLogTest, ReadOutsideTheLogIsOutOfRange) {
  auto log = OpenLog();
  Append(log.get(), 3);
  EXPECT_EQ(log->Read(4, 100).status().code(), Status::Code::kOutOfRange);
  EXPECT_EQ(log->Read(-1, 100).status().code(), Status::Code::kOutOfRange);
  auto at_end = log->Read(3, 100);
  ASSERT_TRUE(at_end.ok());
  EXPECT_EQ(at_end->size, 0u);
  EXPECT_EQ(at_end->high_watermark, 3);
}

TEST_F(PartitionLogTest, TimeLookupExactBetweenBeforeFirstAndAfterLast) {
  auto log = OpenLog();
  for (int i = 0; i < 200; i++) Append(log.get(), 4, 100, 1000 + i * 10);  // rolls too
  ASSERT_GT(log->segment_count(), 1u);
  EXPECT_EQ(log->OffsetForTimestamp(1000), 0);           // exact, first
  EXPECT_EQ(log->OffsetForTimestamp(1500), 50 * 4);      // exact, middle
  EXPECT_EQ(log->OffsetForTimestamp(1505), 51 * 4);      // between two batches
  EXPECT_EQ(log->OffsetForTimestamp(5), 0);              // before the first
  EXPECT_EQ(log->OffsetForTimestamp(999999), log->high_watermark());  // after the last
}

TEST_F(PartitionLogTest, FullIndexRollsTheSegment) {
  cfg_.index_max_entries = 100;
  auto log = OpenLog();
  for (int i = 0; i < 10; i++) Append(log.get(), 10);
  EXPECT_EQ(log->segment_count(), 1u);
  AppendInfo info = Append(log.get(), 1);
  EXPECT_EQ(log->segment_count(), 2u);
  EXPECT_EQ(info.base_offset, 100);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "t-0/00000000000000000100.log"));
}

TEST_F(PartitionLogTest, SegmentMsRollsAnAgedSegment) {
  cfg_.segment_ms = 1;
  auto log = OpenLog();
  Append(log.get(), 1);
  // segment.ms is judged on the coarse clock (a tick of 1-10 ms): wait until
  // that clock has moved past it, not for a fixed time.
  const int64_t t0 = CoarseSteadyMillis();
  while (CoarseSteadyMillis() - t0 < 2) {
  }
  Append(log.get(), 1);
  EXPECT_EQ(log->segment_count(), 2u);
}

TEST_F(PartitionLogTest, BatchLargerThanASegmentIsTooLarge) {
  auto log = OpenLog();
  auto b = MakeBatch(1, cfg_.segment_bytes);
  BatchSetSummary sum;
  ASSERT_TRUE(ValidateBatches(b, &sum).ok());
  auto r = log->Append(b, sum);
  EXPECT_EQ(r.status().code(), Status::Code::kTooLarge);
  EXPECT_EQ(log->high_watermark(), 0);
}

TEST_F(PartitionLogTest, BatchFillingASegmentExactlyFits) {
  auto log = OpenLog();
  auto probe = MakeBatch(1, 100);
  size_t overhead = probe.size() - 100;
  // Value sized so the batch is exactly segment.bytes (varint sizes differ a
  // little with length, so search for it).
  std::vector<uint8_t> b;
  for (size_t v = cfg_.segment_bytes - overhead - 8; v <= cfg_.segment_bytes; v++) {
    b = MakeBatch(1, v);
    if (b.size() == cfg_.segment_bytes) break;
  }
  ASSERT_EQ(b.size(), cfg_.segment_bytes);
  BatchSetSummary sum;
  ASSERT_TRUE(ValidateBatches(b, &sum).ok());
  ASSERT_TRUE(log->Append(b, sum).ok());
  EXPECT_EQ(log->high_watermark(), 1);
}

TEST_F(PartitionLogTest, FlushAdvancesTheDurableOffset) {
  auto log = OpenLog();
  Append(log.get(), 5);
  EXPECT_EQ(log->durable_offset(), 0);
  auto d = log->Flush();
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.value(), 5);
  EXPECT_EQ(log->durable_offset(), 5);
  for (int i = 0; i < 100; i++) Append(log.get(), 5, 200);  // crosses rolls
  ASSERT_TRUE(log->Flush().ok());
  EXPECT_EQ(log->durable_offset(), log->high_watermark());
}


// Retention (docs/retention.md): the clock is the caller's, so these run at
// any speed. Segments here hold 30 batches of ~2 KiB (64 KiB segments).
class RetentionTest : public PartitionLogTest {
 protected:
  // `segments` sealed segments with record timestamps base_ts, base_ts+1000,
  // ... (one per segment), then one record in a fresh active segment.
  std::unique_ptr<PartitionLog> LogWithSegments(int segments, int64_t base_ts) {
    auto log = OpenLog();
    for (int s = 0; s < segments; s++) {
      while (log->segment_count() == static_cast<size_t>(s + 1)) {
        Append(log.get(), 1, 2000, base_ts + 1000 * s);
      }
    }
    EXPECT_EQ(log->segment_count(), static_cast<size_t>(segments + 1));
    return log;
  }
  size_t FilesOnDisk() {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(dir_ / "t-0")) {
      n += e.path().extension() == ".log";
    }
    return n;
  }
};

TEST_F(RetentionTest, ExpiredSegmentsGoOldestFirstAndNeverTheActiveOne) {
  auto log = LogWithSegments(4, 10000);  // newest timestamps 10000, 11000, 12000, 13000
  // The last record of segment 3 has ts 13000 and it lives in the active one.
  const int64_t hwm = log->high_watermark();
  // retention.ms 5000 at now 16500: segments whose newest record < 11500 go.
  int64_t target = log->RetentionTarget(16500, 5000, -1);
  auto r = log->AdvanceLogStart(target);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, 2);
  EXPECT_EQ(log->segment_count(), 3u);
  EXPECT_EQ(FilesOnDisk(), 3u);
  EXPECT_EQ(log->log_start_offset(), target);
  EXPECT_GT(target, 0);
  // Reads below the start are out of range; from it, everything is there.
  EXPECT_EQ(log->Read(0, 1 << 20).status().code(), Status::Code::kOutOfRange);
  EXPECT_EQ(log->Read(target - 1, 1 << 20).status().code(), Status::Code::kOutOfRange);
  auto offsets = ReadAllOffsets(log.get(), target);
  ASSERT_FALSE(offsets.empty());
  EXPECT_EQ(offsets.front(), target);
  EXPECT_EQ(offsets.back(), hwm - 1);
  // Far in the future, every sealed segment goes, never the active one.
  target = log->RetentionTarget(1'000'000'000, 5000, -1);
  ASSERT_TRUE(log->AdvanceLogStart(target).ok());
  EXPECT_EQ(log->segment_count(), 1u);
  EXPECT_EQ(log->high_watermark(), hwm);
  EXPECT_EQ(Append(log.get(), 1).base_offset, hwm);  // no offset reused
}

TEST_F(RetentionTest, NothingIsDueWithinTheLimits) {
  auto log = LogWithSegments(3, 10000);
  EXPECT_EQ(log->RetentionTarget(12000, 5000, -1), 0);   // nothing older than 7000
  EXPECT_EQ(log->RetentionTarget(1'000'000, -1, -1), 0);  // no limits at all
  EXPECT_EQ(log->RetentionTarget(0, -1, log->size_bytes()), 0);
  ASSERT_TRUE(log->AdvanceLogStart(0).ok());
  EXPECT_EQ(log->segment_count(), 4u);
}

TEST_F(RetentionTest, SizeRetentionKeepsTheLogWithinTheLimitPlusOneSegment) {
  auto log = LogWithSegments(6, 10000);
  const int64_t segment = static_cast<int64_t>(cfg_.segment_bytes);
  const int64_t limit = 2 * segment + segment / 2;
  ASSERT_GT(log->size_bytes(), limit + segment);
  ASSERT_TRUE(log->AdvanceLogStart(log->RetentionTarget(0, -1, limit)).ok());
  // As Kafka counts: batches, not allocated space; at most one segment over.
  EXPECT_GE(log->size_bytes(), limit);
  EXPECT_LE(log->size_bytes(), limit + segment);
  EXPECT_EQ(log->RetentionTarget(0, -1, limit), log->log_start_offset());  // stable
}

TEST_F(RetentionTest, AReaderHoldingADeletedSegmentStillReadsItsBytes) {
  auto log = LogWithSegments(3, 10000);
  auto held = log->Read(0, 1 << 20);
  ASSERT_TRUE(held.ok());
  std::vector<uint8_t> copy(held->bytes().begin(), held->bytes().end());
  ASSERT_TRUE(log->AdvanceLogStart(log->RetentionTarget(1'000'000'000, 1000, -1)).ok());
  EXPECT_EQ(FilesOnDisk(), 1u);  // unlinked ...
  // ... but still mapped for the reader that holds it: same bytes, valid CRC.
  ASSERT_TRUE(std::equal(copy.begin(), copy.end(), held->data));
  RecordBatchView v;
  EXPECT_TRUE(RecordBatchView::Parse(held->data, held->size, &v).ok());
}

TEST_F(RetentionTest, TheLogStartIsPersistedBeforeFilesGo) {
  auto log = LogWithSegments(3, 10000);
  const int64_t target = log->RetentionTarget(1'000'000'000, 1000, -1);
  ASSERT_TRUE(log->AdvanceLogStart(target).ok());
  auto stored = PartitionLog::ReadLogStartCheckpoint(dir_ / "t-0");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, target);
  // Never backwards.
  ASSERT_TRUE(log->AdvanceLogStart(target - 1).ok());
  EXPECT_EQ(log->log_start_offset(), target);
  EXPECT_EQ(PartitionLog::ReadLogStartCheckpoint(dir_ / "t-0").value(), target);
}

// Rolls race retention: the appender rolls while another thread deletes.
TEST_F(RetentionTest, RetentionConcurrentWithAppendsLosesNothingAboveTheStart) {
  auto log = OpenLog();
  std::atomic<bool> done{false};
  std::thread retention([&] {
    while (!done.load()) {
      auto r = log->AdvanceLogStart(log->RetentionTarget(0, -1, 4 * cfg_.segment_bytes));
      EXPECT_TRUE(r.ok()) << r.status().ToString();
    }
  });
  for (int i = 0; i < 3000; i++) Append(log.get(), 1, 500, 1000 + i);
  done = true;
  retention.join();
  const int64_t start = log->log_start_offset();
  auto offsets = ReadAllOffsets(log.get(), start);
  ASSERT_EQ(offsets.size(), static_cast<size_t>(log->high_watermark() - start));
  for (size_t i = 0; i < offsets.size(); i++) ASSERT_EQ(offsets[i], start + int64_t(i));
  EXPECT_EQ(FilesOnDisk(), log->segment_count());
}

}  // namespace
}  // namespace sentry
