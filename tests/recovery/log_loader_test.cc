// Recovery at the storage level: torn writes, garbage tails, recovery
// points, clean restarts, damaged indexes and corruption of synced data.
#include "recovery/log_loader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "common/crc32c.h"
#include "common/endian.h"
#include "recovery/recovery_checkpoint.h"
#include "storage/record_batch.h"
#include "common/file_util.h"
#include "test_util.h"

namespace sentry::recovery {
namespace {

namespace fs = std::filesystem;
using sentry::testing::MakeBatch;

class LogLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.segment_bytes = 16 << 10;
    cfg_.index_max_entries = 1024;
    cfg_.file.alloc_step = 8 << 10;
    cfg_.file.prefault_ahead = 4 << 10;
    dir_ = tmp_ / "p-0";
  }
  // Appends `batches` batches of 1-4 records; returns the end offset after each.
  // Through the loader, like the broker: a new partition, or more batches
  // appended to the one already there.
  std::vector<int64_t> Write(int batches, bool close = false, int64_t first_ts = 1000,
                             int records = 0, size_t value_bytes = 60) {
    RecoveryReport ignored;
    auto log = LoadPartition(dir_, cfg_, RecoveryOptions{}, &ignored).value();
    std::vector<int64_t> ends;
    for (int i = 0; i < batches; i++) {
      auto b = MakeBatch(records > 0 ? records : 1 + i % 4, value_bytes, first_ts + i);
      BatchSetSummary s;
      EXPECT_TRUE(ValidateBatches(b, &s).ok());
      EXPECT_TRUE(log->Append(b, s).ok());
      ends.push_back(log->high_watermark());
    }
    if (close) {
      EXPECT_TRUE(log->Close().ok());
    }
    return ends;
  }
  std::unique_ptr<PartitionLog> Load(RecoveryOptions opt, RecoveryReport* report) {
    auto log = LoadPartition(dir_, cfg_, opt, report);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(log).value() : nullptr;
  }
  // Reads every batch from 0, checking CRCs; returns the end offset reached.
  int64_t ReadAll(PartitionLog* log) {
    int64_t next = log->log_start_offset();
    while (next < log->high_watermark()) {
      auto r = log->Read(next, 1 << 20);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) return -1;
      BatchSetSummary s;
      EXPECT_TRUE(ValidateBatches(r->bytes(), &s).ok());
      next = RecordBatchView(r->data).base_offset() + s.record_count;
    }
    return next;
  }
  std::string SegPath(int64_t base, const char* ext) {
    return Segment::FileName(dir_, base, ext);
  }
  std::vector<int64_t> Bases() { return Segment::ListBases(dir_).value(); }
  void FlipByte(const std::string& path, size_t pos) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(pos));
    char c;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(pos));
    f.put(static_cast<char>(c ^ 0x5A));
  }

  sentry::testing::TempDir tmp_;
  std::string dir_;
  LogConfig cfg_;
};

TEST_F(LogLoaderTest, TornWritesAtRandomCutPointsYieldExactlyTheValidPrefix) {
  std::mt19937_64 rng(12345);
  for (int trial = 0; trial < 60; trial++) {
    fs::remove_all(dir_);
    cfg_.segment_bytes = 1 << 20;  // one segment: cut points anywhere in it
    auto ends = Write(40);
    const std::string log_path = SegPath(0, ".log");
    // Batch boundaries from the log itself.
    std::vector<size_t> bounds = {0};
    std::ifstream in(log_path, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    size_t pos = 0;
    while (pos + 12 <= bytes.size() && GetI32(bytes.data() + pos + 8) > 0) {
      pos += 12 + GetI32(bytes.data() + pos + 8);
      bounds.push_back(pos);
    }
    ASSERT_EQ(bounds.size(), 41u);
    const size_t cut = rng() % bounds.back();
    const std::vector<uint8_t> original = bytes;
    // Garbage of several kinds after the cut.
    std::vector<uint8_t> garbage;
    switch (trial % 4) {
      case 0:  // random bytes
        garbage.resize(1 + rng() % 3000);
        for (auto& b : garbage) b = static_cast<uint8_t>(rng());
        break;
      case 1: {  // a plausible header continuing the offsets, with a bad CRC
        size_t k = std::upper_bound(bounds.begin(), bounds.end(), cut) - bounds.begin() - 1;
        garbage.assign(bytes.begin() + bounds[k], bytes.begin() + bounds[k + 1]);
        garbage[garbage.size() / 2 + 30] ^= 0xFF;
        break;
      }
      case 2:  // zeros (preallocated space): a clean end
        garbage.assign(1 + rng() % 5000, 0);
        break;
      case 3: {  // a whole valid batch with the wrong base offset
        garbage.assign(bytes.begin(), bytes.begin() + bounds[1]);
        PutI64(garbage.data(), 999999);
        break;
      }
    }
    // Garbage goes exactly at the cut, so a batch straddling it is torn.
    bytes.resize(cut);
    bytes.insert(bytes.end(), garbage.begin(), garbage.end());
    {
      std::ofstream out(log_path, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    // Oracle: the longest run of original batches whose bytes survived
    // unchanged (garbage can equal what it replaced, e.g. zeros over a
    // record's trailing zero varint, and then that batch is genuinely intact).
    size_t k = 0;
    while (k + 1 < bounds.size() && bounds[k + 1] <= bytes.size() &&
           std::equal(bytes.begin() + bounds[k], bytes.begin() + bounds[k + 1],
                      original.begin() + bounds[k])) {
      k++;
    }
    int64_t want_end = k == 0 ? 0 : ends[k - 1];
    RecoveryReport report;
    auto log = Load(RecoveryOptions{}, &report);
    ASSERT_TRUE(log) << "trial " << trial;
    EXPECT_EQ(log->high_watermark(), want_end) << "trial " << trial << " cut " << cut;
    EXPECT_EQ(ReadAll(log.get()), want_end);
    EXPECT_TRUE(report.offline_reason.empty());
    // Appends continue at the next offset.
    auto b = MakeBatch(1);
    BatchSetSummary s;
    ASSERT_TRUE(ValidateBatches(b, &s).ok());
    auto a = log->Append(b, s);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->base_offset, want_end);
  }
}

TEST_F(LogLoaderTest, CleanRestartAfterRollsWalksNothing) {
  auto ends = Write(300, /*close=*/true);
  ASSERT_GT(Bases().size(), 3u);
  RecoveryReport report;
  RecoveryOptions opt;
  opt.clean_shutdown = true;
  auto log = Load(opt, &report);
  EXPECT_EQ(report.segments_walked, 0);
  EXPECT_EQ(log->high_watermark(), ends.back());
  EXPECT_EQ(ReadAll(log.get()), ends.back());  // lazily verified on the way
}

// Retention persisted a log start offset and died before unlinking the
// segments below it (or a kill -9 at any point after the checkpoint): the
// next start finishes the deletion and the log starts there.
TEST_F(LogLoaderTest, ThePersistedLogStartDeletesWhatIsWhollyBelowIt) {
  auto ends = Write(300, /*close=*/true);
  auto bases = Bases();
  ASSERT_GT(bases.size(), 4u);
  // Inside the third segment: the first two go, the third stays and the log
  // starts in its middle.
  const int64_t start = bases[2] + 1;
  ASSERT_LT(start, bases[3]);
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/log-start-offset", std::to_string(start) + "\n").ok());
  for (bool clean : {true, false}) {
    RecoveryReport report;
    RecoveryOptions opt;
    opt.clean_shutdown = clean;
    auto log = Load(opt, &report);
    EXPECT_EQ(report.segments_deleted_below_start, clean ? 2 : 0);
    EXPECT_EQ(Bases().front(), bases[2]);
    EXPECT_EQ(log->log_start_offset(), start);
    EXPECT_EQ(log->high_watermark(), ends.back());
    EXPECT_EQ(log->Read(start - 1, 1 << 20).status().code(), Status::Code::kOutOfRange);
    EXPECT_EQ(ReadAll(log.get()), ends.back());
    ASSERT_TRUE(log->Close().ok());
  }
}

TEST_F(LogLoaderTest, AnUnreadableLogStartFileIsIgnoredAndDeletesNothing) {
  auto ends = Write(300, /*close=*/true);
  const size_t segments = Bases().size();
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/log-start-offset", "twelve\n").ok());
  RecoveryReport report;
  auto log = Load(RecoveryOptions{}, &report);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(Bases().size(), segments);  // nothing deleted on a guess
  EXPECT_EQ(log->log_start_offset(), 0);
  EXPECT_EQ(ReadAll(log.get()), ends.back());
}

TEST_F(LogLoaderTest, UncleanRestartWalksOnlyPastTheRecoveryPoint) {
  int64_t point;
  {
    auto log = PartitionLog::Create(dir_, cfg_).value();
    for (int i = 0; i < 300; i++) {
      auto b = MakeBatch(3, 60);
      BatchSetSummary s;
      ASSERT_TRUE(ValidateBatches(b, &s).ok());
      ASSERT_TRUE(log->Append(b, s).ok());
    }
    point = log->FlushSealed().value();
  }
  ASSERT_GT(point, 0);
  RecoveryReport report;
  RecoveryOptions opt;
  opt.recovery_point = point;
  auto log = Load(opt, &report);
  EXPECT_EQ(report.segments_walked, 1);
  EXPECT_EQ(log->high_watermark(), 900);
  EXPECT_EQ(log->durable_offset(), point);
}

// The recovery point inside the active segment: only the bytes after it are
// walked; a torn tail there is cut; the trusted prefix keeps its offsets.
TEST_F(LogLoaderTest, RecoveryPointInsideTheActiveSegmentWalksOnlyTheTail) {
  cfg_.segment_bytes = 1 << 20;
  int64_t point;
  std::vector<int64_t> ends;
  {
    auto log = PartitionLog::Create(dir_, cfg_).value();
    for (int i = 0; i < 100; i++) {
      auto b = MakeBatch(1 + i % 3, 60, 5000 + i);
      BatchSetSummary s;
      ASSERT_TRUE(ValidateBatches(b, &s).ok());
      ASSERT_TRUE(log->Append(b, s).ok());
      ends.push_back(log->high_watermark());
      if (i == 59) point = log->Flush().value();
    }
  }
  // Tear the tail: flip a byte in the 80th batch.
  std::string log_path = SegPath(0, ".log");
  std::ifstream in(log_path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  size_t pos = 0;
  for (int i = 0; i < 80; i++) pos += 12 + GetI32(bytes.data() + pos + 8);
  FlipByte(log_path, pos + 70);
  RecoveryReport report;
  RecoveryOptions opt;
  opt.recovery_point = point;
  auto log = Load(opt, &report);
  ASSERT_TRUE(log);
  EXPECT_EQ(report.segments_walked, 1);
  EXPECT_EQ(report.indexes_rebuilt, 0);  // resumed, not rebuilt
  EXPECT_EQ(log->high_watermark(), ends[79]);
  EXPECT_FALSE(report.truncation.empty());
  EXPECT_EQ(ReadAll(log.get()), ends[79]);
  for (int64_t o = 0; o < ends[79]; o++) ASSERT_TRUE(log->Read(o, 1).ok()) << o;
  EXPECT_EQ(log->OffsetForTimestamp(5000 + 70), ends[69]);
}

TEST_F(LogLoaderTest, BadIndexBelowTheRecoveryPointFallsBackToAFullWalk) {
  cfg_.segment_bytes = 1 << 20;
  int64_t point;
  {
    auto log = PartitionLog::Create(dir_, cfg_).value();
    for (int i = 0; i < 50; i++) {
      auto b = MakeBatch(2, 60);
      BatchSetSummary s;
      ASSERT_TRUE(ValidateBatches(b, &s).ok());
      ASSERT_TRUE(log->Append(b, s).ok());
      if (i == 30) point = log->Flush().value();
    }
  }
  {
    std::fstream f(SegPath(0, ".index"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8 * 10);
    std::string z(8, '\0');
    f.write(z.data(), 8);
  }
  RecoveryReport report;
  RecoveryOptions opt;
  opt.recovery_point = point;
  auto log = Load(opt, &report);
  ASSERT_TRUE(log);
  EXPECT_EQ(report.indexes_rebuilt, 1);
  EXPECT_EQ(log->high_watermark(), 100);
  for (int64_t o = 0; o < 100; o++) ASSERT_TRUE(log->Read(o, 1).ok()) << o;
}

TEST_F(LogLoaderTest, DeletedOrZeroedIndexesAreRebuilt) {
  auto ends = Write(200, true);
  auto bases = Bases();
  ASSERT_GT(bases.size(), 2u);
  fs::remove(SegPath(bases[0], ".index"));
  fs::remove(SegPath(bases[1], ".timeindex"));
  {  // zero a slot in the middle of the third segment's index
    std::fstream f(SegPath(bases[2], ".index"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8 * 5);
    std::string z(8, '\0');
    f.write(z.data(), 8);
  }
  RecoveryReport report;
  RecoveryOptions opt;
  opt.clean_shutdown = true;
  auto log = Load(opt, &report);
  EXPECT_EQ(report.indexes_rebuilt, 3);
  EXPECT_EQ(log->high_watermark(), ends.back());
  for (int64_t o = 0; o < ends.back(); o++) ASSERT_TRUE(log->Read(o, 1).ok()) << o;
  EXPECT_EQ(log->OffsetForTimestamp(1000 + 150), ends[149]);
}

// A synced segment whose index is gone must be walked at load; a bad batch
// found there is corruption of acknowledged data: offline, files untouched.
TEST_F(LogLoaderTest, CorruptionBelowTheRecoveryPointTakesThePartitionOffline) {
  auto ends = Write(200, true);
  auto bases = Bases();
  ASSERT_GT(bases.size(), 2u);
  const std::string victim = SegPath(bases[1], ".log");
  const auto size_before = fs::file_size(victim);
  FlipByte(victim, 300);
  fs::remove(SegPath(bases[1], ".index"));
  RecoveryReport report;
  RecoveryOptions opt;
  opt.recovery_point = ends.back();  // all of it was synced
  auto log = Load(opt, &report);
  ASSERT_TRUE(log);
  EXPECT_FALSE(report.offline_reason.empty());
  EXPECT_NE(report.offline_reason.find(victim), std::string::npos) << report.offline_reason;
  EXPECT_TRUE(log->offline());
  EXPECT_TRUE(log->Read(0, 100).status().IsCorruption());
  auto b = MakeBatch(1);
  BatchSetSummary s;
  ASSERT_TRUE(ValidateBatches(b, &s).ok());
  EXPECT_FALSE(log->Append(b, s).ok());
  EXPECT_EQ(fs::file_size(victim), size_before);  // nothing was changed on disk
  EXPECT_TRUE(fs::exists(SegPath(bases.back(), ".log")));
}

TEST_F(LogLoaderTest, TruncateCorruptSettingCutsAtTheBadBatch) {
  auto ends = Write(200, true);
  auto bases = Bases();
  FlipByte(SegPath(bases[1], ".log"), 300);
  RecoveryReport report;
  RecoveryOptions opt;
  opt.recovery_point = ends.back();
  opt.truncate_corrupt = true;
  auto log = Load(opt, &report);
  ASSERT_TRUE(log);
  EXPECT_FALSE(log->offline());
  EXPECT_FALSE(report.truncation.empty());
  EXPECT_LT(log->high_watermark(), ends.back());
  EXPECT_GE(log->high_watermark(), bases[1]);
  EXPECT_EQ(ReadAll(log.get()), log->high_watermark());
  EXPECT_EQ(report.segments_removed, static_cast<int>(bases.size()) - 2);
}

TEST_F(LogLoaderTest, BitRotAfterCleanShutdownIsNeverServed) {
  auto ends = Write(200, true);
  auto bases = Bases();
  FlipByte(SegPath(bases[1], ".log"), 200);
  RecoveryReport report;
  RecoveryOptions opt;
  opt.clean_shutdown = true;
  auto log = Load(opt, &report);
  ASSERT_TRUE(log);
  EXPECT_FALSE(log->offline());  // not known yet: indexes looked fine
  EXPECT_TRUE(log->Read(bases[0], 100).ok());
  auto bad = log->Read(bases[1], 1 << 20);
  EXPECT_TRUE(bad.status().IsCorruption()) << bad.status().ToString();
  EXPECT_TRUE(log->offline());
}

TEST_F(LogLoaderTest, ScrubFindsBitRotThatNobodyReads) {
  Write(200, true);
  auto bases = Bases();
  FlipByte(SegPath(bases[2], ".log"), 100);
  RecoveryReport report;
  RecoveryOptions opt;
  opt.clean_shutdown = true;
  auto log = Load(opt, &report);
  int steps = 0;
  while (log->ScrubStep(4096) && steps < 10000) steps++;
  EXPECT_TRUE(log->offline());
  EXPECT_NE(log->offline_reason().find(SegPath(bases[2], ".log")), std::string::npos);
}

TEST_F(LogLoaderTest, TornRolledSegmentAboveTheRecoveryPointDropsLaterSegments) {
  auto ends = Write(400);  // no close, no flush: recovery point 0
  auto bases = Bases();
  ASSERT_GT(bases.size(), 3u);
  FlipByte(SegPath(bases[1], ".log"), 500);
  RecoveryReport report;
  auto log = Load(RecoveryOptions{}, &report);
  ASSERT_TRUE(log);
  EXPECT_FALSE(log->offline());
  EXPECT_GE(log->high_watermark(), bases[1]);
  EXPECT_LT(log->high_watermark(), bases[2]);
  EXPECT_EQ(report.segments_removed, static_cast<int>(bases.size()) - 2);
  EXPECT_EQ(ReadAll(log.get()), log->high_watermark());
  // The next append continues right after the kept prefix.
  auto b = MakeBatch(1);
  BatchSetSummary s;
  ASSERT_TRUE(ValidateBatches(b, &s).ok());
  const int64_t end = log->high_watermark();
  EXPECT_EQ(log->Append(b, s)->base_offset, end);
}

// A compacted log's rolled segment that lost its last batch to a power cut
// after the next segment was made: zeros where the batch was, the later
// segments there. That is not the cleaner's gap (a cleaned segment's index
// ends at the end of its .log): the log is cut after the last whole batch
// and the later segments go, so no offset below the end is unreadable and
// the next append continues there. Both walks: the whole segment, and the
// tail after a recovery point inside it.
TEST_F(LogLoaderTest, ACompactedSegmentsLostTailIsCutNotTakenForACleanedGap) {
  cfg_.compacted = true;
  for (const bool from_point : {false, true}) {
    SCOPED_TRACE(from_point ? "recovery point inside the segment" : "no recovery point");
    fs::remove_all(dir_);
    RecoveryOptions opt;
    {
      auto log = PartitionLog::Create(dir_, cfg_).value();
      int in_second = 0;
      while (log->segment_count() < 4) {
        auto b = MakeBatch(2, 60);
        BatchSetSummary s;
        ASSERT_TRUE(ValidateBatches(b, &s).ok());
        ASSERT_TRUE(log->Append(b, s).ok());
        if (log->segment_count() == 2 && ++in_second == 3 && from_point) {
          opt.recovery_point = log->Flush().value();
        }
      }
    }
    const auto bases = Bases();
    ASSERT_EQ(bases.size(), 4u);
    if (from_point) {
      ASSERT_GT(opt.recovery_point, bases[1]);
      ASSERT_LT(opt.recovery_point, bases[2]);
    }
    // The last batch of the second segment: its bytes become zeros.
    const std::string path = SegPath(bases[1], ".log");
    std::vector<uint8_t> bytes;
    {
      std::ifstream in(path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    size_t last = 0;
    for (size_t pos = 0; pos < bytes.size(); pos += 12 + GetI32(bytes.data() + pos + 8)) {
      last = pos;
    }
    const int64_t lost_from = static_cast<int64_t>(GetI64(bytes.data() + last));
    ASSERT_GT(lost_from, std::max(bases[1], opt.recovery_point));
    {
      std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(last));
      const std::string zeros(bytes.size() - last, '\0');
      f.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
    }
    RecoveryReport report;
    auto log = Load(opt, &report);
    ASSERT_TRUE(log);
    EXPECT_FALSE(log->offline());
    EXPECT_EQ(log->high_watermark(), lost_from);
    EXPECT_FALSE(report.truncation.empty());
    EXPECT_EQ(Bases().size(), 2u);
    EXPECT_EQ(ReadAll(log.get()), lost_from);
    auto b = MakeBatch(1);
    BatchSetSummary s;
    ASSERT_TRUE(ValidateBatches(b, &s).ok());
    EXPECT_EQ(log->Append(b, s)->base_offset, lost_from);
  }
}

TEST_F(LogLoaderTest, CheckpointFileRoundTripsAndRejectsGarbage) {
  RecoveryPoints points = {{"a-0", 5}, {"b.c-12", 1234567890123}};
  ASSERT_TRUE(WriteRecoveryCheckpoint(tmp_.path(), points).ok());
  EXPECT_EQ(ReadRecoveryCheckpoint(tmp_.path()).value(), points);
  std::ofstream(tmp_ / kRecoveryCheckpointFile) << "7\nnonsense";
  EXPECT_FALSE(ReadRecoveryCheckpoint(tmp_.path()).ok());
  fs::remove(tmp_ / kRecoveryCheckpointFile);
  EXPECT_TRUE(ReadRecoveryCheckpoint(tmp_.path())->empty());
}

// Reopening through the one loader (these lived in the storage tests while
// PartitionLog had a loader of its own).
TEST_F(LogLoaderTest, ReopenAfterCloseKeepsEveryOffset) {
  const std::vector<int64_t> ends = Write(150, /*close=*/true, /*first_ts=*/2000, 3, 120);
  const int64_t end = ends.back();
  RecoveryReport report;
  auto log = Load(RecoveryOptions{}, &report);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->high_watermark(), end);
  EXPECT_EQ(report.log_end_offset, end);
  EXPECT_GT(report.segments, 1);
  EXPECT_TRUE(report.truncation.empty()) << report.truncation;
  EXPECT_EQ(ReadAll(log.get()), end);
  auto b = MakeBatch(2);
  BatchSetSummary s;
  ASSERT_TRUE(ValidateBatches(b, &s).ok());
  EXPECT_EQ(log->Append(b, s)->base_offset, end);
  EXPECT_EQ(log->OffsetForTimestamp(2010), 30);
}

TEST_F(LogLoaderTest, ReopenWithoutCloseTruncatesTornTail) {
  int64_t good_end;
  {
    auto log = PartitionLog::Create(dir_, cfg_).value();
    for (int i = 0; i < 2; i++) {
      auto b = MakeBatch(4);
      BatchSetSummary s;
      ASSERT_TRUE(ValidateBatches(b, &s).ok());
      ASSERT_TRUE(log->Append(b, s).ok());
      if (i == 0) good_end = log->high_watermark();
    }
    // A torn write: the last batch's last byte differs in the file.
    auto r = log->Read(good_end, 1 << 20);
    ASSERT_TRUE(r.ok());
    const_cast<uint8_t*>(r->data)[r->size - 1] ^= 0x55;
  }
  RecoveryReport report;
  auto log = Load(RecoveryOptions{}, &report);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->high_watermark(), good_end);
  EXPECT_FALSE(report.truncation.empty());
  EXPECT_GT(report.bytes_truncated, 0);
  auto b = MakeBatch(1);
  BatchSetSummary s;
  ASSERT_TRUE(ValidateBatches(b, &s).ok());
  EXPECT_EQ(log->Append(b, s)->base_offset, good_end);  // no offset reused or skipped
}

TEST_F(LogLoaderTest, RestartWithIndexesDeletedRebuildsThem) {
  const int64_t end = Write(100, /*close=*/true, /*first_ts=*/100, 3, 150).back();
  for (auto& e : fs::directory_iterator(dir_)) {
    if (e.path().extension() != ".log") fs::remove(e.path());
  }
  RecoveryOptions clean;
  clean.clean_shutdown = true;  // even a clean start cannot trust missing indexes
  RecoveryReport report;
  auto log = Load(clean, &report);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->high_watermark(), end);
  EXPECT_EQ(report.indexes_rebuilt, report.segments);
  EXPECT_EQ(ReadAll(log.get()), end);
  EXPECT_EQ(log->OffsetForTimestamp(150), 150);
}

}  // namespace
}  // namespace sentry::recovery
