// Rebuilding idempotent producers' state at start-up: from the log alone,
// from a snapshot plus the batches after it, and past a snapshot that is
// damaged or ahead of a log that lost its tail.
#include "recovery/producer_state_loader.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "recovery/log_loader.h"
#include "storage/record_batch_builder.h"
#include "test_util.h"

namespace sentry::recovery {
namespace {

std::vector<uint8_t> Batch(int64_t pid, int32_t seq) {
  RecordBatchBuilder b(1000);
  b.SetProducer(pid, 0, seq);
  b.Add(std::nullopt, "v");
  b.Add(std::nullopt, "w");
  return b.Build();
}

class ProducerStateLoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.segment_bytes = 4 << 10;  // several segments
    cfg_.file.alloc_step = 8 << 10;
    dir_ = tmp_ / "p-0";
  }
  std::unique_ptr<PartitionLog> Open(RecoveryReport* report) {
    auto log = LoadPartition(dir_, cfg_, RecoveryOptions{}, report);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? std::move(log).value() : nullptr;
  }
  // Appends like the writer: check, append, record.
  void Append(PartitionLog* log, const std::vector<uint8_t>& b) {
    MutexLock l(&log->producers().mu());
    ASSERT_TRUE(log->producers().Check(b).status.ok());
    BatchSetSummary s;
    ASSERT_TRUE(ValidateBatches(b, &s).ok());
    auto r = log->Append(b, s);
    ASSERT_TRUE(r.ok());
    log->producers().Record(b, r->base_offset);
  }
  bool IsDuplicate(PartitionLog* log, const std::vector<uint8_t>& b) {
    MutexLock l(&log->producers().mu());
    return log->producers().Check(b).duplicate;
  }
  std::string Snapshot() const { return dir_ + "/" + ProducerState::kSnapshotFile; }

  testing::TempDir tmp_;
  LogConfig cfg_;
  std::string dir_;
};

TEST_F(ProducerStateLoaderTest, RebuiltFromTheLogWithoutASnapshot) {
  RecoveryReport report;
  {
    auto log = Open(&report);
    for (int i = 0; i < 60; i++) Append(log.get(), Batch(100 + i % 4, (i / 4) * 2));
    // No Close(): as after a crash, no snapshot was written.
  }
  ASSERT_FALSE(std::filesystem::exists(Snapshot()));
  auto log = Open(&report);
  EXPECT_EQ(report.producers, 4u);
  EXPECT_EQ(report.producer_batches_replayed, 60);
  EXPECT_TRUE(IsDuplicate(log.get(), Batch(103, 28)));
  EXPECT_FALSE(IsDuplicate(log.get(), Batch(103, 30)));
}

TEST_F(ProducerStateLoaderTest, CleanCloseWritesASnapshotAndTheRestartReplaysNothing) {
  RecoveryReport report;
  {
    auto log = Open(&report);
    for (int i = 0; i < 20; i++) Append(log.get(), Batch(7, i * 2));
    ASSERT_TRUE(log->Close().ok());
  }
  ASSERT_TRUE(std::filesystem::exists(Snapshot()));
  {
    auto log = Open(&report);
    EXPECT_EQ(report.producer_batches_replayed, 0);
    EXPECT_TRUE(IsDuplicate(log.get(), Batch(7, 38)));
    // More after the snapshot, then a crash: snapshot + replay of the tail.
    for (int i = 20; i < 25; i++) Append(log.get(), Batch(7, i * 2));
  }
  auto log = Open(&report);
  EXPECT_EQ(report.producer_batches_replayed, 5);
  EXPECT_TRUE(IsDuplicate(log.get(), Batch(7, 48)));
  EXPECT_TRUE(IsDuplicate(log.get(), Batch(7, 40)));
}

TEST_F(ProducerStateLoaderTest, DamagedOrAheadSnapshotsFallBackToTheWholeLog) {
  RecoveryReport report;
  {
    auto log = Open(&report);
    for (int i = 0; i < 10; i++) Append(log.get(), Batch(9, i * 2));
    ASSERT_TRUE(log->Close().ok());
  }
  {  // damaged
    std::fstream f(Snapshot(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(6);
    f.put('\x7f');
  }
  {
    auto log = Open(&report);
    EXPECT_EQ(report.producer_batches_replayed, 10);
    EXPECT_TRUE(IsDuplicate(log.get(), Batch(9, 18)));
  }
  // A snapshot from a longer log (its unsynced tail was lost): not trusted.
  ProducerState bigger;
  {
    MutexLock l(&bigger.mu());
    bigger.Replay(9, 0, 100, 101, 500, 501);
    std::string bytes = bigger.Serialize(1000);
    std::ofstream(Snapshot(), std::ios::binary | std::ios::trunc) << bytes;
  }
  auto log = Open(&report);
  EXPECT_EQ(report.producer_batches_replayed, 10);
  EXPECT_FALSE(IsDuplicate(log.get(), Batch(9, 100)));
  EXPECT_TRUE(IsDuplicate(log.get(), Batch(9, 18)));
}

// A snapshot ahead of the log (its tail lost to a crash, or cut by a
// truncation) is removed when it is passed over: left there, it would be
// trusted once the log grew past its offset again, and the batches appended
// below that offset would be forgotten.
TEST_F(ProducerStateLoaderTest, ASnapshotAheadOfTheLogIsRemovedNotTrustedLater) {
  RecoveryReport report;
  {
    auto log = Open(&report);
    for (int i = 0; i < 5; i++) Append(log.get(), Batch(9, i * 2));  // offsets 0-9
  }
  ProducerState ahead;  // as of offset 30, with a batch the log never got
  {
    MutexLock l(&ahead.mu());
    ahead.Replay(9, 0, 100, 101, 28, 29);
    std::ofstream(Snapshot(), std::ios::binary | std::ios::trunc) << ahead.Serialize(30);
  }
  {
    auto log = Open(&report);
    EXPECT_EQ(report.producer_batches_replayed, 5);
    EXPECT_FALSE(std::filesystem::exists(Snapshot()));
    for (int i = 5; i < 25; i++) Append(log.get(), Batch(9, i * 2));  // past offset 30
    // A crash: no snapshot written since.
  }
  auto log = Open(&report);
  EXPECT_EQ(report.producer_batches_replayed, 25);  // all of it: no snapshot to start from
  EXPECT_TRUE(IsDuplicate(log.get(), Batch(9, 48)));
  EXPECT_FALSE(IsDuplicate(log.get(), Batch(9, 100)));
}

}  // namespace
}  // namespace sentry::recovery
