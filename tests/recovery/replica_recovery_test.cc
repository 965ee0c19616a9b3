// Replicated logs across restarts: a follower's verbatim copy, a truncation
// (in the active segment, at a segment boundary, across segments) followed
// by a clean stop or a crash, with or without a recovery checkpoint written
// before the truncation, and the leader epoch cache's file (kept, cut at
// the recovered end, rebuilt when missing or garbled).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "common/file_util.h"
#include "recovery/leader_epoch_loader.h"
#include "recovery/log_loader.h"
#include "storage/replica_util.h"
#include "test_util.h"

namespace sentry::recovery {
namespace {

namespace fs = std::filesystem;
using sentry::testing::AppendBatch;
using sentry::testing::BatchEpochs;
using sentry::testing::LogBytes;
using sentry::testing::Records;
using sentry::testing::Replicate;
using Entry = LeaderEpochCache::Entry;
using Entries = std::vector<Entry>;

class ReplicaRecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.segment_bytes = 8 << 10;
    cfg_.index_max_entries = 1024;
    cfg_.file.alloc_step = 8 << 10;
    cfg_.file.prefault_ahead = 4 << 10;
    dir_ = tmp_ / "p-0";
  }
  std::unique_ptr<PartitionLog> Load(const RecoveryOptions& opt, const std::string& dir = "") {
    auto log = LoadPartition(dir.empty() ? dir_ : dir, cfg_, opt, &report_);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    EXPECT_TRUE(report_.offline_reason.empty()) << report_.offline_reason;
    return log.ok() ? std::move(log).value() : nullptr;
  }
  static RecoveryOptions Crash(int64_t recovery_point = 0) {
    RecoveryOptions o;
    o.recovery_point = recovery_point;
    return o;
  }
  static RecoveryOptions Clean() {
    RecoveryOptions o;
    o.clean_shutdown = true;
    return o;
  }
  // Batches of 1-4 records over several segments, under epochs 1, 3 and 6.
  void Fill(PartitionLog* log, int batches, const std::string& tag = "old") {
    for (int i = 0; i < batches; i++) {
      const int32_t epoch = i < batches / 3 ? 1 : i < 2 * batches / 3 ? 3 : 6;
      AppendBatch(log, 1 + i % 4, epoch, tag, 10 * i, 50, 1000 + i);
    }
  }
  std::vector<int64_t> Bases(const PartitionLog& log) {
    std::vector<int64_t> out;
    for (const auto& s : *log.SegmentsSnapshot()) out.push_back(s->base_offset());
    return out;
  }

  sentry::testing::TempDir tmp_;
  std::string dir_;
  LogConfig cfg_;
  RecoveryReport report_;
};

TEST_F(ReplicaRecoveryTest, AReplicaCopyReopensIdenticallyAfterACrashAndAfterACleanStop) {
  std::vector<uint8_t> want;
  Entries epochs;
  {
    auto leader = PartitionLog::Create(tmp_ / "leader-0", cfg_).value();
    Fill(leader.get(), 150);
    auto follower = Load(Crash());
    Replicate(*leader, follower.get(), 4000);
    want = LogBytes(*leader);
    epochs = leader->leader_epochs().entries();
    ASSERT_EQ(epochs.size(), 3u);
    ASSERT_EQ(LogBytes(*follower), want);
    ASSERT_GT(follower->segment_count(), 3u);
    // No Close: a crash, with nothing ever flushed.
  }
  {
    auto log = Load(Crash());
    EXPECT_TRUE(report_.truncation.empty()) << report_.truncation;
    EXPECT_EQ(LogBytes(*log), want);
    EXPECT_EQ(log->leader_epochs().entries(), epochs);
    EXPECT_FALSE(report_.leader_epochs_rebuilt);
    EXPECT_EQ(report_.leader_epochs, 3u);
    ASSERT_TRUE(log->Close().ok());
  }
  auto log = Load(Clean());
  EXPECT_EQ(report_.segments_walked, 0);
  EXPECT_EQ(LogBytes(*log), want);
  EXPECT_EQ(log->leader_epochs().entries(), epochs);
}

// Where the new end falls, and how the partition stops after the truncation.
enum class Where { kActiveSegment, kSegmentBoundary, kAcrossSegments };
enum class Stop { kCrashNoCheckpoint, kCrashStaleCheckpoint, kClean };

struct TruncateCase {
  Where where;
  Stop stop;
  bool append_after;  // more batches after the truncation, before the stop
};

class TruncateRecoveryTest : public ReplicaRecoveryTest,
                             public ::testing::WithParamInterface<TruncateCase> {};

// Nothing truncated comes back, whatever the restart, and offsets go on
// from the new end.
TEST_P(TruncateRecoveryTest, TruncatedBatchesNeverComeBack) {
  const TruncateCase tc = GetParam();
  int64_t checkpoint = 0;  // the recovery point written before the truncation
  int64_t end = 0;
  std::vector<std::pair<int64_t, std::string>> want;
  Entries want_epochs;
  {
    auto log = Load(Crash());
    Fill(log.get(), 200);
    checkpoint = log->Flush().value();  // all of it synced, and a checkpoint says so
    const std::vector<int64_t> bases = Bases(*log);
    ASSERT_GT(bases.size(), 4u);
    int64_t target = 0;
    switch (tc.where) {
      case Where::kActiveSegment:
        target = log->log_end_offset() - 5;
        ASSERT_GT(target, bases.back());
        break;
      case Where::kSegmentBoundary:
        target = bases[3];
        break;
      case Where::kAcrossSegments:
        target = bases[1] + (bases[2] - bases[1]) / 2;
        break;
    }
    const auto before = Records(*log);
    ASSERT_TRUE(log->TruncateTo(target).ok());
    end = log->log_end_offset();
    ASSERT_LE(end, target);
    ASSERT_GT(end, target - 4);
    ASSERT_EQ(Records(*log), std::vector(before.begin(), before.begin() + end));
    if (tc.append_after) {
      for (int i = 0; i < 12; i++) AppendBatch(log.get(), 2, 9, "new", 2 * i, 50, 5000 + i);
    }
    want = Records(*log);
    want_epochs = log->leader_epochs().entries();
    if (tc.stop == Stop::kClean) {
      ASSERT_TRUE(log->Close().ok());
    }
    // Otherwise dropped as a crash would: no flush, no trim, no snapshot.
  }
  RecoveryOptions opt = tc.stop == Stop::kClean                  ? Clean()
                        : tc.stop == Stop::kCrashStaleCheckpoint ? Crash(checkpoint)
                                                                 : Crash(0);
  auto log = Load(opt);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->log_end_offset(), static_cast<int64_t>(want.size()));
  EXPECT_EQ(Records(*log), want);
  for (const auto& [offset, value] : Records(*log)) {
    ASSERT_EQ(offset >= end, value.rfind("new", 0) == 0) << offset << " " << value;
  }
  EXPECT_EQ(log->leader_epochs().entries(), want_epochs);
  if (tc.stop != Stop::kCrashStaleCheckpoint) {
    EXPECT_EQ(log->durable_offset(), opt.clean_shutdown ? log->log_end_offset() : 0);
  }
  // Offsets continue from the end: no gap, nothing reused.
  const int64_t resumed = log->log_end_offset();
  EXPECT_EQ(AppendBatch(log.get(), 1, 10, "after").base_offset, resumed);
  EXPECT_EQ(Records(*log).back().first, resumed);
  // And once more through a clean stop.
  ASSERT_TRUE(log->Close().ok());
  log = Load(Clean());
  EXPECT_EQ(log->log_end_offset(), resumed + 1);
  EXPECT_EQ(Records(*log).size(), static_cast<size_t>(resumed + 1));
}

INSTANTIATE_TEST_SUITE_P(
    AllCases, TruncateRecoveryTest,
    ::testing::Values(TruncateCase{Where::kActiveSegment, Stop::kCrashNoCheckpoint, false},
                      TruncateCase{Where::kActiveSegment, Stop::kCrashStaleCheckpoint, false},
                      TruncateCase{Where::kActiveSegment, Stop::kCrashStaleCheckpoint, true},
                      TruncateCase{Where::kActiveSegment, Stop::kClean, true},
                      TruncateCase{Where::kSegmentBoundary, Stop::kCrashNoCheckpoint, true},
                      TruncateCase{Where::kSegmentBoundary, Stop::kCrashStaleCheckpoint, false},
                      TruncateCase{Where::kSegmentBoundary, Stop::kClean, false},
                      TruncateCase{Where::kAcrossSegments, Stop::kCrashNoCheckpoint, false},
                      TruncateCase{Where::kAcrossSegments, Stop::kCrashStaleCheckpoint, true},
                      TruncateCase{Where::kAcrossSegments, Stop::kCrashStaleCheckpoint, false},
                      TruncateCase{Where::kAcrossSegments, Stop::kClean, true}),
    [](const ::testing::TestParamInfo<TruncateCase>& param) {
      const TruncateCase& c = param.param;
      std::string name = c.where == Where::kActiveSegment     ? "ActiveSegment"
                         : c.where == Where::kSegmentBoundary ? "SegmentBoundary"
                                                              : "AcrossSegments";
      name += c.stop == Stop::kClean                  ? "_Clean"
              : c.stop == Stop::kCrashStaleCheckpoint ? "_CrashStaleCheckpoint"
                                                      : "_Crash";
      return name + (c.append_after ? "_ThenAppend" : "");
    });

// A crash in the middle of a truncation: the holding segment's end was
// zeroed (the first thing TruncateTo makes durable) but the later segments
// were not unlinked yet. The next start finishes the job.
TEST_F(ReplicaRecoveryTest, ATruncationCutShortByACrashIsFinishedAtTheNextStart) {
  std::vector<std::pair<int64_t, std::string>> want;
  std::vector<int64_t> bases;
  int64_t checkpoint = 0;
  {
    auto log = Load(Crash());
    Fill(log.get(), 200);
    checkpoint = log->Flush().value();
    bases = Bases(*log);
    ASSERT_GT(bases.size(), 4u);
    // Keep copies of the later segments' files, truncate, put them back.
    std::map<std::string, std::vector<uint8_t>> saved;
    for (size_t i = 2; i < bases.size(); i++) {
      for (const char* ext : {".log", ".index", ".timeindex"}) {
        const std::string p = Segment::FileName(dir_, bases[i], ext);
        saved[p] = sentry::testing::FileBytes(p);
      }
    }
    const int64_t target = bases[1] + 3;
    ASSERT_TRUE(log->TruncateTo(target).ok());
    want = Records(*log);
    for (const auto& [path, bytes] : saved) {
      std::ofstream(path, std::ios::binary | std::ios::trunc)
          .write(reinterpret_cast<const char*>(bytes.data()),
                 static_cast<std::streamsize>(bytes.size()));
    }
  }
  for (bool stale : {true, false}) {
    SCOPED_TRACE(stale ? "stale checkpoint" : "no checkpoint");
    auto log = Load(Crash(stale ? checkpoint : 0));
    ASSERT_TRUE(log);
    EXPECT_EQ(Records(*log), want);
    EXPECT_EQ(Segment::ListBases(dir_).value(), std::vector(bases.begin(), bases.begin() + 2));
  }
}

// PartitionLog::StartOverAt, crashed after each of its durable steps and
// after it returned: the next start finds a prefix of the old log, or an
// empty log at the old or the new start, never a gap, never an offset below
// a persisted start given again. (The states are made by hand: the steps'
// files in the order StartOverAt writes them.)
TEST_F(ReplicaRecoveryTest, StartingOverSurvivesACrashAtEveryStep) {
  int64_t old_end = 0, checkpoint = 0, old_start = 0;
  std::vector<int64_t> old_bases;
  auto fill = [&] {
    std::filesystem::remove_all(dir_);
    auto log = Load(Crash());
    Fill(log.get(), 300);
    old_start = Bases(*log)[1] + 2;
    ASSERT_TRUE(log->AdvanceLogStart(old_start).ok());
    checkpoint = log->Flush().value();
    old_end = log->log_end_offset();
    old_bases = Segment::ListBases(dir_).value();
    ASSERT_GT(old_bases.size(), 3u);
    ASSERT_TRUE(log->Close().ok());
  };
  const int64_t start = 100000;
  // 1. Some of the old segments unlinked (newest first): a prefix.
  fill();
  for (size_t i = old_bases.size() - 2; i < old_bases.size(); i++) {
    ASSERT_TRUE(Segment::RemoveFiles(dir_, old_bases[i]).ok());
  }
  {
    auto log = Load(Crash(checkpoint));
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_start_offset(), old_start);
    EXPECT_EQ(log->log_end_offset(), old_bases[old_bases.size() - 2]);
    ASSERT_TRUE(log->Close().ok());
  }
  // ... all of them: empty at the old persisted start, not at 0.
  fill();
  for (int64_t b : old_bases) ASSERT_TRUE(Segment::RemoveFiles(dir_, b).ok());
  {
    auto log = Load(Crash(checkpoint));
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_start_offset(), old_start);
    EXPECT_EQ(log->log_end_offset(), old_start);
    ASSERT_TRUE(log->Close().ok());
  }
  // 2. And the new start persisted: empty there.
  fill();
  for (int64_t b : old_bases) ASSERT_TRUE(Segment::RemoveFiles(dir_, b).ok());
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/log-start-offset", std::to_string(start) + "\n").ok());
  {
    auto log = Load(Crash(checkpoint));
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_start_offset(), start);
    EXPECT_EQ(log->log_end_offset(), start);
    EXPECT_EQ(Segment::ListBases(dir_).value(), (std::vector<int64_t>{start}));
    // The old epoch file's last entry, moved up to the new start (the load
    // rules); the next epoch appended replaces it.
    const Entries left = log->leader_epochs().entries();
    ASSERT_LE(left.size(), 1u);
    if (!left.empty()) {
      EXPECT_EQ(left[0].start_offset, start);
    }
    ASSERT_TRUE(log->Close().ok());
  }
  // 3. The whole operation, then appends, then a crash; once past the end
  // and once below it (a leader's batch holding its log start).
  for (const int64_t at : {start, int64_t{7}}) {
    SCOPED_TRACE(at);
    fill();
    std::vector<std::pair<int64_t, std::string>> want;
    {
      auto log = Load(Crash(checkpoint));
      ASSERT_TRUE(log->StartOverAt(at).ok());
      EXPECT_EQ(Segment::ListBases(dir_).value(), (std::vector<int64_t>{at}));
      Fill(log.get(), 30, "new");
      want = Records(*log);
      ASSERT_EQ(want.front().first, at);
    }
    auto log = Load(Crash(0));
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log_start_offset(), at);
    EXPECT_EQ(Records(*log), want);
    EXPECT_EQ(log->leader_epochs().entries().front().start_offset, at);
  }
}

// The epoch a crash cut off the log is cut off the cache too, and the file
// is rewritten (an entry left there could come back once the log grows past
// it).
TEST_F(ReplicaRecoveryTest, EpochsStartingAtOrPastTheRecoveredEndAreDropped) {
  int64_t good_end = 0;
  {
    auto log = Load(Crash());
    Fill(log.get(), 30);  // epochs 1, 3, 6
    good_end = log->log_end_offset();
    AppendBatch(log.get(), 3, 8, "torn");  // starts epoch 8 at good_end
    ASSERT_EQ(log->leader_epochs().latest_epoch(), 8);
    // A torn write: the last batch's last byte differs in the file.
    auto r = log->Read(good_end, 1 << 20);
    ASSERT_TRUE(r.ok());
    const_cast<uint8_t*>(r->data)[r->size - 1] ^= 0x55;
  }
  auto log = Load(Crash());
  EXPECT_EQ(log->log_end_offset(), good_end);
  EXPECT_FALSE(report_.truncation.empty());
  EXPECT_EQ(report_.leader_epochs_dropped, 1);
  EXPECT_EQ(log->leader_epochs().latest_epoch(), 6);
  EXPECT_EQ(LeaderEpochCache::ReadCheckpoint(dir_).value(), log->leader_epochs().entries());
  // Epoch 8 may start again at the same place, now with its batch.
  EXPECT_EQ(AppendBatch(log.get(), 1, 8, "again").base_offset, good_end);
  EXPECT_EQ(log->leader_epochs().entries().back(), (Entry{8, good_end}));
}

TEST_F(ReplicaRecoveryTest, AMissingOrGarbledEpochFileIsRebuiltFromTheBatches) {
  Entries epochs;
  {
    auto log = Load(Crash());
    Fill(log.get(), 90);
    epochs = log->leader_epochs().entries();
    ASSERT_EQ(epochs.size(), 3u);
    ASSERT_TRUE(log->Close().ok());
  }
  const std::string file = dir_ + "/" + LeaderEpochCache::kFileName;
  const std::vector<std::string> damage = {"", "0\n3\n1 0\n3 9\n", "garbage", "0\n1\n5 x\n"};
  for (const std::string& text : damage) {
    SCOPED_TRACE("file: '" + text + "'");
    { std::ofstream(file, std::ios::trunc) << text; }
    auto log = Load(Clean());
    EXPECT_TRUE(report_.leader_epochs_rebuilt);
    EXPECT_EQ(log->leader_epochs().entries(), epochs);
    EXPECT_EQ(LeaderEpochCache::ReadCheckpoint(dir_).value(), epochs);  // written again
    ASSERT_TRUE(log->Close().ok());
  }
  fs::remove(file);
  {
    auto log = Load(Crash());
    EXPECT_TRUE(report_.leader_epochs_rebuilt);
    EXPECT_EQ(log->leader_epochs().entries(), epochs);
  }
  // Read as it was written: no walk the next time.
  auto log = Load(Crash());
  EXPECT_FALSE(report_.leader_epochs_rebuilt);
  EXPECT_EQ(log->leader_epochs().entries(), epochs);
}

TEST_F(ReplicaRecoveryTest, ANewPartitionWritesNoEpochFile) {
  auto log = Load(Crash());
  EXPECT_FALSE(report_.leader_epochs_rebuilt);
  EXPECT_TRUE(log->leader_epochs().entries().empty());
  EXPECT_FALSE(fs::exists(dir_ + "/" + LeaderEpochCache::kFileName));
  // A log written without epochs (batches carry the builder's 0) is walked
  // once at the next start, and the result kept.
  AppendBatch(log.get(), 2, -1);
  log.reset();
  log = Load(Crash());
  EXPECT_TRUE(report_.leader_epochs_rebuilt);
  EXPECT_EQ(log->leader_epochs().entries(), (Entries{{0, 0}}));
  EXPECT_TRUE(fs::exists(dir_ + "/" + LeaderEpochCache::kFileName));
}

// A retention pass that moved the log start and died before cutting the
// epoch file: the load cuts it.
TEST_F(ReplicaRecoveryTest, EpochsBelowThePersistedLogStartAreCutAtLoad) {
  Entries epochs;
  {
    auto log = Load(Crash());
    Fill(log.get(), 150);
    epochs = log->leader_epochs().entries();
    ASSERT_TRUE(log->Close().ok());
  }
  const int64_t start = epochs[1].start_offset + 2;
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/log-start-offset", std::to_string(start) + "\n").ok());
  auto log = Load(Clean());
  EXPECT_EQ(log->log_start_offset(), start);
  EXPECT_EQ(log->leader_epochs().entries(), (Entries{{3, start}, epochs[2]}));
  EXPECT_EQ(LeaderEpochCache::ReadCheckpoint(dir_).value(), log->leader_epochs().entries());
}

// Idempotent producers across a truncation and a crash: a snapshot from
// before the truncation, whose offset the log passes again with other
// batches, must not bring the dropped batches back.
TEST_F(ReplicaRecoveryTest, DroppedIdempotentBatchesStayForgottenAfterACrash) {
  auto batch = [](int32_t seq) {
    RecordBatchBuilder b(1000);
    b.SetProducer(11, 0, seq);
    b.Add(std::nullopt, "a");
    b.Add(std::nullopt, "b");
    return b.Build();
  };
  auto check = [&batch](PartitionLog* log, int32_t seq) {
    MutexLock l(&log->producers().mu());
    return log->producers().Check(batch(seq));
  };
  {
    auto log = Load(Crash());
    for (int i = 0; i < 10; i++) {
      MutexLock l(&log->producers().mu());
      auto b = batch(2 * i);
      BatchSetSummary s;
      ASSERT_TRUE(ValidateBatches(b, &s).ok());
      auto r = log->Append(b, s);
      ASSERT_TRUE(r.ok());
      log->producers().Record(b, r->base_offset);
    }
    ASSERT_TRUE(log->SnapshotProducers(/*force=*/true).ok());  // at offset 20
    ASSERT_TRUE(log->TruncateTo(8).ok());
    for (int i = 0; i < 10; i++) AppendBatch(log.get(), 3, -1, "other");  // past 20 again
    ASSERT_GT(log->log_end_offset(), 20);
  }
  auto log = Load(Crash());
  EXPECT_TRUE(check(log.get(), 6).duplicate);    // kept: offsets 6-7
  EXPECT_FALSE(check(log.get(), 8).duplicate);   // dropped
  EXPECT_FALSE(check(log.get(), 18).duplicate);  // dropped
  EXPECT_TRUE(check(log.get(), 8).status.ok());  // and the next in order
}

}  // namespace
}  // namespace sentry::recovery
