// GroupService in cluster mode: Resign() makes this broker answer
// NOT_COORDINATOR for every group call and forgets its groups; TakeOver(p)
// coordinates the groups of offsets-log partition p again from what it holds;
// Resign(p) touches only the groups that hash to p (docs/cluster.md,
// "Consumer groups"). No sinks (no JoinGroup answers to deliver), fake clock.
#include "group/group_service.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sentry::group {
namespace {

CoordinatorConfig WithPartitions(int32_t n) {
  CoordinatorConfig c;
  c.offsets_partitions = n;
  return c;
}

// Offsets-log partitions of the groups below among 4 (Java's hashCode of
// "g" is 103, of "h" 104, of "k" 107; abs % 4).
constexpr int32_t kPartitions = 4;
constexpr int32_t kPartitionOfG = 3;
constexpr int32_t kPartitionOfH = 0;
constexpr int32_t kPartitionOfK = 3;

class GroupServiceTest : public ::testing::Test {
 protected:
  GroupServiceTest()
      : svc_(WithPartitions(kPartitions), {},
             [this](const std::string& id, const std::optional<GroupRecord>&) {
               persisted_.push_back(id);
               return true;
             },
             [](const std::string& t) { return t == "t" ? 2 : -1; }, [this] { return now_; }) {}

  ConsumerGroup::HeartbeatOut Join(const std::string& group) {
    ConsumerGroup::HeartbeatIn in;
    in.client_id = "c";
    in.subscribed_topics = std::vector<std::string>{"t"};
    in.owned.emplace();
    return svc_.NativeHeartbeat(group, in);
  }

  // A heartbeat of the member `joined` made, as it stands.
  static ConsumerGroup::HeartbeatIn Again(const ConsumerGroup::HeartbeatOut& joined) {
    ConsumerGroup::HeartbeatIn in;
    in.member_id = joined.member_id;
    in.member_epoch = joined.member_epoch;
    return in;
  }

  int64_t now_ = 1000;
  std::vector<std::string> persisted_;
  GroupService svc_;
};

TEST_F(GroupServiceTest, ResignedAnswersNotCoordinatorAndTakeOverRestoresFromTheLog) {
  auto joined = Join("g");
  ASSERT_EQ(joined.error, GroupErrc::kNone);
  ASSERT_TRUE(svc_.Coordinates("g"));
  ASSERT_EQ(svc_.List().size(), 1u);

  svc_.Resign();
  const size_t at_resign = persisted_.size();
  EXPECT_FALSE(svc_.Coordinates("g"));
  EXPECT_TRUE(svc_.List().empty());  // forgotten: it lives on in the offsets log
  EXPECT_EQ(Join("g").error, GroupErrc::kNotCoordinator);
  EXPECT_EQ(svc_.Heartbeat("g", "m", "", 1), GroupErrc::kNotCoordinator);
  EXPECT_EQ(svc_.ValidateCommit("g", joined.member_id, "", joined.member_epoch),
            GroupErrc::kNotCoordinator);
  EXPECT_EQ(svc_.CheckOffsetDelete("g", "t"), GroupErrc::kNotCoordinator);
  EXPECT_EQ(svc_.Describe("g").error, GroupErrc::kNotCoordinator);
  auto left = svc_.Leave("g", {{"m", ""}});
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0], GroupErrc::kNotCoordinator);
  // A broker that does not lead the offsets log writes nothing to it.
  EXPECT_EQ(persisted_.size(), at_resign);

  // Coordinating again, from the log: "g" has offsets only; its old member
  // is unknown (members rejoin), a new join is served.
  svc_.TakeOver(kPartitionOfG, {}, {"g", "h"});
  EXPECT_TRUE(svc_.Coordinates("g"));
  EXPECT_FALSE(svc_.Coordinates("h"));  // another partition's: not restored here
  ASSERT_EQ(svc_.List().size(), 1u);
  EXPECT_EQ(svc_.List()[0].group_id, "g");
  EXPECT_EQ(svc_.NativeHeartbeat("g", Again(joined)).error, GroupErrc::kUnknownMemberId);
  EXPECT_EQ(Join("g").error, GroupErrc::kNone);
}

TEST_F(GroupServiceTest, PartitionsAreCoordinatedOneByOne) {
  ASSERT_EQ(svc_.PartitionOf("g"), kPartitionOfG);
  ASSERT_EQ(svc_.PartitionOf("h"), kPartitionOfH);
  ASSERT_EQ(svc_.PartitionOf("k"), kPartitionOfK);
  auto g = Join("g");
  auto h = Join("h");
  ASSERT_EQ(g.error, GroupErrc::kNone);
  ASSERT_EQ(h.error, GroupErrc::kNone);
  ASSERT_EQ(Join("k").error, GroupErrc::kNone);

  // Leading partition 3 ends: "g" and "k" go, "h" (partition 0) stays, with
  // its member and epoch.
  svc_.Resign(kPartitionOfG);
  EXPECT_FALSE(svc_.Coordinates("g"));
  EXPECT_FALSE(svc_.Coordinates("k"));
  EXPECT_TRUE(svc_.Coordinates("h"));
  EXPECT_EQ(Join("g").error, GroupErrc::kNotCoordinator);
  EXPECT_EQ(svc_.Describe("k").error, GroupErrc::kNotCoordinator);
  ASSERT_EQ(svc_.List().size(), 1u);
  EXPECT_EQ(svc_.List()[0].group_id, "h");
  EXPECT_EQ(svc_.NativeHeartbeat("h", Again(h)).error, GroupErrc::kNone);

  // Taking partition 3 over again restores only what hashes there.
  svc_.TakeOver(kPartitionOfG, {}, {"g", "h", "k"});
  EXPECT_TRUE(svc_.Coordinates("g"));
  EXPECT_EQ(svc_.List().size(), 3u);
  EXPECT_EQ(svc_.NativeHeartbeat("h", Again(h)).error, GroupErrc::kNone);  // untouched

  // Out-of-range partitions change nothing.
  svc_.Resign(kPartitions);
  svc_.Resign(-1);
  EXPECT_EQ(svc_.List().size(), 3u);
}

}  // namespace
}  // namespace sentry::group
