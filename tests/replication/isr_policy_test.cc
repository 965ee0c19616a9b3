// The leader's ISR and high-watermark rules (Kafka's), alone.
#include "replication/isr_policy.h"

#include <gtest/gtest.h>

#include <limits>

namespace sentry::replication {
namespace {

TEST(IsrPolicyTest, AFollowerAtTheLeadersEndIsCaughtUpNow) {
  FollowerProgress f;
  RecordFetch(&f, 100, 100, 5000);
  EXPECT_EQ(f.leo, 100);
  EXPECT_EQ(f.caught_up_ms, 5000);
}

TEST(IsrPolicyTest, KeepingUpWithABusyLeaderCountsAsCaughtUpAtThePreviousFetch) {
  FollowerProgress f;
  RecordFetch(&f, 100, 120, 1000);  // behind: not caught up
  EXPECT_EQ(f.caught_up_ms, 0);
  // Now it has what the leader had at its previous fetch (120), though the
  // leader moved on to 150: caught up as of that fetch.
  RecordFetch(&f, 120, 150, 1200);
  EXPECT_EQ(f.caught_up_ms, 1000);
  // Falling behind what the leader had: the time stays.
  RecordFetch(&f, 130, 200, 1400);
  EXPECT_EQ(f.caught_up_ms, 1000);
}

TEST(IsrPolicyTest, ALaggingFollowerLeavesAndTheLeaderStays) {
  std::map<int32_t, FollowerProgress> followers;
  followers[2].caught_up_ms = 10000;  // caught up 500 ms ago
  followers[3].caught_up_ms = 1000;   // 9.5 s ago
  EXPECT_EQ(WantedIsr(1, {1, 2, 3}, followers, 10500, 5000), (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(WantedIsr(1, {1, 2, 3}, followers, 10500, 10000), (std::vector<int32_t>{1, 2, 3}));
  // A follower never heard of leaves; the leader is put back first.
  EXPECT_EQ(WantedIsr(1, {2, 4}, followers, 10500, 5000), (std::vector<int32_t>{1, 2}));
}

TEST(IsrPolicyTest, JoiningNeedsTheHighWatermarkAndTheEpochStart) {
  EXPECT_TRUE(MayJoinIsr(50, 50, 40));
  EXPECT_FALSE(MayJoinIsr(49, 50, 40));
  EXPECT_FALSE(MayJoinIsr(50, 50, 60));  // the leader's epoch began later
}

TEST(IsrPolicyTest, TheHighWatermarkWaitsForTheSlowestMemberAndForJoiners) {
  std::map<int32_t, FollowerProgress> followers;
  followers[2].leo = 80;
  followers[3].leo = 60;
  EXPECT_EQ(IsrFollowerMin(1, {1}, {}, followers), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(IsrFollowerMin(1, {1, 2}, {}, followers), 80);
  EXPECT_EQ(IsrFollowerMin(1, {1, 2}, {3}, followers), 60);
  EXPECT_EQ(IsrFollowerMin(1, {1, 2, 5}, {}, followers), 0);  // 5 never fetched
}

}  // namespace
}  // namespace sentry::replication
