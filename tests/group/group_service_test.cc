// GroupService in cluster mode: Resign() makes this broker answer
// NOT_COORDINATOR for every group call and forgets its groups; TakeOver()
// coordinates again from what the offsets log holds (docs/cluster.md,
// "Consumer groups"). No sinks (no JoinGroup answers to deliver), fake clock.
#include "group/group_service.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sentry::group {
namespace {

class GroupServiceTest : public ::testing::Test {
 protected:
  GroupServiceTest()
      : svc_(CoordinatorConfig{}, {},
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

  int64_t now_ = 1000;
  std::vector<std::string> persisted_;
  GroupService svc_;
};

TEST_F(GroupServiceTest, ResignedAnswersNotCoordinatorAndTakeOverRestoresFromTheLog) {
  auto joined = Join("g");
  ASSERT_EQ(joined.error, GroupErrc::kNone);
  ASSERT_TRUE(svc_.active());
  ASSERT_EQ(svc_.List().size(), 1u);

  svc_.Resign();
  const size_t at_resign = persisted_.size();
  EXPECT_FALSE(svc_.active());
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
  svc_.TakeOver({}, {"g"});
  EXPECT_TRUE(svc_.active());
  ASSERT_EQ(svc_.List().size(), 1u);
  EXPECT_EQ(svc_.List()[0].group_id, "g");
  ConsumerGroup::HeartbeatIn old;
  old.member_id = joined.member_id;
  old.member_epoch = joined.member_epoch;
  EXPECT_EQ(svc_.NativeHeartbeat("g", old).error, GroupErrc::kUnknownMemberId);
  EXPECT_EQ(Join("g").error, GroupErrc::kNone);
}

}  // namespace
}  // namespace sentry::group
