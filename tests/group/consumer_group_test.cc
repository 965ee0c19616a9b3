// ConsumerGroup: native groups (server-side assignment, KIP-848's shape)
// driven with a fake clock. After every heartbeat of every test the
// invariant "no partition is allowed to two members" is checked.
#include "group/consumer_group.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace sentry::group {
namespace {

constexpr int32_t kSession = 10000;

class ConsumerGroupTest : public ::testing::Test {
 protected:
  ConsumerGroupTest() : g_("g", Config()) {}
  static ConsumerGroupConfig Config() {
    ConsumerGroupConfig c;
    c.session_timeout_ms = kSession;
    c.heartbeat_interval_ms = 1000;
    c.max_size = 50;
    return c;
  }

  // A client's view of one member: what it owns (it follows every answer).
  struct Client {
    std::string id;
    int32_t epoch = 0;
    std::string instance;
    TopicPartitions owned;
  };

  ConsumerGroup::HeartbeatOut Beat(Client& c, std::vector<std::string> topics = {"t"}) {
    ConsumerGroup::HeartbeatIn in;
    in.member_id = c.id;
    in.member_epoch = c.epoch;
    in.instance_id = c.instance;
    if (c.epoch == 0) in.subscribed_topics = std::move(topics);
    in.owned = c.owned;
    auto out = g_.Heartbeat(in, now_, counts_, "m" + std::to_string(next_id_++));
    if (out.error == GroupErrc::kNone) {
      c.id = out.member_id;
      c.epoch = out.member_epoch;
      if (out.assignment) c.owned = *out.assignment;
    }
    CheckNoTwoOwners();
    return out;
  }

  void CheckNoTwoOwners() {
    std::set<std::pair<std::string, int32_t>> seen;
    for (const auto& m : g_.Members()) {
      for (const auto& [t, ps] : m.assigned) {
        for (int32_t p : ps) {
          ASSERT_TRUE(seen.insert({t, p}).second)
              << t << "-" << p << " allowed to two members (second: " << m.member_id << ")";
        }
      }
    }
  }

  // Heartbeats every client `rounds` times.
  void Rounds(std::vector<Client*> cs, int rounds) {
    for (int i = 0; i < rounds; i++) {
      for (Client* c : cs) EXPECT_EQ(Beat(*c).error, GroupErrc::kNone);
    }
  }

  static size_t Count(const TopicPartitions& tp) {
    size_t n = 0;
    for (const auto& [t, ps] : tp) n += ps.size();
    return n;
  }
  void ExpectCompleteAndStable(std::vector<Client*> cs, size_t partitions) {
    std::set<std::pair<std::string, int32_t>> all;
    for (Client* c : cs) {
      for (const auto& [t, ps] : c->owned) {
        for (int32_t p : ps) EXPECT_TRUE(all.insert({t, p}).second);
      }
      EXPECT_EQ(c->epoch, g_.group_epoch());
    }
    EXPECT_EQ(all.size(), partitions);
    EXPECT_STREQ(g_.state_name(), "Stable");
  }

  ConsumerGroup g_;
  int64_t now_ = 1000;
  int next_id_ = 1;
  std::map<std::string, int32_t> topic_counts_{{"t", 6}};
  ConsumerGroup::PartitionCountFn counts_ = [this](const std::string& t) {
    auto it = topic_counts_.find(t);
    return it == topic_counts_.end() ? -1 : it->second;
  };
};

TEST_F(ConsumerGroupTest, ThreeMembersConvergeToDisjointCompleteAssignments) {
  Client a, b, c;
  auto ja = Beat(a);
  ASSERT_EQ(ja.error, GroupErrc::kNone);
  EXPECT_EQ(Count(a.owned), 6u) << "alone: everything";
  EXPECT_GT(a.epoch, 0);
  Beat(b);
  Beat(c);
  EXPECT_LT(Count(b.owned), 2u) << "b waits for a to give partitions up";
  Rounds({&a, &b, &c}, 3);
  ExpectCompleteAndStable({&a, &b, &c}, 6);
  EXPECT_EQ(Count(a.owned), 2u);
  EXPECT_EQ(Count(b.owned), 2u);
  EXPECT_EQ(Count(c.owned), 2u);
}

TEST_F(ConsumerGroupTest, RevokedPartitionsMoveOnlyAfterTheOwnerLetsGo) {
  Client a, b;
  Beat(a);
  ASSERT_EQ(Count(a.owned), 6u);
  Beat(b);
  EXPECT_TRUE(b.owned.empty()) << "a still owns everything";
  // a's answer shrinks it to its target; until a reports that it let the
  // other three go, b gets none of them.
  Beat(a);
  EXPECT_EQ(Count(a.owned), 3u);
  Beat(b);
  EXPECT_TRUE(b.owned.empty()) << "a has not reported giving them up";
  Beat(a);  // a reports owning 3
  Beat(b);
  EXPECT_EQ(Count(b.owned), 3u);
  Rounds({&a, &b}, 1);
  ExpectCompleteAndStable({&a, &b}, 6);
}

TEST_F(ConsumerGroupTest, LeaveFreesPartitionsAtOnce) {
  Client a, b;
  Rounds({&a, &b}, 3);
  ExpectCompleteAndStable({&a, &b}, 6);
  Client leave = b;
  leave.epoch = ConsumerGroup::kLeaveEpoch;
  auto out = Beat(leave);
  EXPECT_EQ(out.error, GroupErrc::kNone);
  EXPECT_EQ(out.member_epoch, ConsumerGroup::kLeaveEpoch);
  Beat(a);
  EXPECT_EQ(Count(a.owned), 6u);
  EXPECT_EQ(Beat(b).error, GroupErrc::kUnknownMemberId) << "gone";
}

TEST_F(ConsumerGroupTest, SessionExpiryRemovesSilentMember) {
  Client a, b;
  Rounds({&a, &b}, 3);
  now_ += kSession / 2;
  Beat(a);
  now_ += kSession / 2;
  g_.Expire(now_);
  EXPECT_EQ(g_.size(), 1u);
  Beat(a);
  EXPECT_EQ(Count(a.owned), 6u);
  EXPECT_EQ(g_.NextDeadline(), now_ + kSession);
}

TEST_F(ConsumerGroupTest, StaticMemberComesBackToItsPartitionsWithoutRebalance) {
  Client a, b;
  b.instance = "static-b";
  Rounds({&a, &b}, 3);
  const TopicPartitions b_had = b.owned;
  const int32_t epoch = g_.group_epoch();
  Client away = b;
  away.epoch = ConsumerGroup::kStaticLeaveEpoch;
  EXPECT_EQ(Beat(away).error, GroupErrc::kNone);
  Rounds({&a}, 2);
  EXPECT_EQ(Count(a.owned), 3u) << "b's partitions stay reserved";
  Client b2;
  b2.instance = "static-b";
  auto out = Beat(b2);
  ASSERT_EQ(out.error, GroupErrc::kNone);
  EXPECT_NE(b2.id, b.id);
  EXPECT_EQ(b2.owned, b_had);
  EXPECT_EQ(g_.group_epoch(), epoch) << "no rebalance";
  // A second process with the same instance id while b2 lives is refused.
  Client b3;
  b3.instance = "static-b";
  EXPECT_EQ(Beat(b3).error, GroupErrc::kUnreleasedInstanceId);
}

TEST_F(ConsumerGroupTest, BadHeartbeats) {
  Client nobody;
  nobody.id = "ghost";
  nobody.epoch = 3;
  EXPECT_EQ(Beat(nobody).error, GroupErrc::kUnknownMemberId);
  ConsumerGroup::HeartbeatIn no_subscription;
  EXPECT_EQ(g_.Heartbeat(no_subscription, now_, counts_, "x").error, GroupErrc::kInvalidRequest);
  Client a;
  Beat(a);
  Client stale = a;
  stale.epoch = a.epoch + 5;
  EXPECT_EQ(Beat(stale).error, GroupErrc::kStaleMemberEpoch);
  EXPECT_EQ(g_.size(), 1u) << "refused heartbeats change nothing";
}

TEST_F(ConsumerGroupTest, GroupMaxSize) {
  std::vector<Client> cs(50);
  for (auto& c : cs) ASSERT_EQ(Beat(c).error, GroupErrc::kNone);
  Client one_more;
  EXPECT_EQ(Beat(one_more).error, GroupErrc::kGroupMaxSizeReached);
}

TEST_F(ConsumerGroupTest, MorePartitionsMakeANewTarget) {
  Client a, b;
  Rounds({&a, &b}, 3);
  const int32_t epoch = g_.group_epoch();
  topic_counts_["t"] = 10;
  Rounds({&a, &b}, 3);
  EXPECT_GT(g_.group_epoch(), epoch);
  ExpectCompleteAndStable({&a, &b}, 10);
}

TEST_F(ConsumerGroupTest, CommitChecks) {
  EXPECT_EQ(g_.ValidateCommit("", -1), GroupErrc::kNone) << "no members: outsiders may commit";
  Client a;
  Beat(a);
  EXPECT_EQ(g_.ValidateCommit("", -1), GroupErrc::kUnknownMemberId);
  EXPECT_EQ(g_.ValidateCommit(a.id, a.epoch), GroupErrc::kNone);
  EXPECT_EQ(g_.ValidateCommit(a.id, a.epoch - 1), GroupErrc::kStaleMemberEpoch);
  EXPECT_EQ(g_.ValidateCommit("ghost", 1), GroupErrc::kUnknownMemberId);
}

TEST_F(ConsumerGroupTest, RandomChurnNeverGivesAPartitionTwice) {
  std::mt19937 rng(12345);
  std::vector<Client> cs(6);
  std::vector<bool> live(6, false);
  for (int step = 0; step < 3000; step++) {
    const size_t i = rng() % cs.size();
    const int action = static_cast<int>(rng() % 10);
    now_ += rng() % 400;
    if (!live[i]) {
      cs[i] = Client{};
      live[i] = Beat(cs[i]).error == GroupErrc::kNone;
    } else if (action == 0) {
      Client leave = cs[i];
      leave.epoch = ConsumerGroup::kLeaveEpoch;
      Beat(leave);
      live[i] = false;
    } else if (action == 1) {
      live[i] = false;  // crashes: silent until its session expires
    } else {
      auto out = Beat(cs[i]);
      if (out.error != GroupErrc::kNone) live[i] = false;  // expired meanwhile
    }
    g_.Expire(now_);
    CheckNoTwoOwners();
  }
  // Quiet period: the live members heartbeat until everything settles.
  now_ += 2 * kSession;
  g_.Expire(now_);
  std::vector<Client*> alive;
  for (size_t i = 0; i < cs.size(); i++) {
    if (live[i] && Beat(cs[i]).error == GroupErrc::kNone) alive.push_back(&cs[i]);
  }
  if (alive.empty()) {
    alive.push_back(&cs[0]);
    cs[0] = Client{};
  }
  Rounds(alive, 4);
  ExpectCompleteAndStable(alive, 6);
}

}  // namespace
}  // namespace sentry::group
