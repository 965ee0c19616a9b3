// Idempotent producers' state: Kafka's sequence rules, the five-batch
// duplicate window, batches checked in order within one request, and the
// snapshot encoding.
#include "storage/producer_state.h"

#include <gtest/gtest.h>

#include <string>

#include "storage/record_batch_builder.h"

namespace sentry {
namespace {

std::vector<uint8_t> Batch(int64_t pid, int16_t epoch, int32_t seq, int records = 2) {
  RecordBatchBuilder b(1000);
  b.SetProducer(pid, epoch, seq);
  for (int i = 0; i < records; i++) b.Add(std::nullopt, "v" + std::to_string(i));
  return b.Build();
}

class ProducerStateTest : public ::testing::Test {
 protected:
  // Checks and, when it passes and is new, records it at `next_` like the writer.
  ProducerState::Verdict Append(const std::vector<uint8_t>& b) {
    MutexLock l(&ps_.mu());
    auto v = ps_.Check(b);
    if (v.status.ok() && !v.duplicate) {
      ps_.Record(b, next_);
      BatchSetSummary s;
      EXPECT_TRUE(ValidateBatches(b, &s).ok());
      next_ += s.record_count;
    }
    return v;
  }
  ProducerState ps_;
  int64_t next_ = 0;
};

TEST_F(ProducerStateTest, SequencesMustFollowAndRetriesAreDuplicates) {
  EXPECT_TRUE(Append(Batch(7, 0, 0)).status.ok());   // offsets 0-1, seq 0-1
  EXPECT_TRUE(Append(Batch(7, 0, 2)).status.ok());   // offsets 2-3, seq 2-3
  auto dup = Append(Batch(7, 0, 0));
  ASSERT_TRUE(dup.status.ok());
  EXPECT_TRUE(dup.duplicate);
  EXPECT_EQ(dup.first_offset, 0);
  EXPECT_EQ(dup.last_offset, 1);
  EXPECT_EQ(Append(Batch(7, 0, 9)).status.code(), Status::Code::kOutOfOrderSequence);
  EXPECT_EQ(Append(Batch(7, 0, 3)).status.code(), Status::Code::kOutOfOrderSequence);
  EXPECT_EQ(next_, 4);
}

TEST_F(ProducerStateTest, EpochsFenceAndRestartAtZero) {
  ASSERT_TRUE(Append(Batch(1, 3, 0)).status.ok());
  EXPECT_EQ(Append(Batch(1, 2, 2)).status.code(), Status::Code::kProducerFenced);
  EXPECT_EQ(Append(Batch(1, 4, 5)).status.code(), Status::Code::kOutOfOrderSequence);
  EXPECT_TRUE(Append(Batch(1, 4, 0)).status.ok());
  // The old epoch's batch is no duplicate any more: the epoch is fenced.
  EXPECT_EQ(Append(Batch(1, 3, 0)).status.code(), Status::Code::kProducerFenced);
}

TEST_F(ProducerStateTest, UnknownProducerMayStartAnywhereAndSequencesWrap) {
  EXPECT_TRUE(Append(Batch(5, 0, INT32_MAX - 1)).status.ok());  // seq MAX-1, MAX
  EXPECT_TRUE(Append(Batch(5, 0, 0)).status.ok());              // wraps to 0
  EXPECT_EQ(Append(Batch(5, 0, 5)).status.code(), Status::Code::kOutOfOrderSequence);
}

TEST_F(ProducerStateTest, OnlyTheLastFiveBatchesAreRemembered) {
  for (int i = 0; i < 6; i++) ASSERT_TRUE(Append(Batch(2, 0, i * 2)).status.ok());
  EXPECT_TRUE(Append(Batch(2, 0, 2)).duplicate);  // 2nd of 6: still in the window
  auto oldest = Append(Batch(2, 0, 0));            // 1st: fell out of it
  EXPECT_EQ(oldest.status.code(), Status::Code::kOutOfOrderSequence);
}

TEST_F(ProducerStateTest, BatchesOfOneRequestAreCheckedInOrder) {
  std::vector<uint8_t> two = Batch(3, 0, 0);
  auto next = Batch(3, 0, 2);
  two.insert(two.end(), next.begin(), next.end());
  EXPECT_TRUE(Append(two).status.ok());
  EXPECT_EQ(next_, 4);
  EXPECT_TRUE(Append(two).duplicate);
  std::vector<uint8_t> gap = Batch(3, 0, 4);
  auto bad = Batch(3, 0, 99);
  gap.insert(gap.end(), bad.begin(), bad.end());
  EXPECT_EQ(Append(gap).status.code(), Status::Code::kOutOfOrderSequence);
  EXPECT_EQ(next_, 4);  // nothing of the refused request recorded
  // A stored batch resent together with a new one: refused as a whole (all
  // or nothing), rather than storing the resent one twice.
  std::vector<uint8_t> mixed = Batch(3, 0, 2);
  auto fresh = Batch(3, 0, 4);
  mixed.insert(mixed.end(), fresh.begin(), fresh.end());
  EXPECT_EQ(Append(mixed).status.code(), Status::Code::kOutOfOrderSequence);
  EXPECT_EQ(next_, 4);
  EXPECT_TRUE(Append(fresh).status.ok());
  // Without producer ids a batch always passes.
  EXPECT_TRUE(Append(Batch(-1, -1, -1)).status.ok());
}

TEST_F(ProducerStateTest, SnapshotRoundTripsAndDetectsDamage) {
  for (int i = 0; i < 7; i++) ASSERT_TRUE(Append(Batch(10 + i % 3, 1, (i / 3) * 2)).status.ok());
  std::string bytes;
  {
    MutexLock l(&ps_.mu());
    bytes = ps_.Serialize(next_);
  }
  int64_t offset = 0;
  std::map<int64_t, ProducerState::Entry> producers;
  ASSERT_TRUE(ProducerState::Parse(bytes, &offset, &producers).ok());
  EXPECT_EQ(offset, next_);
  ASSERT_EQ(producers.size(), 3u);
  ProducerState copy;
  {
    MutexLock l(&copy.mu());
    copy.Reset(producers);
    EXPECT_TRUE(copy.Check(Batch(10, 1, 4)).duplicate);
    EXPECT_EQ(copy.Check(Batch(10, 1, 9)).status.code(), Status::Code::kOutOfOrderSequence);
  }
  for (size_t at : {size_t{0}, bytes.size() / 2, bytes.size() - 1}) {
    std::string bad = bytes;
    bad[at] ^= 0x01;
    EXPECT_FALSE(ProducerState::Parse(bad, &offset, &producers).ok()) << at;
  }
  EXPECT_FALSE(ProducerState::Parse(bytes.substr(0, 10), &offset, &producers).ok());
}

}  // namespace
}  // namespace sentry
