// GroupCoordinator: groups of both kinds side by side, commits, records to
// persist, and a join storm. Fake clock, no threads.
#include "group/group_coordinator.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "group/consumer_protocol.h"
#include "group/group_record.h"

namespace sentry::group {
namespace {

JoinRequest Req(const std::string& member, const std::vector<std::string>& topics = {"t"}) {
  JoinRequest r;
  r.member_id = member;
  r.client_id = "c";
  r.session_timeout_ms = 10000;
  r.rebalance_timeout_ms = 10000;
  r.protocol_type = "consumer";
  r.protocols = {{"range", EncodeSubscription(topics)}};
  return r;
}

ConsumerGroup::PartitionCountFn PartitionCounts() {
  return [](const std::string& t) { return t == "t" ? 4 : -1; };
}

// A one-member classic group in Stable: member "m", generation 1.
void MakeStable(GroupCoordinator& c, const std::string& group, int64_t* now) {
  Replies out;
  c.Join(1, group, Req(""), "m", *now, &out);
  *now += 1000;  // past any initial rebalance delay of these tests
  c.Tick(*now, &out);
  ASSERT_EQ(out.joins.size(), 1u);
  ASSERT_EQ(out.joins[0].second.error, GroupErrc::kNone);
  SyncRequest s;
  s.member_id = "m";
  s.generation = out.joins[0].second.generation;
  s.assignments = {{"m", EncodeAssignment({{"t", {0, 1, 2, 3}}})}};
  c.Sync(2, group, s, *now, &out);
  ASSERT_EQ(out.syncs.size(), 1u);
  ASSERT_EQ(out.syncs[0].second.error, GroupErrc::kNone);
}

class GroupCoordinatorTest : public ::testing::Test {
 protected:
  GroupCoordinatorTest() : c_(Config()) {}
  static CoordinatorConfig Config() {
    CoordinatorConfig cfg;
    cfg.classic.initial_rebalance_delay_ms = 0;
    return cfg;
  }
  void StableClassic(const std::string& group) { MakeStable(c_, group, &now_); }
  GroupCoordinator c_;
  int64_t now_ = 5000;
};

TEST_F(GroupCoordinatorTest, UnknownGroups) {
  Replies out;
  c_.Join(1, "g", Req("someone"), "x", now_, &out);
  ASSERT_EQ(out.joins.size(), 1u);
  EXPECT_EQ(out.joins[0].second.error, GroupErrc::kUnknownMemberId);
  c_.Join(2, "", Req(""), "x", now_, &out);
  EXPECT_EQ(out.joins[1].second.error, GroupErrc::kInvalidGroupId);
  EXPECT_EQ(c_.Heartbeat("g", "m", "", 1, now_), GroupErrc::kUnknownMemberId);
  EXPECT_FALSE(c_.Exists("g")) << "refused requests create nothing";
  EXPECT_EQ(c_.Describe("g").error, GroupErrc::kGroupIdNotFound);
  EXPECT_EQ(c_.CheckOffsetDelete("g", "t"), GroupErrc::kGroupIdNotFound);
}

TEST_F(GroupCoordinatorTest, RefusedJoinsLeaveNoGroupBehind) {
  Replies out;
  JoinRequest bad = Req("");
  bad.session_timeout_ms = 1;
  c_.Join(1, "g", bad, "x", now_, &out);
  ASSERT_EQ(out.joins.size(), 1u);
  EXPECT_EQ(out.joins[0].second.error, GroupErrc::kInvalidSessionTimeout);
  ConsumerGroup::HeartbeatIn no_subscription;
  EXPECT_EQ(c_.NativeHeartbeat("n", no_subscription, now_, PartitionCounts(), "y").error,
            GroupErrc::kInvalidRequest);
  EXPECT_TRUE(c_.List().empty());
  EXPECT_TRUE(c_.TakeDirty().empty());
}

TEST_F(GroupCoordinatorTest, EmptyGroupsAndHowLongTheyHaveBeenEmpty) {
  StableClassic("g");
  ASSERT_EQ(c_.ValidateCommit("solo", "", "", -1, now_), GroupErrc::kNone);
  Replies out;
  c_.Tick(now_, &out);
  auto empty = c_.EmptyGroups(now_);
  ASSERT_EQ(empty.size(), 1u);
  EXPECT_EQ(empty[0], (std::pair<std::string, int64_t>("solo", -1))) << "never had a member";
  EXPECT_FALSE(c_.DeleteIfEmpty("g")) << "g has a member";
  EXPECT_EQ(c_.Leave("g", "m", "", now_, &out), GroupErrc::kNone);
  c_.Tick(now_, &out);
  now_ += 5000;
  empty = c_.EmptyGroups(now_);
  ASSERT_EQ(empty.size(), 2u);
  EXPECT_EQ(empty[0], (std::pair<std::string, int64_t>("g", 5000)));
  EXPECT_TRUE(c_.DeleteIfEmpty("g"));
  EXPECT_FALSE(c_.Exists("g"));
}

TEST_F(GroupCoordinatorTest, SimpleConsumerCommitCreatesEmptyGroup) {
  EXPECT_EQ(c_.ValidateCommit("solo", "", "", 3, now_), GroupErrc::kIllegalGeneration);
  EXPECT_FALSE(c_.Exists("solo"));
  EXPECT_EQ(c_.ValidateCommit("solo", "", "", -1, now_), GroupErrc::kNone);
  ASSERT_TRUE(c_.Exists("solo"));
  auto list = c_.List();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].state, "Empty");
  EXPECT_EQ(list[0].protocol_type, "");
  EXPECT_EQ(c_.CheckOffsetDelete("solo", "t"), GroupErrc::kNone);
}

TEST_F(GroupCoordinatorTest, DescribeAndOffsetDeleteOfAClassicGroup) {
  StableClassic("g");
  GroupDescription d = c_.Describe("g");
  EXPECT_EQ(d.state, "Stable");
  EXPECT_EQ(d.protocol_type, "consumer");
  EXPECT_EQ(d.protocol_name, "range");
  ASSERT_EQ(d.classic_members.size(), 1u);
  auto a = ParseAssignment(d.classic_members[0].assignment);
  ASSERT_TRUE(a);
  EXPECT_EQ((*a)["t"], (std::vector<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(c_.CheckOffsetDelete("g", "t"), GroupErrc::kGroupSubscribedToTopic);
  EXPECT_EQ(c_.CheckOffsetDelete("g", "other"), GroupErrc::kNone);
}

TEST_F(GroupCoordinatorTest, KindsDoNotMix) {
  StableClassic("classic");
  ConsumerGroup::HeartbeatIn in;
  in.member_epoch = 0;
  in.subscribed_topics = std::vector<std::string>{"t"};
  auto hb = c_.NativeHeartbeat("classic", in, now_, PartitionCounts(), "n1");
  EXPECT_EQ(hb.error, GroupErrc::kGroupIdNotFound);

  hb = c_.NativeHeartbeat("native", in, now_, PartitionCounts(), "n1");
  ASSERT_EQ(hb.error, GroupErrc::kNone);
  Replies out;
  c_.Join(1, "native", Req(""), "x", now_, &out);
  ASSERT_EQ(out.joins.size(), 1u);
  EXPECT_EQ(out.joins[0].second.error, GroupErrc::kInconsistentGroupProtocol);
  EXPECT_EQ(c_.Heartbeat("native", "n1", "", 1, now_), GroupErrc::kUnknownMemberId);

  // An empty group changes kind.
  ConsumerGroup::HeartbeatIn leave;
  leave.member_id = hb.member_id;
  leave.member_epoch = -1;
  EXPECT_EQ(c_.NativeHeartbeat("native", leave, now_, PartitionCounts(), "").error, GroupErrc::kNone);
  c_.Join(2, "native", Req(""), "x", now_, &out);
  c_.Tick(now_, &out);
  ASSERT_EQ(out.joins.size(), 2u);
  EXPECT_EQ(out.joins[1].second.error, GroupErrc::kNone);
  EXPECT_EQ(c_.Describe("native").kind, GroupKind::kClassic);
}

TEST_F(GroupCoordinatorTest, ChangesAreOfferedForPersistenceOnce) {
  StableClassic("g");
  auto dirty = c_.TakeDirty();
  ASSERT_EQ(dirty.size(), 1u);
  EXPECT_EQ(dirty[0].first, "g");
  EXPECT_EQ(dirty[0].second.generation, 1);
  EXPECT_EQ(dirty[0].second.protocol_name, "range");
  EXPECT_TRUE(c_.TakeDirty().empty());
  EXPECT_EQ(c_.Heartbeat("g", "m", "", 1, now_), GroupErrc::kNone);
  EXPECT_TRUE(c_.TakeDirty().empty()) << "a heartbeat changes nothing durable";

  // Restored from its record: Empty at that generation; members rejoin.
  auto round = GroupRecord::Decode(dirty[0].second.Encode());
  ASSERT_TRUE(round);
  GroupCoordinator again(Config());
  again.Restore("g", *round);
  GroupDescription d = again.Describe("g");
  EXPECT_EQ(d.state, "Empty");
  EXPECT_EQ(d.generation, 1);
  EXPECT_EQ(again.Heartbeat("g", "m", "", 1, now_), GroupErrc::kUnknownMemberId);
  Replies out;
  again.Join(1, "g", Req(""), "m2", now_, &out);
  again.Tick(now_, &out);
  ASSERT_EQ(out.joins.size(), 1u);
  EXPECT_EQ(out.joins[0].second.generation, 2) << "generations keep growing across restarts";
}

TEST_F(GroupCoordinatorTest, GroupRecordRejectsGarbage) {
  EXPECT_FALSE(GroupRecord::Decode(""));
  EXPECT_FALSE(GroupRecord::Decode(std::string("\x09\x00\x00\x00\x00\x01", 6)));
  GroupRecord r;
  r.protocol_type = "consumer";
  std::string bytes = r.Encode();
  EXPECT_FALSE(GroupRecord::Decode(bytes.substr(0, bytes.size() - 1)));
}

TEST_F(GroupCoordinatorTest, JoinStormOfAThousandMembersLeavesOtherGroupsAlone) {
  CoordinatorConfig cfg = Config();
  cfg.classic.initial_rebalance_delay_ms = 100;
  GroupCoordinator c(cfg);
  MakeStable(c, "quiet", &now_);
  Replies out;
  for (int i = 0; i < 1000; i++) {
    c.Join(100 + i, "storm", Req(""), "storm-" + std::to_string(i), now_, &out);
  }
  EXPECT_TRUE(out.joins.empty());
  c.Tick(now_ + 100, &out);  // the delay, extended once: members kept coming
  c.Tick(now_ + 200, &out);
  ASSERT_EQ(out.joins.size(), 1000u);
  int leaders = 0;
  for (const auto& [t, r] : out.joins) {
    EXPECT_EQ(r.error, GroupErrc::kNone);
    EXPECT_EQ(r.generation, 1);
    if (!r.members.empty()) {
      leaders++;
      EXPECT_EQ(r.members.size(), 1000u);
    }
  }
  EXPECT_EQ(leaders, 1);
  EXPECT_EQ(c.Heartbeat("quiet", "m", "", 1, now_ + 200), GroupErrc::kNone);
  EXPECT_EQ(c.Describe("quiet").state, "Stable");
}

TEST_F(GroupCoordinatorTest, MaxGroupSize) {
  CoordinatorConfig cfg = Config();
  cfg.classic.max_size = 2;
  GroupCoordinator c(cfg);
  Replies out;
  c.Join(1, "g", Req(""), "a", now_, &out);
  c.Join(2, "g", Req(""), "b", now_, &out);
  c.Join(3, "g", Req(""), "c", now_, &out);
  ASSERT_FALSE(out.joins.empty());
  EXPECT_EQ(out.joins.back().first, 3u);
  EXPECT_EQ(out.joins.back().second.error, GroupErrc::kGroupMaxSizeReached);
}

}  // namespace
}  // namespace sentry::group
