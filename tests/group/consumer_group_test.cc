// ConsumerGroup: native groups (server-side assignment, KIP-848's shape)
// driven with a fake clock (time is an argument), no threads. After every
// heartbeat and every Expire of every test, the safety invariant is checked:
// no partition is in two members' `assigned` or `revoking` (a revoked
// partition stays its old owner's until that owner reports it released).
#include "group/consumer_group.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace sentry::group {
namespace {

using Partition = std::pair<std::string, int32_t>;

constexpr int32_t kMemberSessionMs = 10000;
constexpr int32_t kInterval = 1000;

size_t CountOwned(const TopicPartitions& tp) {
  size_t n = 0;
  for (const auto& [t, ps] : tp) n += ps.size();
  return n;
}

std::set<Partition> Set(const TopicPartitions& tp) {
  std::set<Partition> s;
  for (const auto& [t, ps] : tp) {
    for (int32_t p : ps) s.insert({t, p});
  }
  return s;
}

// A client's view of one member: it does at once what every answer says.
struct Client {
  std::string id;
  int32_t epoch = 0;
  std::string instance;
  std::vector<std::string> topics{"t"};
  bool send_topics = false;  // besides on joins
  TopicPartitions owned;
};

class ConsumerGroupTest : public ::testing::Test {
 protected:
  ConsumerGroupTest() : g_("g", Config()) {}
  static ConsumerGroupConfig Config() {
    ConsumerGroupConfig c;
    c.session_timeout_ms = kMemberSessionMs;
    c.heartbeat_interval_ms = kInterval;
    c.max_size = 50;
    return c;
  }

  // Any heartbeat; checks the invariant after it.
  ConsumerGroup::HeartbeatOut Send(const ConsumerGroup::HeartbeatIn& in) {
    auto out = g_.Heartbeat(in, now_, counts_, "m" + std::to_string(next_id_++));
    EXPECT_EQ(out.heartbeat_interval_ms, kInterval);
    CheckNoTwoOwners();
    return out;
  }

  ConsumerGroup::HeartbeatIn In(const Client& c) {
    ConsumerGroup::HeartbeatIn in;
    in.member_id = c.id;
    in.member_epoch = c.epoch;
    in.instance_id = c.instance;
    in.client_id = "test";
    if (c.epoch == 0 || c.send_topics) in.subscribed_topics = c.topics;
    in.owned = c.owned;
    return in;
  }

  // One heartbeat of `c`, whose answer `c` follows.
  ConsumerGroup::HeartbeatOut Beat(Client& c) {
    auto out = Send(In(c));
    if (out.error == GroupErrc::kNone) {
      c.id = out.member_id;
      c.epoch = out.member_epoch;
      if (out.assignment) c.owned = *out.assignment;
    }
    return out;
  }

  ConsumerGroup::HeartbeatOut LeaveWith(Client& c, int32_t epoch) {
    ConsumerGroup::HeartbeatIn in = In(c);
    in.member_epoch = epoch;
    auto out = Send(in);
    c.owned.clear();
    return out;
  }

  void Expire() {
    g_.Expire(now_);
    CheckNoTwoOwners();
  }

  void CheckNoTwoOwners() { CheckNoTwoOwnersIn(g_); }
  static void CheckNoTwoOwnersIn(const ConsumerGroup& g) {
    std::map<Partition, std::string> holder;
    for (const auto& m : g.Members()) {
      for (const auto& tp : {m.assigned, m.revoking}) {
        for (const auto& p : Set(tp)) {
          auto [it, fresh] = holder.emplace(p, m.member_id);
          ASSERT_TRUE(fresh) << p.first << "-" << p.second << " is both " << it->second << "'s and "
                             << m.member_id << "'s";
        }
      }
    }
  }

  // Heartbeats every client `rounds` times, in order.
  void Rounds(const std::vector<Client*>& cs, int rounds) {
    for (int i = 0; i < rounds; i++) {
      for (Client* c : cs) ASSERT_EQ(Beat(*c).error, GroupErrc::kNone);
    }
  }

  // Every partition of `topics` owned by exactly one client, every client at
  // the group epoch, and the group Stable.
  void ExpectSettled(const std::vector<Client*>& cs, const std::map<std::string, int>& topics) {
    std::set<Partition> all;
    for (Client* c : cs) {
      for (const auto& p : Set(c->owned)) EXPECT_TRUE(all.insert(p).second);
      EXPECT_EQ(c->epoch, g_.group_epoch()) << c->id;
    }
    std::set<Partition> expected;
    for (const auto& [t, n] : topics) {
      for (int p = 0; p < n; p++) expected.insert({t, p});
    }
    EXPECT_EQ(all, expected);
    EXPECT_STREQ(g_.state_name(), "Stable");
  }

  const ConsumerGroup::MemberView* View(const std::string& id) {
    views_ = g_.Members();
    for (const auto& v : views_) {
      if (v.member_id == id) return &v;
    }
    return nullptr;
  }

  ConsumerGroup g_;
  int64_t now_ = 1000;
  int next_id_ = 1;
  std::map<std::string, int32_t> topic_counts_{{"t", 6}};
  ConsumerGroup::PartitionCountFn counts_ = [this](const std::string& t) {
    auto it = topic_counts_.find(t);
    return it == topic_counts_.end() ? -1 : it->second;
  };
  std::vector<ConsumerGroup::MemberView> views_;
};

TEST_F(ConsumerGroupTest, ThreeMembersConvergeToDisjointCompleteAssignments) {
  EXPECT_STREQ(g_.state_name(), "Empty");
  Client a, b, c;
  auto ja = Beat(a);
  ASSERT_EQ(ja.error, GroupErrc::kNone);
  EXPECT_EQ(a.id, "m1") << "the caller's fresh id";
  ASSERT_TRUE(ja.assignment);
  EXPECT_EQ(CountOwned(a.owned), 6u) << "alone: everything";
  EXPECT_EQ(a.epoch, 1);
  ASSERT_EQ(Beat(b).error, GroupErrc::kNone);
  ASSERT_EQ(Beat(c).error, GroupErrc::kNone);
  EXPECT_TRUE(b.owned.empty()) << "a still has everything";
  EXPECT_EQ(b.epoch, 0) << "not reconciled yet";
  EXPECT_STREQ(g_.state_name(), "Reconciling");
  Rounds({&a, &b, &c}, 3);
  ExpectSettled({&a, &b, &c}, {{"t", 6}});
  EXPECT_EQ(CountOwned(a.owned), 2u);
  EXPECT_EQ(CountOwned(b.owned), 2u);
  EXPECT_EQ(CountOwned(c.owned), 2u);
  EXPECT_EQ(g_.group_epoch(), 3);
  EXPECT_EQ(g_.assignment_epoch(), 3);
}

TEST_F(ConsumerGroupTest, RevokedPartitionsMoveOnlyAfterTheOwnerReportsThemReleased) {
  Client a, b;
  Beat(a);
  ASSERT_EQ(CountOwned(a.owned), 6u);
  Beat(b);
  EXPECT_TRUE(b.owned.empty());
  // a is told to shrink to its target...
  const int32_t a_epoch = a.epoch;
  auto out = Beat(a);
  ASSERT_TRUE(out.assignment);
  EXPECT_EQ(CountOwned(a.owned), 3u);
  EXPECT_EQ(out.member_epoch, a_epoch) << "not reconciled until it reports the release";
  EXPECT_EQ(CountOwned(View(a.id)->revoking), 3u);
  // ...but until it reports owning only those, b gets none of the others,
  // even when a's heartbeat says nothing about what it owns.
  Beat(b);
  EXPECT_TRUE(b.owned.empty());
  ConsumerGroup::HeartbeatIn silent = In(a);
  silent.owned.reset();
  EXPECT_EQ(Send(silent).error, GroupErrc::kNone);
  Beat(b);
  EXPECT_TRUE(b.owned.empty());
  Beat(a);  // reports owning 3
  EXPECT_TRUE(View(a.id)->revoking.empty());
  EXPECT_EQ(a.epoch, g_.group_epoch()) << "reconciled";
  Beat(b);
  EXPECT_EQ(CountOwned(b.owned), 3u);
  Rounds({&a, &b}, 1);
  ExpectSettled({&a, &b}, {{"t", 6}});
}

TEST_F(ConsumerGroupTest, RevokeFirstThenAssign) {
  topic_counts_["u"] = 2;
  Client a, b;
  Rounds({&a, &b}, 3);
  ExpectSettled({&a, &b}, {{"t", 6}});
  // a switches from t to u: its next answer only takes t away.
  a.topics = {"u"};
  a.send_topics = true;
  const int32_t before = g_.group_epoch();
  auto out = Beat(a);
  EXPECT_EQ(g_.group_epoch(), before + 1);
  ASSERT_TRUE(out.assignment);
  EXPECT_TRUE(out.assignment->empty()) << "t revoked, u not given in the same answer";
  EXPECT_EQ(out.member_epoch, before);
  a.send_topics = false;
  out = Beat(a);
  ASSERT_TRUE(out.assignment);
  EXPECT_EQ(*out.assignment, (TopicPartitions{{"u", {0, 1}}}));
  EXPECT_EQ(out.member_epoch, g_.group_epoch());
  Rounds({&a, &b}, 2);
  EXPECT_EQ(CountOwned(b.owned), 6u);
  EXPECT_EQ(b.epoch, g_.group_epoch());
  EXPECT_STREQ(g_.state_name(), "Stable");
}

TEST_F(ConsumerGroupTest, CommitsDuringReconciliationUseTheMembersOwnEpoch) {
  Client a, b;
  Beat(a);
  Beat(b);
  Beat(a);  // a must give up three and stays at its epoch until it has
  EXPECT_EQ(g_.ValidateCommit(a.id, a.epoch), GroupErrc::kNone)
      << "a commits the partitions it gives up";
  EXPECT_EQ(g_.ValidateCommit(a.id, g_.group_epoch()), GroupErrc::kStaleMemberEpoch);
  EXPECT_EQ(g_.ValidateCommit(b.id, 0), GroupErrc::kNone) << "b has no epoch yet";
}

TEST_F(ConsumerGroupTest, AssignmentIsSentOnlyWhenItChanges) {
  Client a;
  EXPECT_TRUE(Beat(a).assignment) << "join: always";
  auto out = Beat(a);
  EXPECT_FALSE(out.assignment);
  EXPECT_EQ(out.member_epoch, a.epoch);
  ConsumerGroup::HeartbeatIn bare;  // no owned, no subscription
  bare.member_id = a.id;
  bare.member_epoch = a.epoch;
  EXPECT_FALSE(Send(bare).assignment);
  // A member reporting something other than what it was told has missed an
  // answer: it hears it again.
  ConsumerGroup::HeartbeatIn confused = In(a);
  confused.owned = TopicPartitions{};
  out = Send(confused);
  ASSERT_TRUE(out.assignment);
  EXPECT_EQ(*out.assignment, a.owned);
}

TEST_F(ConsumerGroupTest, LostAnswersAreRepeatedAndThePreviousEpochAccepted) {
  Client a, b;
  Rounds({&a, &b}, 3);
  ExpectSettled({&a, &b}, {{"t", 6}});
  ASSERT_EQ(a.epoch, 2);
  Client c;
  Beat(c);  // epoch 3: a and b must give up one each
  // a's answer that revokes a partition is lost: a keeps its old view.
  Client a_lost = a;
  Beat(a_lost);
  auto out = Beat(a);  // a still reports 3: it is told again
  ASSERT_EQ(out.error, GroupErrc::kNone);
  ASSERT_TRUE(out.assignment);
  EXPECT_EQ(CountOwned(a.owned), 2u);
  EXPECT_EQ(a.epoch, 2);
  Beat(a);  // reports 2: reconciled, new epoch
  ASSERT_EQ(a.epoch, 3);
  // The answer carrying epoch 3 was lost: epoch 2 still works, and the
  // answer repeats the assignment.
  ConsumerGroup::HeartbeatIn prev = In(a);
  prev.member_epoch = 2;
  out = Send(prev);
  EXPECT_EQ(out.error, GroupErrc::kNone);
  EXPECT_TRUE(out.assignment) << "a may have missed it";
  EXPECT_EQ(out.member_epoch, a.epoch);
  prev.member_epoch = 1;
  EXPECT_EQ(Send(prev).error, GroupErrc::kStaleMemberEpoch) << "older than the previous";
  prev.member_epoch = a.epoch + 1;
  EXPECT_EQ(Send(prev).error, GroupErrc::kStaleMemberEpoch) << "from the future";
}

TEST_F(ConsumerGroupTest, LeaveFreesPartitionsAtOnceAndOthersPickThemUp) {
  Client a, b, c;
  Rounds({&a, &b, &c}, 3);
  ExpectSettled({&a, &b, &c}, {{"t", 6}});
  const int32_t epoch = g_.group_epoch();
  const std::set<Partition> a_had = Set(a.owned), b_had = Set(b.owned);
  auto out = LeaveWith(c, ConsumerGroup::kLeaveEpoch);
  EXPECT_EQ(out.error, GroupErrc::kNone);
  EXPECT_EQ(out.member_epoch, ConsumerGroup::kLeaveEpoch);
  EXPECT_EQ(g_.size(), 2u);
  EXPECT_EQ(g_.group_epoch(), epoch + 1);
  Rounds({&a, &b}, 2);
  ExpectSettled({&a, &b}, {{"t", 6}});
  // Only c's two partitions moved.
  for (const auto& p : a_had) EXPECT_TRUE(Set(a.owned).count(p));
  for (const auto& p : b_had) EXPECT_TRUE(Set(b.owned).count(p));
  EXPECT_EQ(Beat(c).error, GroupErrc::kUnknownMemberId) << "gone";
}

TEST_F(ConsumerGroupTest, SessionExpiryRemovesASilentMember) {
  Client a, b;
  Rounds({&a, &b}, 3);
  EXPECT_EQ(g_.NextDeadline(), now_ + kMemberSessionMs);
  now_ += kMemberSessionMs / 2;
  Beat(a);
  EXPECT_EQ(g_.NextDeadline(), now_ - kMemberSessionMs / 2 + kMemberSessionMs) << "b's";
  now_ += kMemberSessionMs / 2 - 1;
  Expire();
  EXPECT_EQ(g_.size(), 2u) << "b has 1 ms left";
  now_ += 1;
  const int32_t epoch = g_.group_epoch();
  Expire();
  EXPECT_EQ(g_.size(), 1u);
  EXPECT_EQ(g_.group_epoch(), epoch + 1);
  Rounds({&a}, 2);
  ExpectSettled({&a}, {{"t", 6}});
  EXPECT_EQ(g_.NextDeadline(), now_ + kMemberSessionMs);
  EXPECT_EQ(Beat(b).error, GroupErrc::kUnknownMemberId);
}

TEST_F(ConsumerGroupTest, AHeartbeatAfterTheSessionEndedIsUnknownEvenBeforeExpireRuns) {
  Client a;
  Rounds({&a}, 2);
  now_ += kMemberSessionMs;
  EXPECT_EQ(Beat(a).error, GroupErrc::kUnknownMemberId);
  EXPECT_TRUE(g_.empty());
  EXPECT_EQ(g_.NextDeadline(), std::numeric_limits<int64_t>::max());
}

TEST_F(ConsumerGroupTest, StaticMemberComesBackToItsPartitionsWithoutANewEpoch) {
  Client a, b;
  b.instance = "static-b";
  Rounds({&a, &b}, 3);
  ExpectSettled({&a, &b}, {{"t", 6}});
  const TopicPartitions b_had = b.owned;
  const int32_t epoch = g_.group_epoch();
  auto out = LeaveWith(b, ConsumerGroup::kStaticLeaveEpoch);
  EXPECT_EQ(out.error, GroupErrc::kNone);
  EXPECT_EQ(out.member_epoch, ConsumerGroup::kStaticLeaveEpoch);
  EXPECT_EQ(g_.size(), 2u) << "still a member while away";
  EXPECT_EQ(g_.group_epoch(), epoch);
  now_ += kMemberSessionMs / 2;
  Rounds({&a}, 2);
  EXPECT_EQ(CountOwned(a.owned), 3u) << "b's partitions stay reserved";
  // The old member id is done; the instance id brings it back.
  Client old_b = b;
  EXPECT_EQ(Beat(old_b).error, GroupErrc::kUnknownMemberId);
  Client b2;
  b2.instance = "static-b";
  out = Beat(b2);
  ASSERT_EQ(out.error, GroupErrc::kNone);
  EXPECT_NE(b2.id, b.id);
  ASSERT_TRUE(out.assignment);
  EXPECT_EQ(b2.owned, b_had);
  EXPECT_EQ(b2.epoch, epoch);
  EXPECT_EQ(g_.group_epoch(), epoch) << "no rebalance";
  EXPECT_EQ(g_.size(), 2u);
  Rounds({&a, &b2}, 2);
  ExpectSettled({&a, &b2}, {{"t", 6}});
  EXPECT_EQ(g_.group_epoch(), epoch);
}

TEST_F(ConsumerGroupTest, LiveStaticInstanceIdCannotBeTakenOver) {
  Client b;
  b.instance = "static-b";
  Rounds({&b}, 2);
  Client b2;
  b2.instance = "static-b";
  EXPECT_EQ(Beat(b2).error, GroupErrc::kUnreleasedInstanceId);
  EXPECT_EQ(g_.size(), 1u);
  // Once b's session has ended, the instance id is free again.
  now_ += kMemberSessionMs;
  auto out = Beat(b2);
  ASSERT_EQ(out.error, GroupErrc::kNone);
  EXPECT_EQ(CountOwned(b2.owned), 6u);
}

TEST_F(ConsumerGroupTest, StaticMemberAwayTooLongLosesItsPartitions) {
  Client a, b;
  b.instance = "static-b";
  Rounds({&a, &b}, 3);
  LeaveWith(b, ConsumerGroup::kStaticLeaveEpoch);
  const int32_t epoch = g_.group_epoch();
  for (int i = 0; i < 11; i++) {  // a heartbeats through b's session
    now_ += kMemberSessionMs / 10;
    Beat(a);
  }
  EXPECT_EQ(g_.size(), 1u);
  EXPECT_GT(g_.group_epoch(), epoch);
  Rounds({&a}, 2);
  ExpectSettled({&a}, {{"t", 6}});
  Client b2;
  b2.instance = "static-b";
  ASSERT_EQ(Beat(b2).error, GroupErrc::kNone);
  EXPECT_TRUE(b2.owned.empty()) << "a new member now: it waits like any other";
}

TEST_F(ConsumerGroupTest, DynamicMemberLeavingWithMinusTwoLeavesForGood) {
  Client a, b;
  Rounds({&a, &b}, 3);
  auto out = LeaveWith(b, ConsumerGroup::kStaticLeaveEpoch);
  EXPECT_EQ(out.error, GroupErrc::kNone);
  EXPECT_EQ(out.member_epoch, ConsumerGroup::kLeaveEpoch);
  EXPECT_EQ(g_.size(), 1u);
}

TEST_F(ConsumerGroupTest, StaticMemberMayLeaveByInstanceIdAlone) {
  Client b;
  b.instance = "static-b";
  Rounds({&b}, 2);
  ConsumerGroup::HeartbeatIn in;
  in.instance_id = "static-b";
  in.member_epoch = ConsumerGroup::kLeaveEpoch;
  EXPECT_EQ(Send(in).error, GroupErrc::kNone);
  EXPECT_TRUE(g_.empty());
}

TEST_F(ConsumerGroupTest, BadHeartbeatsAreRefusedAndChangeNothing) {
  Client nobody;
  nobody.id = "ghost";
  nobody.epoch = 3;
  EXPECT_EQ(Beat(nobody).error, GroupErrc::kUnknownMemberId);
  nobody.epoch = 0;
  EXPECT_EQ(Beat(nobody).error, GroupErrc::kUnknownMemberId) << "ids come from the broker";
  EXPECT_EQ(LeaveWith(nobody, ConsumerGroup::kLeaveEpoch).error, GroupErrc::kUnknownMemberId);

  ConsumerGroup::HeartbeatIn no_subscription;
  auto out = Send(no_subscription);
  EXPECT_EQ(out.error, GroupErrc::kInvalidRequest);
  EXPECT_TRUE(out.member_id.empty());
  EXPECT_TRUE(g_.empty());

  Client a;
  Beat(a);
  const int32_t epoch = g_.group_epoch();
  Client stale = a;
  stale.epoch = a.epoch + 5;
  EXPECT_EQ(Beat(stale).error, GroupErrc::kStaleMemberEpoch);
  Client weird = a;
  weird.epoch = -3;
  EXPECT_EQ(Beat(weird).error, GroupErrc::kInvalidRequest);
  EXPECT_EQ(g_.size(), 1u);
  EXPECT_EQ(g_.group_epoch(), epoch);
}

TEST_F(ConsumerGroupTest, EmptySubscriptionIsAllowed) {
  Client a;
  a.topics = {};
  auto out = Beat(a);
  ASSERT_EQ(out.error, GroupErrc::kNone);
  ASSERT_TRUE(out.assignment);
  EXPECT_TRUE(out.assignment->empty());
  EXPECT_EQ(a.epoch, g_.group_epoch()) << "nothing to own: reconciled at once";
}

TEST_F(ConsumerGroupTest, KnownMemberRejoiningWithEpochZeroKeepsItsPlace) {
  Client a, b;
  Rounds({&a, &b}, 3);
  const int32_t epoch = g_.group_epoch();
  Client again = a;
  again.epoch = 0;
  auto out = Beat(again);
  ASSERT_EQ(out.error, GroupErrc::kNone);
  EXPECT_EQ(out.member_id, a.id);
  ASSERT_TRUE(out.assignment);
  EXPECT_EQ(*out.assignment, a.owned);
  EXPECT_EQ(out.member_epoch, epoch);
  EXPECT_EQ(g_.group_epoch(), epoch);
}

TEST_F(ConsumerGroupTest, GroupMaxSize) {
  std::vector<Client> cs(50);
  for (auto& c : cs) ASSERT_EQ(Beat(c).error, GroupErrc::kNone);
  Client one_more;
  EXPECT_EQ(Beat(one_more).error, GroupErrc::kGroupMaxSizeReached);
  EXPECT_EQ(g_.size(), 50u);
}

TEST_F(ConsumerGroupTest, StaticTakeoverIsNotRefusedWhenFull) {
  ConsumerGroup small("small", [] {
    ConsumerGroupConfig c = Config();
    c.max_size = 1;
    return c;
  }());
  ConsumerGroup::HeartbeatIn in;
  in.instance_id = "s";
  in.subscribed_topics = std::vector<std::string>{"t"};
  auto first = small.Heartbeat(in, now_, counts_, "x1");
  CheckNoTwoOwnersIn(small);
  ASSERT_EQ(first.error, GroupErrc::kNone);
  ConsumerGroup::HeartbeatIn away;
  away.member_id = first.member_id;
  away.member_epoch = ConsumerGroup::kStaticLeaveEpoch;
  ASSERT_EQ(small.Heartbeat(away, now_, counts_, "").error, GroupErrc::kNone);
  CheckNoTwoOwnersIn(small);
  ConsumerGroup::HeartbeatIn other;
  other.subscribed_topics = std::vector<std::string>{"t"};
  EXPECT_EQ(small.Heartbeat(other, now_, counts_, "x2").error, GroupErrc::kGroupMaxSizeReached);
  CheckNoTwoOwnersIn(small);
  auto back = small.Heartbeat(in, now_, counts_, "x3");
  CheckNoTwoOwnersIn(small);
  EXPECT_EQ(back.error, GroupErrc::kNone);
  EXPECT_EQ(back.member_id, "x3");
  EXPECT_EQ(back.assignment, first.assignment) << "its partitions back";
}

TEST_F(ConsumerGroupTest, PartitionCountGrowthMakesANewTarget) {
  Client a, b;
  Rounds({&a, &b}, 3);
  ExpectSettled({&a, &b}, {{"t", 6}});
  const int32_t epoch = g_.group_epoch();
  const auto a_had = Set(a.owned), b_had = Set(b.owned);
  topic_counts_["t"] = 10;
  Beat(a);
  EXPECT_EQ(g_.group_epoch(), epoch + 1) << "noticed at the next heartbeat";
  Rounds({&a, &b}, 2);
  ExpectSettled({&a, &b}, {{"t", 10}});
  EXPECT_EQ(g_.group_epoch(), epoch + 1);
  for (const auto& p : a_had) EXPECT_TRUE(Set(a.owned).count(p)) << "old partitions stay";
  for (const auto& p : b_had) EXPECT_TRUE(Set(b.owned).count(p));
}

TEST_F(ConsumerGroupTest, DeletedTopicIsRevokedAndACreatedOneAssigned) {
  Client a;
  a.topics = {"t", "later"};
  Rounds({&a}, 2);
  ExpectSettled({&a}, {{"t", 6}});
  topic_counts_["later"] = 2;
  Rounds({&a}, 2);
  ExpectSettled({&a}, {{"t", 6}, {"later", 2}});
  topic_counts_.erase("t");
  Rounds({&a}, 3);
  ExpectSettled({&a}, {{"later", 2}});
}

TEST_F(ConsumerGroupTest, OnlyARealSubscriptionChangeMakesANewEpoch) {
  Client a;
  a.send_topics = true;
  Rounds({&a}, 3);
  const int32_t epoch = g_.group_epoch();
  a.topics = {"t", "t"};  // the same set
  Rounds({&a}, 2);
  EXPECT_EQ(g_.group_epoch(), epoch);
  a.topics = {"t", "missing"};
  Rounds({&a}, 2);
  EXPECT_EQ(g_.group_epoch(), epoch + 1);
  EXPECT_EQ(View(a.id)->subscribed, (std::vector<std::string>{"missing", "t"}));
}

TEST_F(ConsumerGroupTest, CommitChecks) {
  EXPECT_EQ(g_.ValidateCommit("", -1), GroupErrc::kNone) << "no members: outsiders may commit";
  EXPECT_EQ(g_.ValidateCommit("", 0), GroupErrc::kUnknownMemberId);
  EXPECT_EQ(g_.ValidateCommit("ghost", -1), GroupErrc::kUnknownMemberId);
  Client a;
  Beat(a);
  EXPECT_EQ(g_.ValidateCommit("", -1), GroupErrc::kUnknownMemberId);
  EXPECT_EQ(g_.ValidateCommit(a.id, a.epoch), GroupErrc::kNone);
  EXPECT_EQ(g_.ValidateCommit(a.id, a.epoch - 1), GroupErrc::kStaleMemberEpoch);
  EXPECT_EQ(g_.ValidateCommit(a.id, a.epoch + 1), GroupErrc::kStaleMemberEpoch);
  EXPECT_EQ(g_.ValidateCommit("ghost", 1), GroupErrc::kUnknownMemberId);
  LeaveWith(a, ConsumerGroup::kLeaveEpoch);
  EXPECT_EQ(g_.ValidateCommit(a.id, a.epoch), GroupErrc::kUnknownMemberId);
  EXPECT_EQ(g_.ValidateCommit("", -1), GroupErrc::kNone);
}

TEST_F(ConsumerGroupTest, RestoredGroupContinuesFromItsEpoch) {
  g_.Restore(41);
  EXPECT_EQ(g_.group_epoch(), 41);
  EXPECT_STREQ(g_.state_name(), "Empty");
  Client a;
  Beat(a);
  EXPECT_EQ(g_.group_epoch(), 42);
  EXPECT_EQ(a.epoch, 42);
}

TEST_F(ConsumerGroupTest, MembersViewIsSortedAndComplete) {
  Client a, b;
  b.instance = "inst";
  Rounds({&a, &b}, 3);
  const auto v = g_.Members();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_LT(v[0].member_id, v[1].member_id);
  EXPECT_EQ(v[1].instance_id, "inst");
  EXPECT_EQ(v[0].client_id, "test");
  for (const auto& m : v) {
    EXPECT_EQ(m.assigned, m.target);
    EXPECT_TRUE(m.revoking.empty());
    EXPECT_EQ(m.subscribed, (std::vector<std::string>{"t"}));
    EXPECT_EQ(m.member_epoch, g_.group_epoch());
  }
}

// Random joins, leaves (-1 and -2), crashes, lost answers, subscription
// changes and topic changes, with a fixed seed. A simulated client holds
// exactly what the answers it received say. Checked at every step: the
// group never has a partition in two members' assigned/revoking, no two
// clients hold the same partition, and what a client holds is still its
// member's (assigned or revoking). Then, once everyone just heartbeats,
// everything settles: every partition owned once, everyone at the group epoch.
class RandomChurnTest : public ConsumerGroupTest {
 protected:
  void Run(uint32_t seed);
};

void RandomChurnTest::Run(uint32_t seed) {
  {
    topic_counts_ = {{"t", 6}, {"u", 3}};
    std::mt19937 rng(seed);
    struct Sim {
      Client c;
      bool live = false;
      int64_t last_beat = 0;
    };
    std::vector<Sim> sims(7);
    for (size_t i = 0; i < 3; i++) sims[i].c.instance = "inst-" + std::to_string(i);
    const std::vector<std::vector<std::string>> choices{{"t"}, {"t", "u"}, {"u"}};

    auto check_clients = [&] {
      std::map<Partition, size_t> holder;
      const auto views = g_.Members();
      for (size_t i = 0; i < sims.size(); i++) {
        if (!sims[i].live) continue;
        const ConsumerGroup::MemberView* mine = nullptr;
        for (const auto& v : views) {
          if (v.member_id == sims[i].c.id) mine = &v;
        }
        for (const auto& p : Set(sims[i].c.owned)) {
          auto [it, fresh] = holder.emplace(p, i);
          ASSERT_TRUE(fresh) << p.first << "-" << p.second << " held by clients " << it->second
                             << " and " << i;
          ASSERT_NE(mine, nullptr) << "client " << i << " holds partitions without a member";
          ASSERT_TRUE(Set(mine->assigned).count(p) || Set(mine->revoking).count(p))
              << "client " << i << " holds " << p.first << "-" << p.second
              << " that the group thinks is free";
        }
      }
    };
    auto beat = [&](Sim& s, bool lose_answer) {
      const auto out = Send(In(s.c));
      s.last_beat = now_;
      if (lose_answer) return;
      if (out.error == GroupErrc::kNone) {
        s.c.id = out.member_id;
        s.c.epoch = out.member_epoch;
        if (out.assignment) s.c.owned = *out.assignment;
        s.live = true;
        s.c.send_topics = false;
      } else {
        // Fenced or refused: drop everything, join again later (what
        // GroupConsumer does).
        s.c.id.clear();
        s.c.epoch = 0;
        s.c.owned.clear();
        s.live = false;
      }
    };

    for (int step = 0; step < 3000; step++) {
      now_ += rng() % 200;
      Sim& s = sims[rng() % sims.size()];
      const int action = static_cast<int>(rng() % 20);
      if (!s.live) {
        if (action < 10) {
          s.c.id.clear();
          s.c.epoch = 0;
          s.c.owned.clear();
          s.c.topics = choices[rng() % choices.size()];
          beat(s, /*lose_answer=*/action == 0);
        }
      } else if (action == 0) {
        LeaveWith(s.c, ConsumerGroup::kLeaveEpoch);
        s.live = false;
      } else if (action == 1) {
        s.live = false;  // crashed: silent until its session ends
        s.c.owned.clear();
      } else if (action == 2 && !s.c.instance.empty()) {
        LeaveWith(s.c, ConsumerGroup::kStaticLeaveEpoch);
        s.live = false;
      } else if (action == 3) {
        beat(s, /*lose_answer=*/true);
      } else if (action == 4) {
        s.c.topics = choices[rng() % choices.size()];
        s.c.send_topics = true;
        beat(s, false);
      } else if (action == 5 && rng() % 10 == 0) {
        // The topic u is created, grows, or is deleted.
        const int32_t u = counts_("u");
        topic_counts_["u"] = u < 0 ? 2 : (rng() % 3 == 0 ? -1 : u + 1);
        if (topic_counts_["u"] < 0) topic_counts_.erase("u");
      } else {
        beat(s, false);
      }
      // Live clients keep their sessions (the real ones heartbeat on time).
      for (auto& other : sims) {
        if (other.live && now_ - other.last_beat > kMemberSessionMs / 2) beat(other, false);
      }
      if (step % 5 == 0) Expire();
      check_clients();
      if (HasFatalFailure()) return;
    }

    // Quiet: every live client heartbeats each second, long enough for
    // crashed and away members' sessions to end, then a few rounds more.
    std::vector<Client*> live;
    for (int round = 0; round < kMemberSessionMs / kInterval + 6; round++) {
      now_ += kInterval;
      for (auto& s : sims) {
        if (s.live) beat(s, false);
      }
      check_clients();
      if (HasFatalFailure()) return;
    }
    std::set<std::string> subscribed;
    for (auto& s : sims) {
      if (!s.live) continue;
      live.push_back(&s.c);
      subscribed.insert(s.c.topics.begin(), s.c.topics.end());
    }
    EXPECT_EQ(g_.size(), live.size()) << "only the live clients are left";
    std::map<std::string, int> expected;
    for (const auto& t : subscribed) {
      if (counts_(t) > 0) expected[t] = counts_(t);
    }
    if (live.empty()) {
      EXPECT_STREQ(g_.state_name(), "Empty");
    } else {
      ExpectSettled(live, expected);
    }
  }
}

TEST_F(RandomChurnTest, Seed1) { Run(1); }
TEST_F(RandomChurnTest, Seed2) { Run(2); }
TEST_F(RandomChurnTest, Seed3) { Run(3); }
TEST_F(RandomChurnTest, Seed4) { Run(4); }
TEST_F(RandomChurnTest, Seed5) { Run(5); }

}  // namespace
}  // namespace sentry::group
