// The leader epoch cache (Kafka's LeaderEpochFileCache): assignment rules,
// OffsetForLeaderEpoch answers, truncation from both ends, and the
// `leader-epoch-checkpoint` file (format, atomic rewrite, garbage).
#include "storage/leader_epoch_cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/file_util.h"
#include "test_util.h"

namespace sentry {
namespace {

using Entry = LeaderEpochCache::Entry;
using Entries = std::vector<Entry>;

class LeaderEpochCacheTest : public ::testing::Test {
 protected:
  std::string File() const { return dir_ / LeaderEpochCache::kFileName; }
  Entries Stored() const {
    auto e = LeaderEpochCache::ReadCheckpoint(dir_.path());
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? e.value() : Entries{};
  }
  testing::TempDir dir_;
};

TEST_F(LeaderEpochCacheTest, NewerEpochsAreAddedEqualIgnoredOlderRefused) {
  LeaderEpochCache cache(dir_.path());
  EXPECT_EQ(cache.latest_epoch(), -1);
  EXPECT_FALSE(std::filesystem::exists(File()));  // nothing written until it changes
  ASSERT_TRUE(cache.Assign(2, 0).ok());
  ASSERT_TRUE(cache.Assign(2, 15).ok());  // same epoch: its start stays
  ASSERT_TRUE(cache.Assign(5, 40).ok());
  EXPECT_EQ(cache.latest_epoch(), 5);
  EXPECT_EQ(cache.entries(), (Entries{{2, 0}, {5, 40}}));
  Status older = cache.Assign(4, 60);
  EXPECT_EQ(older.code(), Status::Code::kInvalidArgument) << older.ToString();
  EXPECT_EQ(cache.Assign(-1, 60).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(cache.Assign(6, -3).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(cache.entries(), (Entries{{2, 0}, {5, 40}}));
  EXPECT_EQ(Stored(), cache.entries());
}

// An epoch that began and wrote nothing (or whose batches were cut off)
// names no batch once a newer one starts at or below its start.
TEST_F(LeaderEpochCacheTest, ANewerEpochReplacesEntriesStartingAtOrAfterIt) {
  LeaderEpochCache cache(dir_.path());
  ASSERT_TRUE(cache.Assign(1, 0).ok());
  ASSERT_TRUE(cache.Assign(2, 10).ok());
  ASSERT_TRUE(cache.Assign(3, 10).ok());  // epoch 2 wrote nothing
  EXPECT_EQ(cache.entries(), (Entries{{1, 0}, {3, 10}}));
  ASSERT_TRUE(cache.Assign(4, 5).ok());
  EXPECT_EQ(cache.entries(), (Entries{{1, 0}, {4, 5}}));
  EXPECT_EQ(Stored(), cache.entries());
}

TEST_F(LeaderEpochCacheTest, EndOffsetForAnswersAsOffsetForLeaderEpoch) {
  LeaderEpochCache cache(dir_.path());
  EXPECT_EQ(cache.EndOffsetFor(0, 100), std::make_pair(-1, int64_t{-1}));  // empty
  ASSERT_TRUE(cache.Assign(1, 0).ok());
  ASSERT_TRUE(cache.Assign(3, 10).ok());
  ASSERT_TRUE(cache.Assign(5, 20).ok());
  const int64_t leo = 30;
  using P = std::pair<int32_t, int64_t>;
  EXPECT_EQ(cache.EndOffsetFor(-1, leo), P(-1, -1));  // undefined epoch
  EXPECT_EQ(cache.EndOffsetFor(0, leo), P(-1, -1));   // below the first entry
  EXPECT_EQ(cache.EndOffsetFor(1, leo), P(1, 10));    // ends where epoch 3 starts
  EXPECT_EQ(cache.EndOffsetFor(2, leo), P(1, 10));    // unknown: the largest below it
  EXPECT_EQ(cache.EndOffsetFor(3, leo), P(3, 20));
  EXPECT_EQ(cache.EndOffsetFor(4, leo), P(3, 20));
  EXPECT_EQ(cache.EndOffsetFor(5, leo), P(5, leo));  // the latest ends at the log end
  EXPECT_EQ(cache.EndOffsetFor(9, leo), P(5, leo));  // above the latest: the latest
}

TEST_F(LeaderEpochCacheTest, TruncateFromEndDropsEpochsStartingAtOrAfterTheOffset) {
  LeaderEpochCache cache(dir_.path());
  ASSERT_TRUE(cache.Assign(1, 0).ok());
  ASSERT_TRUE(cache.Assign(3, 10).ok());
  ASSERT_TRUE(cache.Assign(5, 20).ok());
  ASSERT_TRUE(cache.TruncateFromEnd(25).ok());  // inside epoch 5: kept
  EXPECT_EQ(cache.entries().size(), 3u);
  ASSERT_TRUE(cache.TruncateFromEnd(20).ok());  // exactly where epoch 5 starts
  EXPECT_EQ(cache.entries(), (Entries{{1, 0}, {3, 10}}));
  EXPECT_EQ(cache.latest_epoch(), 3);
  EXPECT_EQ(cache.EndOffsetFor(3, 17), std::make_pair(3, int64_t{17}));
  EXPECT_EQ(Stored(), cache.entries());
  ASSERT_TRUE(cache.TruncateFromEnd(0).ok());
  EXPECT_TRUE(cache.entries().empty());
  EXPECT_EQ(cache.latest_epoch(), -1);
  EXPECT_TRUE(Stored().empty());
  // After a truncation an epoch as old as the dropped ones may start again.
  ASSERT_TRUE(cache.Assign(2, 0).ok());
  EXPECT_EQ(cache.latest_epoch(), 2);
}

TEST_F(LeaderEpochCacheTest, TruncateFromStartMovesTheFirstKeptEpochToTheLogStart) {
  LeaderEpochCache cache(dir_.path());
  ASSERT_TRUE(cache.Assign(1, 0).ok());
  ASSERT_TRUE(cache.Assign(3, 10).ok());
  ASSERT_TRUE(cache.Assign(5, 20).ok());
  ASSERT_TRUE(cache.TruncateFromStart(0).ok());
  EXPECT_EQ(cache.entries().size(), 3u);
  ASSERT_TRUE(cache.TruncateFromStart(12).ok());  // epoch 3 wrote offset 12
  EXPECT_EQ(cache.entries(), (Entries{{3, 12}, {5, 20}}));
  ASSERT_TRUE(cache.TruncateFromStart(20).ok());
  EXPECT_EQ(cache.entries(), (Entries{{5, 20}}));
  ASSERT_TRUE(cache.TruncateFromStart(26).ok());
  EXPECT_EQ(cache.entries(), (Entries{{5, 26}}));
  EXPECT_EQ(Stored(), cache.entries());
  EXPECT_EQ(cache.EndOffsetFor(3, 30), std::make_pair(-1, int64_t{-1}));
}

TEST_F(LeaderEpochCacheTest, TheFileIsKafkasTextFormat) {
  LeaderEpochCache cache(dir_.path());
  ASSERT_TRUE(cache.Assign(0, 0).ok());
  ASSERT_TRUE(cache.Assign(7, 1234567890123).ok());
  EXPECT_EQ(ReadFile(File()).value(), "0\n2\n0 0\n7 1234567890123\n");
  // No temporary file is left behind by the atomic rewrite.
  size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir_.path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
  // A second cache reads back what the first wrote.
  LeaderEpochCache again(dir_.path());
  ASSERT_TRUE(again.Restore(Stored(), /*persist=*/false).ok());
  EXPECT_EQ(again.entries(), cache.entries());
  EXPECT_EQ(again.latest_epoch(), 7);
}

TEST_F(LeaderEpochCacheTest, GarbledFilesAreCorruptionAndAMissingOneIsNotFound) {
  EXPECT_TRUE(LeaderEpochCache::ReadCheckpoint(dir_.path()).status().IsNotFound());
  const std::vector<std::string> bad = {
      "",                       // empty
      "1\n1\n0 0\n",            // unknown version
      "0\n2\n0 0\n",            // fewer entries than counted
      "0\n1\n0 0\n3 9\n",       // more than counted
      "0\n1\n0 x\n",            // not a number
      "0\n2\n3 0\n2 5\n",       // epochs not increasing
      "0\n2\n1 5\n2 5\n",       // start offsets not increasing
      "0\n1\n-2 5\n",           // negative epoch
      "0\n1\n2 -5\n",           // negative offset
      "0\n1\n99999999999 5\n",  // epoch beyond 32 bits
      "0\n99999999\n0 0\n",     // a count the file cannot hold
      "0\n1\n0 0",              // fine without the last newline ...
  };
  for (size_t i = 0; i < bad.size(); i++) {
    { std::ofstream(File(), std::ios::trunc) << bad[i]; }
    auto r = LeaderEpochCache::ReadCheckpoint(dir_.path());
    if (i + 1 == bad.size()) {
      ASSERT_TRUE(r.ok()) << r.status().ToString();  // ... as Kafka's reader
      EXPECT_EQ(r.value(), (Entries{{0, 0}}));
      continue;
    }
    EXPECT_TRUE(r.status().IsCorruption()) << "case " << i << ": " << bad[i];
  }
  LeaderEpochCache cache(dir_.path());
  EXPECT_EQ(cache.Restore({{3, 0}, {2, 5}}, false).code(), Status::Code::kInvalidArgument);
}

// A failed write changes nothing: neither the file nor the entries.
TEST_F(LeaderEpochCacheTest, AFailedWriteLeavesTheEntriesAsTheyWere) {
  const std::string sub = dir_ / "p-0";
  ASSERT_TRUE(std::filesystem::create_directory(sub));
  LeaderEpochCache cache(sub);
  ASSERT_TRUE(cache.Assign(1, 0).ok());
  std::filesystem::remove_all(sub);  // nowhere to write the next version
  EXPECT_FALSE(cache.Assign(2, 10).ok());
  EXPECT_EQ(cache.entries(), (Entries{{1, 0}}));
  EXPECT_EQ(cache.latest_epoch(), 1);
  EXPECT_FALSE(cache.TruncateFromEnd(0).ok());
  EXPECT_EQ(cache.entries(), (Entries{{1, 0}}));
}

// Readers (network threads answering OffsetForLeaderEpoch) run while the
// appender assigns: every answer is one the cache held at some point.
TEST_F(LeaderEpochCacheTest, ReadersSeeConsistentEntriesWhileEpochsAreAssigned) {
  LeaderEpochCache cache(dir_.path());
  ASSERT_TRUE(cache.Assign(0, 0).ok());
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) {
      const int32_t latest = cache.latest_epoch();
      auto [epoch, end] = cache.EndOffsetFor(latest, 1 << 20);
      // Epoch e starts at 10 * e: its answer is itself, ending at the next
      // epoch's start or the log end.
      ASSERT_EQ(epoch, latest);
      ASSERT_TRUE(end == (1 << 20) || end == 10 * (int64_t{epoch} + 1)) << epoch << " " << end;
      Entries e = cache.entries();
      for (size_t i = 1; i < e.size(); i++) ASSERT_LT(e[i - 1].start_offset, e[i].start_offset);
    }
  });
  for (int32_t epoch = 1; epoch <= 50; epoch++) ASSERT_TRUE(cache.Assign(epoch, 10 * epoch).ok());
  done = true;
  reader.join();
  EXPECT_EQ(cache.entries().size(), 51u);
}

}  // namespace
}  // namespace sentry
