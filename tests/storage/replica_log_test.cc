// PartitionLog's side of replication: the leader stamping its epoch
// (Append), a follower storing the leader's batches verbatim
// (AppendReplica), and a diverged follower cutting its tail (TruncateTo).
// Reopening such logs through recovery: tests/recovery/replica_recovery_test.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "common/file_util.h"
#include "storage/partition_log.h"
#include "storage/replica_util.h"
#include "test_util.h"

namespace sentry {
namespace {

namespace fs = std::filesystem;
using testing::AppendBatch;
using testing::BatchEpochs;
using testing::FileBytes;
using testing::LogBytes;
using testing::Records;
using testing::Replicate;
using Entry = LeaderEpochCache::Entry;
using Entries = std::vector<Entry>;

class ReplicaLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.segment_bytes = 8 << 10;
    cfg_.index_max_entries = 4096;
    cfg_.file.alloc_step = 16 << 10;
    cfg_.file.prefault_ahead = 8 << 10;
  }
  std::unique_ptr<PartitionLog> Create(const std::string& name, const LogConfig& cfg) {
    auto log = PartitionLog::Create(dir_ / name, cfg);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(log).value() : nullptr;
  }
  std::unique_ptr<PartitionLog> Create(const std::string& name) { return Create(name, cfg_); }
  // A leader's log over several segments: 1-4 records per batch, epochs 1,
  // then 4 from batch 60, then 7 from batch 130.
  std::unique_ptr<PartitionLog> Leader(int batches = 200) {
    auto log = Create("leader-0");
    for (int i = 0; i < batches; i++) {
      const int32_t epoch = i < 60 ? 1 : i < 130 ? 4 : 7;
      AppendBatch(log.get(), 1 + i % 4, epoch, "l", i * 10, 40 + (i % 7) * 13, 1000 + i);
    }
    EXPECT_GT(log->segment_count(), static_cast<size_t>(batches / 50));
    return log;
  }
  std::vector<int64_t> Bases(const PartitionLog& log) {
    std::vector<int64_t> out;
    for (const auto& s : *log.SegmentsSnapshot()) out.push_back(s->base_offset());
    return out;
  }
  std::vector<int64_t> BasesOnDisk(const std::string& name) {
    return Segment::ListBases(dir_ / name).value();
  }
  // An idempotent producer's batch: sequences [seq, seq + records).
  static std::vector<uint8_t> ProducerBatch(int64_t pid, int32_t seq, int records = 2) {
    RecordBatchBuilder b(1000);
    b.SetProducer(pid, 0, seq);
    for (int i = 0; i < records; i++) b.Add(std::nullopt, "p" + std::to_string(seq + i));
    return b.Build();
  }
  // As the writer appends them: check, append, record under the state's lock.
  static void AppendChecked(PartitionLog* log, const std::vector<uint8_t>& b) {
    MutexLock l(&log->producers().mu());
    ASSERT_TRUE(log->producers().Check(b).status.ok());
    BatchSetSummary s;
    ASSERT_TRUE(ValidateBatches(b, &s).ok());
    auto r = log->Append(b, s);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    log->producers().Record(b, r->base_offset);
  }
  static ProducerState::Verdict Check(PartitionLog* log, const std::vector<uint8_t>& b) {
    MutexLock l(&log->producers().mu());
    return log->producers().Check(b);
  }

  testing::TempDir dir_;
  LogConfig cfg_;
};

// --- the leader's epoch ---

TEST_F(ReplicaLogTest, AppendStampsTheLeaderEpochAndRecordsWhereEachEpochStarts) {
  auto log = Create("t-0");
  AppendBatch(log.get(), 2, -1);  // no epoch: the field stays as built (0)
  EXPECT_TRUE(log->leader_epochs().entries().empty());
  EXPECT_EQ(AppendBatch(log.get(), 3, 3).base_offset, 2);
  AppendBatch(log.get(), 1, 3);
  EXPECT_EQ(AppendBatch(log.get(), 2, 5).base_offset, 6);
  EXPECT_EQ(BatchEpochs(*log), (std::vector<int32_t>{0, 3, 3, 5}));
  EXPECT_EQ(log->leader_epochs().entries(), (Entries{{3, 2}, {5, 6}}));
  EXPECT_EQ(LeaderEpochCache::ReadCheckpoint(log->dir()).value(), log->leader_epochs().entries());
  // The CRC does not cover the field: every stored batch still verifies.
  const std::vector<uint8_t> bytes = LogBytes(*log);
  BatchSetSummary sum;
  EXPECT_TRUE(ValidateBatches(bytes, &sum).ok());
  // A leader whose epoch is over cannot write.
  RecordBatchBuilder b(1000);
  b.Add(std::nullopt, "stale");
  auto stale = b.Build();
  ASSERT_TRUE(ValidateBatches(stale, &sum).ok());
  EXPECT_EQ(log->Append(stale, sum, 4).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(log->log_end_offset(), 8);
  EXPECT_EQ(LogBytes(*log), bytes);
}

// --- a follower's copy ---

// One batch per fetch: the follower rolls where the leader rolled, so even
// the files are the same, byte for byte.
TEST_F(ReplicaLogTest, AppendReplicaCopiesAMultiSegmentLogByteForByte) {
  auto leader = Leader();
  LogConfig fcfg = cfg_;
  fcfg.log_append_time = true;  // must not restamp what the leader wrote
  auto follower = Create("follower-0", fcfg);
  Replicate(*leader, follower.get(), /*max_bytes=*/1);
  ASSERT_EQ(follower->log_end_offset(), leader->log_end_offset());
  EXPECT_EQ(LogBytes(*follower), LogBytes(*leader));
  EXPECT_EQ(Records(*follower), Records(*leader));
  EXPECT_EQ(follower->leader_epochs().entries(), leader->leader_epochs().entries());
  EXPECT_EQ(follower->leader_epochs().entries(),
            (Entries{{1, 0},
                     {4, leader->leader_epochs().entries()[1].start_offset},
                     {7, leader->leader_epochs().entries()[2].start_offset}}));
  const std::vector<int64_t> bases = Bases(*leader);
  ASSERT_EQ(Bases(*follower), bases);
  for (size_t i = 0; i + 1 < bases.size(); i++) {  // sealed segments: whole files
    for (const char* ext : {".log", ".index", ".timeindex"}) {
      EXPECT_EQ(FileBytes(Segment::FileName(follower->dir(), bases[i], ext)),
                FileBytes(Segment::FileName(leader->dir(), bases[i], ext)))
          << bases[i] << ext;
    }
  }
  for (int64_t ts : {999, 1050, 1150, 5000}) {
    EXPECT_EQ(follower->OffsetForTimestamp(ts), leader->OffsetForTimestamp(ts)) << ts;
  }
  EXPECT_EQ(follower->Flush().value(), leader->log_end_offset());
}

TEST_F(ReplicaLogTest, AppendReplicaInLargeFetchesKeepsEveryByte) {
  auto leader = Leader();
  auto follower = Create("follower-0");
  Replicate(*leader, follower.get(), /*max_bytes=*/3000);
  EXPECT_EQ(follower->log_end_offset(), leader->log_end_offset());
  EXPECT_EQ(LogBytes(*follower), LogBytes(*leader));
  EXPECT_EQ(follower->leader_epochs().entries(), leader->leader_epochs().entries());
  for (int64_t o = 0; o < follower->log_end_offset(); o += 7) {
    auto r = follower->Read(o, 1);
    ASSERT_TRUE(r.ok()) << o;
    EXPECT_LE(RecordBatchView(r->data).base_offset(), o);
    EXPECT_GE(RecordBatchView(r->data).last_offset(), o);
  }
}

// An overlap means the follower's log end is wrong: refused, nothing
// changes. (A gap is the leader's cleaner's and is taken: LogCleanerTest.
// AFollowerTakesACleanedLeadersBatchesGapsIncluded.)
TEST_F(ReplicaLogTest, AppendReplicaRefusesAnOverlapAndChangesNothing) {
  auto leader = Leader(100);
  auto follower = Create("follower-0");
  // The follower has the first 40 batches.
  while (follower->log_end_offset() < leader->log_end_offset() &&
         BatchEpochs(*follower).size() < 40) {
    auto r = leader->Read(follower->log_end_offset(), 1);
    BatchSetSummary sum;
    ASSERT_TRUE(ValidateBatches(r->bytes(), &sum).ok());
    ASSERT_TRUE(follower->AppendReplica(r->bytes(), sum).ok());
  }
  const int64_t end = follower->log_end_offset();
  const std::vector<uint8_t> before = LogBytes(*follower);
  const Entries epochs = follower->leader_epochs().entries();
  const int64_t size = follower->size_bytes();
  auto batch = [](int64_t base, int32_t epoch, int records) {
    RecordBatchBuilder b(2000);
    for (int i = 0; i < records; i++) b.Add(std::nullopt, "x");
    auto bytes = b.Build(base);
    RecordBatchView::SetPartitionLeaderEpoch(bytes.data(), epoch);
    return bytes;
  };
  auto expect_refused = [&](const std::vector<uint8_t>& bytes, Status::Code code) {
    BatchSetSummary sum;
    ASSERT_TRUE(ValidateBatches(bytes, &sum).ok());
    auto r = follower->AppendReplica(bytes, sum);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), code) << r.status().ToString();
    EXPECT_EQ(follower->log_end_offset(), end);
    EXPECT_EQ(follower->size_bytes(), size);
    EXPECT_EQ(LogBytes(*follower), before);
    EXPECT_EQ(follower->leader_epochs().entries(), epochs);  // the newer epoch 9 not taken
  };
  expect_refused(batch(end - 1, 9, 2), Status::Code::kOutOfRange);  // an overlap
  expect_refused(batch(0, 9, 2), Status::Code::kOutOfRange);
  // The first batch fits, the second overlaps it: nothing of the set is
  // appended.
  std::vector<uint8_t> set = batch(end, 9, 3);
  auto overlap = batch(end + 2, 9, 1);
  set.insert(set.end(), overlap.begin(), overlap.end());
  expect_refused(set, Status::Code::kInvalidArgument);
  // The same follower still takes what continues it.
  Replicate(*leader, follower.get(), 1 << 20);
  EXPECT_EQ(LogBytes(*follower), LogBytes(*leader));
}

TEST_F(ReplicaLogTest, AppendReplicaKeepsIdempotentProducersForWhenTheFollowerLeads) {
  auto leader = Create("leader-0");
  for (int i = 0; i < 8; i++) AppendChecked(leader.get(), ProducerBatch(42, 2 * i));
  auto follower = Create("follower-0");
  Replicate(*leader, follower.get(), 1 << 20);
  EXPECT_TRUE(Check(follower.get(), ProducerBatch(42, 14)).duplicate);
  EXPECT_EQ(Check(follower.get(), ProducerBatch(42, 14)).first_offset, 14);
  EXPECT_TRUE(Check(follower.get(), ProducerBatch(42, 16)).status.ok());
  EXPECT_FALSE(Check(follower.get(), ProducerBatch(42, 20)).status.ok());  // out of order
}

// --- truncation ---

TEST_F(ReplicaLogTest, TruncateInTheActiveSegmentCutsAtTheBatchHoldingTheOffset) {
  cfg_.segment_bytes = 1 << 20;  // one segment
  auto log = Create("t-0");
  std::vector<AppendInfo> infos;
  for (int i = 0; i < 30; i++) {
    infos.push_back(AppendBatch(log.get(), 3, 2, "a", 3 * i, 40, 1000 + 10 * i));
  }
  ASSERT_EQ(log->segment_count(), 1u);
  ASSERT_EQ(log->Flush().value(), 90);
  const auto old_records = Records(*log);
  // Offset 61 is inside the batch [60, 62].
  ASSERT_TRUE(log->TruncateTo(61).ok());
  EXPECT_EQ(log->log_end_offset(), 60);
  EXPECT_EQ(log->high_watermark(), 60);
  EXPECT_EQ(log->durable_offset(), 60);
  EXPECT_EQ(Records(*log), std::vector(old_records.begin(), old_records.begin() + 60));
  EXPECT_EQ(log->Read(61, 1 << 20).status().code(), Status::Code::kOutOfRange);
  EXPECT_EQ(log->Read(60, 1 << 20)->size, 0u);
  EXPECT_EQ(log->OffsetForTimestamp(1000 + 10 * 19), 57);
  EXPECT_EQ(log->OffsetForTimestamp(1000 + 10 * 25), 60);  // its time index entry went
  // On disk, from the batch at offset 60 on, the .log holds zeros.
  const std::vector<uint8_t> file = FileBytes(Segment::FileName(log->dir(), 0, ".log"));
  const size_t cut = infos[20].position;
  ASSERT_GT(file.size(), infos[29].position);
  EXPECT_TRUE(std::all_of(file.begin() + static_cast<std::ptrdiff_t>(cut), file.end(),
                          [](uint8_t b) { return b == 0; }));
  EXPECT_FALSE(std::all_of(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(cut),
                           [](uint8_t b) { return b == 0; }));
  // Appends continue at the new end, at the same position, and are read,
  // indexed and flushed as any.
  AppendInfo next = AppendBatch(log.get(), 2, 3, "b", 0, 40, 1000 + 10 * 25);
  EXPECT_EQ(next.base_offset, 60);
  EXPECT_EQ(next.position, cut);
  auto records = Records(*log);
  ASSERT_EQ(records.size(), 62u);
  EXPECT_EQ(records[60].second.substr(0, 3), "b-0");
  EXPECT_EQ(records[61].first, 61);
  EXPECT_EQ(log->OffsetForTimestamp(1000 + 10 * 25), 60);
  EXPECT_EQ(log->Flush().value(), 62);
  EXPECT_EQ(log->leader_epochs().entries(), (Entries{{2, 0}, {3, 60}}));
}

TEST_F(ReplicaLogTest, TruncateExactlyAtASegmentBoundaryEmptiesThatSegment) {
  auto log = Leader();
  const std::vector<int64_t> bases = Bases(*log);
  ASSERT_GT(bases.size(), 4u);
  const auto old_records = Records(*log);
  ASSERT_TRUE(log->TruncateTo(bases[2]).ok());
  EXPECT_EQ(log->log_end_offset(), bases[2]);
  // The segment at the boundary stays, empty, as the active one; the later
  // ones are gone from the list and the disk.
  EXPECT_EQ(Bases(*log), std::vector(bases.begin(), bases.begin() + 3));
  EXPECT_EQ(BasesOnDisk("leader-0"), Bases(*log));
  EXPECT_EQ(Records(*log), std::vector(old_records.begin(), old_records.begin() + bases[2]));
  const std::vector<uint8_t> file = FileBytes(Segment::FileName(log->dir(), bases[2], ".log"));
  EXPECT_TRUE(std::all_of(file.begin(), file.end(), [](uint8_t b) { return b == 0; }));
  AppendInfo next = AppendBatch(log.get(), 1, 9, "new");
  EXPECT_EQ(next.base_offset, bases[2]);
  EXPECT_EQ(next.position, 0u);
  EXPECT_EQ(log->segment_count(), 3u);
}

// The new end inside a sealed segment: it becomes the active segment again,
// takes appends until it is full, then rolls as usual.
TEST_F(ReplicaLogTest, TruncateAcrossSeveralSegmentsReopensTheSealedOneHoldingTheEnd) {
  auto log = Leader();
  const std::vector<int64_t> bases = Bases(*log);
  ASSERT_GT(bases.size(), 4u);
  const auto old_records = Records(*log);
  const int64_t target = bases[1] + (bases[2] - bases[1]) / 2;
  ASSERT_TRUE(log->TruncateTo(target).ok());
  const int64_t end = log->log_end_offset();
  EXPECT_LE(end, target);
  EXPECT_GT(end, bases[1]);
  EXPECT_GT(end, target - 4);  // batches hold at most 4 records
  EXPECT_EQ(Bases(*log), std::vector(bases.begin(), bases.begin() + 2));
  EXPECT_EQ(BasesOnDisk("leader-0"), Bases(*log));
  EXPECT_EQ(Records(*log), std::vector(old_records.begin(), old_records.begin() + end));
  EXPECT_EQ(log->durable_offset(), 0);  // nothing was flushed
  // Fill the reopened segment until it rolls; offsets continue throughout.
  int64_t expect = end;
  for (int i = 0; log->segment_count() < 4; i++) {
    AppendInfo info = AppendBatch(log.get(), 2, 8, "n", 2 * i);
    ASSERT_EQ(info.base_offset, expect);
    expect += 2;
  }
  const std::vector<int64_t> now = Bases(*log);
  EXPECT_EQ(now[1], bases[1]);
  EXPECT_GT(now[2], end);
  const auto records = Records(*log);
  ASSERT_EQ(records.size(), static_cast<size_t>(expect));
  for (int64_t o = 0; o < expect; o++) ASSERT_EQ(records[o].first, o);
  EXPECT_EQ(records[end].second.substr(0, 3), "n-0");
  EXPECT_EQ(log->Flush().value(), expect);
  EXPECT_EQ(log->leader_epochs().entries().back(), (Entry{8, end}));
}

TEST_F(ReplicaLogTest, TruncateOutsideTheLogDoesNothingOrIsRefused) {
  auto log = Leader();
  const int64_t end = log->log_end_offset();
  const std::vector<uint8_t> bytes = LogBytes(*log);
  EXPECT_TRUE(log->TruncateTo(end).ok());
  EXPECT_TRUE(log->TruncateTo(end + 100).ok());
  EXPECT_EQ(LogBytes(*log), bytes);
  const std::vector<int64_t> bases = Bases(*log);
  // The log start at the last record of a batch of the third segment.
  int64_t base = bases[2];
  int64_t last = base;
  for (;;) {
    auto r = log->Read(base, 1);
    ASSERT_TRUE(r.ok());
    last = RecordBatchView(r->data).last_offset();
    if (last > base) break;
    base = last + 1;
  }
  const int64_t start = last;
  ASSERT_TRUE(log->AdvanceLogStart(start).ok());
  EXPECT_EQ(log->TruncateTo(start - 1).code(), Status::Code::kOutOfRange);
  // The batch holding the start begins below it: it cannot go either.
  EXPECT_EQ(log->TruncateTo(start).code(), Status::Code::kOutOfRange);
  EXPECT_EQ(log->log_end_offset(), end);
  EXPECT_FALSE(log->offline());
  ASSERT_TRUE(log->TruncateTo(last + 1).ok());
  EXPECT_EQ(log->log_end_offset(), last + 1);
  EXPECT_EQ(log->log_start_offset(), start);
}

TEST_F(ReplicaLogTest, TruncateForgetsTheEpochsAndCleanedOffsetsPastTheNewEnd) {
  auto log = Leader();
  const Entries epochs = log->leader_epochs().entries();
  ASSERT_EQ(epochs.size(), 3u);
  ASSERT_TRUE(log->SetCleanedOffset(epochs[2].start_offset + 3).ok());
  ASSERT_TRUE(log->TruncateTo(epochs[2].start_offset).ok());  // where epoch 7 began
  EXPECT_EQ(log->leader_epochs().entries(), (Entries{epochs[0], epochs[1]}));
  EXPECT_EQ(LeaderEpochCache::ReadCheckpoint(log->dir()).value(), log->leader_epochs().entries());
  EXPECT_EQ(log->leader_epochs().EndOffsetFor(7, log->log_end_offset()),
            std::make_pair(4, epochs[2].start_offset));
  EXPECT_EQ(log->cleaned_offset(), epochs[2].start_offset);
  EXPECT_EQ(PartitionLog::ReadCleanerCheckpoint(log->dir()).value(), epochs[2].start_offset);
  // A new leader's epoch 6 (older than the dropped 7) can now be written.
  EXPECT_EQ(AppendBatch(log.get(), 1, 6, "six").base_offset, epochs[2].start_offset);
  EXPECT_EQ(log->leader_epochs().latest_epoch(), 6);
}

TEST_F(ReplicaLogTest, AdvancingTheLogStartCutsTheEpochsBelowIt) {
  auto log = Leader();
  const Entries epochs = log->leader_epochs().entries();
  const int64_t target = epochs[1].start_offset + 5;  // epoch 4 wrote it
  ASSERT_LT(target, epochs[2].start_offset);
  ASSERT_TRUE(log->AdvanceLogStart(target).ok());
  EXPECT_EQ(log->leader_epochs().entries(), (Entries{{4, target}, epochs[2]}));
  EXPECT_EQ(LeaderEpochCache::ReadCheckpoint(log->dir()).value(), log->leader_epochs().entries());
}

// A dropped batch must not stay known to the idempotent producers' state,
// and what was evicted from it (older batches) comes back from the log.
TEST_F(ReplicaLogTest, TruncateForgetsDroppedIdempotentBatches) {
  auto log = Create("t-0");
  // Batch i holds sequences and offsets 2i and 2i + 1.
  for (int i = 0; i < 8; i++) AppendChecked(log.get(), ProducerBatch(7, 2 * i));
  ASSERT_TRUE(log->SnapshotProducers(/*force=*/true).ok());
  const std::string snapshot = log->dir() + "/" + ProducerState::kSnapshotFile;
  ASSERT_TRUE(fs::exists(snapshot));
  ASSERT_TRUE(log->TruncateTo(10).ok());  // batches 5, 6 and 7 go
  EXPECT_EQ(log->log_end_offset(), 10);
  EXPECT_FALSE(fs::exists(snapshot));  // it was taken at offset 16
  // Batches 0-4 are all known again (0 had been evicted: five are kept).
  for (int i = 0; i < 5; i++) {
    auto v = Check(log.get(), ProducerBatch(7, 2 * i));
    EXPECT_TRUE(v.duplicate) << i;
    EXPECT_EQ(v.first_offset, 2 * i);
  }
  // The dropped one is new again, and in order.
  auto v = Check(log.get(), ProducerBatch(7, 10));
  EXPECT_TRUE(v.status.ok()) << v.status.ToString();
  EXPECT_FALSE(v.duplicate);
  EXPECT_EQ(Check(log.get(), ProducerBatch(7, 12)).status.code(),
            Status::Code::kOutOfOrderSequence);
  AppendChecked(log.get(), ProducerBatch(7, 10));
  EXPECT_EQ(log->log_end_offset(), 12);
}

TEST_F(ReplicaLogTest, ASnapshotBelowTheNewEndIsKept) {
  auto log = Create("t-0");
  for (int i = 0; i < 4; i++) AppendChecked(log.get(), ProducerBatch(7, 2 * i));
  ASSERT_TRUE(log->SnapshotProducers(/*force=*/true).ok());  // at offset 8
  for (int i = 4; i < 8; i++) AppendChecked(log.get(), ProducerBatch(7, 2 * i));
  ASSERT_TRUE(log->TruncateTo(12).ok());
  EXPECT_TRUE(fs::exists(log->dir() + "/" + ProducerState::kSnapshotFile));
  EXPECT_TRUE(Check(log.get(), ProducerBatch(7, 10)).duplicate);
  EXPECT_FALSE(Check(log.get(), ProducerBatch(7, 12)).duplicate);
}

TEST_F(ReplicaLogTest, AReaderHoldingATruncatedSegmentStillReadsItsBytes) {
  auto log = Leader();
  const std::vector<int64_t> bases = Bases(*log);
  auto held = log->Read(bases[3], 1 << 20);
  ASSERT_TRUE(held.ok());
  const std::vector<uint8_t> copy(held->bytes().begin(), held->bytes().end());
  ASSERT_TRUE(log->TruncateTo(bases[1] + 1).ok());
  EXPECT_FALSE(fs::exists(Segment::FileName(log->dir(), bases[3], ".log")));
  ASSERT_TRUE(std::equal(copy.begin(), copy.end(), held->data));
  RecordBatchView v;
  EXPECT_TRUE(RecordBatchView::Parse(held->data, held->size, &v).ok());
}

// The follower's whole cycle: copy, diverge (the old leader wrote batches
// nobody else got), truncate to where the new leader's epoch says, copy on.
TEST_F(ReplicaLogTest, ADivergedFollowerTruncatesToTheLeadersEpochEndAndCatchesUp) {
  auto leader = Leader(120);  // epochs 1 and 4
  auto follower = Create("follower-0");
  Replicate(*leader, follower.get(), 5000);
  // The follower, leader of epoch 5 for a moment, wrote batches no one got.
  for (int i = 0; i < 30; i++) AppendBatch(follower.get(), 3, 5, "lost", 3 * i);
  // The other replica became leader of epoch 6 and wrote its own.
  for (int i = 0; i < 40; i++) AppendBatch(leader.get(), 2, 6, "kept", 2 * i);
  // OffsetForLeaderEpoch(5) on the new leader: epoch 4 ends where 6 began.
  const auto [epoch, end] = leader->leader_epochs().EndOffsetFor(
      follower->leader_epochs().latest_epoch(), leader->log_end_offset());
  EXPECT_EQ(epoch, 4);
  ASSERT_TRUE(follower->TruncateTo(end).ok());
  EXPECT_EQ(follower->leader_epochs().latest_epoch(), 4);
  Replicate(*leader, follower.get(), 5000);
  EXPECT_EQ(LogBytes(*follower), LogBytes(*leader));
  EXPECT_EQ(follower->leader_epochs().entries(), leader->leader_epochs().entries());
}

// A follower that was away while the leader's retention removed everything
// it lacks drops its log and continues at the leader's log start.
TEST_F(ReplicaLogTest, AFollowerBelowTheLeadersLogStartStartsOverThereAndCatchesUp) {
  auto leader = Leader();
  auto follower = Create("follower-0");
  for (int i = 0; i < 4; i++) AppendChecked(follower.get(), ProducerBatch(7, 2 * i));
  ASSERT_TRUE(follower->SnapshotProducers(/*force=*/true).ok());
  AppendBatch(follower.get(), 3, 1, "own");
  ASSERT_TRUE(follower->leader_epochs().latest_epoch() == 1);
  const std::string snapshot = follower->dir() + "/" + ProducerState::kSnapshotFile;
  ASSERT_TRUE(fs::exists(snapshot));
  const int64_t old_end = follower->log_end_offset();
  // The leader's retention: everything below its third segment goes.
  const int64_t start = Bases(*leader)[2];
  ASSERT_GT(start, old_end);
  ASSERT_TRUE(leader->AdvanceLogStart(start).ok());

  // A negative offset: refused, nothing changes.
  EXPECT_EQ(follower->StartOverAt(-1).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(follower->log_end_offset(), old_end);
  EXPECT_EQ(follower->log_start_offset(), 0);
  EXPECT_TRUE(fs::exists(snapshot));

  ASSERT_TRUE(follower->StartOverAt(start).ok());
  EXPECT_EQ(follower->log_start_offset(), start);
  EXPECT_EQ(follower->log_end_offset(), start);
  EXPECT_EQ(follower->high_watermark(), start);
  EXPECT_EQ(follower->durable_offset(), start);
  EXPECT_EQ(Bases(*follower), (std::vector<int64_t>{start}));
  EXPECT_EQ(BasesOnDisk("follower-0"), (std::vector<int64_t>{start}));
  EXPECT_EQ(follower->leader_epochs().latest_epoch(), -1);
  EXPECT_TRUE(LeaderEpochCache::ReadCheckpoint(follower->dir()).value().empty());
  EXPECT_FALSE(fs::exists(snapshot));
  // The producer is forgotten with its batches: its next batch is new.
  EXPECT_FALSE(Check(follower.get(), ProducerBatch(7, 0)).duplicate);
  EXPECT_EQ(follower->Read(start - 1, 1 << 10).status().code(), Status::Code::kOutOfRange);

  Replicate(*leader, follower.get(), 5000);
  EXPECT_EQ(LogBytes(*follower), LogBytes(*leader));
  EXPECT_EQ(Records(*follower), Records(*leader));
  EXPECT_EQ(follower->leader_epochs().entries(), leader->leader_epochs().entries());
}

// The leader's log start inside a batch (DeleteRecords to any offset): the
// empty copy starts again at that batch's base, and the leader's log start
// follows as the fetcher moves it (AdvanceLogStart).
TEST_F(ReplicaLogTest, AnEmptyCopyStartsOverAtTheBatchHoldingTheLeadersLogStart) {
  auto leader = Leader();
  const int64_t base = Bases(*leader)[2];
  auto first = leader->Read(base, 1);
  ASSERT_TRUE(first.ok());
  const RecordBatchView batch(first->data);
  ASSERT_GT(batch.last_offset(), base) << "the test needs a batch of several records";
  const int64_t start = base + 1;
  ASSERT_TRUE(leader->AdvanceLogStart(start).ok());
  auto follower = Create("follower-0");
  AppendBatch(follower.get(), 2, 1, "own");
  // Below a non-empty log's end works too (the caller knows the log is of
  // no use): everything goes.
  AppendBatch(follower.get(), 1, -1, "x");
  ASSERT_TRUE(follower->StartOverAt(1).ok());
  EXPECT_EQ(follower->log_end_offset(), 1);
  EXPECT_EQ(follower->log_start_offset(), 1);
  EXPECT_TRUE(Records(*follower).empty());
  // Already empty there: nothing to do.
  ASSERT_TRUE(follower->StartOverAt(1).ok());
  EXPECT_EQ(BasesOnDisk("follower-0"), (std::vector<int64_t>{1}));
  ASSERT_TRUE(follower->StartOverAt(start).ok());
  // The fetch at `start` is answered with the batch holding it.
  auto r = leader->Read(start, 3000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(RecordBatchView(r->data).base_offset(), base);
  BatchSetSummary sum;
  ASSERT_TRUE(ValidateBatches(r->bytes(), &sum).ok());
  EXPECT_EQ(follower->AppendReplica(r->bytes(), sum).status().code(), Status::Code::kOutOfRange);
  ASSERT_TRUE(follower->StartOverAt(base).ok());
  EXPECT_EQ(follower->log_start_offset(), base);
  EXPECT_EQ(BasesOnDisk("follower-0"), (std::vector<int64_t>{base}));
  ASSERT_TRUE(follower->AppendReplica(r->bytes(), sum).ok());
  Replicate(*leader, follower.get(), 3000);
  ASSERT_TRUE(follower->AdvanceLogStart(leader->log_start_offset()).ok());
  EXPECT_EQ(follower->log_start_offset(), start);
  EXPECT_EQ(Records(*follower), Records(*leader));
}

}  // namespace
}  // namespace sentry
