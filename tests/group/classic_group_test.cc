// ClassicGroup: Kafka's classic group protocol state machine, driven with a
// fake clock (time is an argument), no threads.
#include "group/classic_group.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>

namespace sentry::group {
namespace {

constexpr int32_t kSession = 10000;
constexpr int32_t kRebalance = 30000;
constexpr int32_t kDelay = 3000;

class ClassicGroupTest : public ::testing::Test {
 protected:
  ClassicGroupTest() { cfg_.initial_rebalance_delay_ms = kDelay; }

  JoinRequest Req(const std::string& member, const std::string& instance = "",
                  std::vector<Protocol> protocols = {{"range", "meta-range"},
                                                     {"roundrobin", "meta-rr"}}) {
    JoinRequest r;
    r.member_id = member;
    r.instance_id = instance;
    r.client_id = "client";
    r.client_host = "/127.0.0.1";
    r.session_timeout_ms = kSession;
    r.rebalance_timeout_ms = kRebalance;
    r.protocol_type = "consumer";
    r.protocols = std::move(protocols);
    r.require_known_member_id = false;
    return r;
  }

  // Sends a JoinGroup; returns its ticket. Answers land in answers_.
  Ticket Join(const JoinRequest& r, const std::string& new_id) {
    const Ticket t = next_++;
    Replies out;
    g_.Join(t, r, new_id, now_, &out);
    Collect(out);
    return t;
  }
  Ticket Sync(const std::string& member, int32_t gen,
              std::vector<std::pair<std::string, std::string>> assignments = {},
              const std::string& instance = "") {
    const Ticket t = next_++;
    SyncRequest r;
    r.member_id = member;
    r.instance_id = instance;
    r.generation = gen;
    r.assignments = std::move(assignments);
    Replies out;
    g_.Sync(t, r, now_, &out);
    Collect(out);
    return t;
  }
  // Past the initial delay of a group that was empty, extended once because
  // more than one member joined during it.
  void PastInitialDelay() {
    Advance(kDelay);
    Advance(kDelay);
  }
  void Advance(int64_t ms) {
    now_ += ms;
    Replies out;
    g_.Tick(now_, &out);
    Collect(out);
  }
  GroupErrc Leave(const std::string& member, const std::string& instance = "") {
    Replies out;
    GroupErrc e = g_.Leave(member, instance, now_, &out);
    Collect(out);
    return e;
  }
  void Collect(Replies& out) {
    for (auto& [t, r] : out.joins) {
      ASSERT_FALSE(joins_.count(t)) << "ticket " << t << " answered twice";
      joins_[t] = r;
    }
    for (auto& [t, r] : out.syncs) {
      ASSERT_FALSE(syncs_.count(t)) << "ticket " << t << " answered twice";
      syncs_[t] = r;
    }
  }
  std::optional<JoinResponse> JoinAnswer(Ticket t) {
    auto it = joins_.find(t);
    if (it == joins_.end()) return std::nullopt;
    return it->second;
  }
  std::optional<SyncResponse> SyncAnswer(Ticket t) {
    auto it = syncs_.find(t);
    if (it == syncs_.end()) return std::nullopt;
    return it->second;
  }

  // Two dynamic members "a" (leader) and "b", Stable at generation 1 with
  // assignments "A" and "B".
  void TwoMemberStable() {
    Ticket ja = Join(Req(""), "a");
    Ticket jb = Join(Req(""), "b");
    PastInitialDelay();
    ASSERT_TRUE(JoinAnswer(ja) && JoinAnswer(jb));
    Ticket sb = Sync("b", 1);
    Ticket sa = Sync("a", 1, {{"a", "A"}, {"b", "B"}});
    ASSERT_EQ(SyncAnswer(sa)->assignment, "A");
    ASSERT_EQ(SyncAnswer(sb)->assignment, "B");
    ASSERT_EQ(g_.state(), ClassicState::kStable);
  }

  ClassicGroupConfig cfg_;
  ClassicGroup g_{"g", &cfg_};
  int64_t now_ = 1000000;
  Ticket next_ = 1;
  std::map<Ticket, JoinResponse> joins_;
  std::map<Ticket, SyncResponse> syncs_;
};

TEST_F(ClassicGroupTest, MemberIdRequiredThenOneRebalanceAfterInitialDelay) {
  JoinRequest r = Req("");
  r.require_known_member_id = true;
  Ticket t1 = Join(r, "m1");
  auto a1 = JoinAnswer(t1);
  ASSERT_TRUE(a1);
  EXPECT_EQ(a1->error, GroupErrc::kMemberIdRequired);
  EXPECT_EQ(a1->member_id, "m1");
  EXPECT_EQ(g_.state(), ClassicState::kEmpty);

  r.member_id = "m1";
  Ticket t2 = Join(r, "unused");
  EXPECT_EQ(g_.state(), ClassicState::kPreparingRebalance);
  EXPECT_FALSE(JoinAnswer(t2)) << "an empty group waits group.initial.rebalance.delay.ms";
  Advance(kDelay - 1);
  EXPECT_FALSE(JoinAnswer(t2));
  Advance(1);
  auto a2 = JoinAnswer(t2);
  ASSERT_TRUE(a2);
  EXPECT_EQ(a2->error, GroupErrc::kNone);
  EXPECT_EQ(a2->generation, 1);
  EXPECT_EQ(a2->leader, "m1");
  EXPECT_EQ(a2->protocol_name, "range");
  ASSERT_EQ(a2->members.size(), 1u);
  EXPECT_EQ(a2->members[0].metadata, "meta-range");
  EXPECT_EQ(g_.state(), ClassicState::kCompletingRebalance);

  Ticket s = Sync("m1", 1, {{"m1", "assignment-1"}});
  ASSERT_TRUE(SyncAnswer(s));
  EXPECT_EQ(SyncAnswer(s)->assignment, "assignment-1");
  EXPECT_EQ(g_.state(), ClassicState::kStable);
  EXPECT_EQ(g_.Heartbeat("m1", "", 1, now_), GroupErrc::kNone);
}

TEST_F(ClassicGroupTest, MembersJoiningDuringTheDelayMakeOneGeneration) {
  Ticket ja = Join(Req(""), "a");
  Advance(kDelay / 2);
  Ticket jb = Join(Req(""), "b");
  // b arrived during the delay: the delay is extended once.
  Advance(kDelay / 2);
  EXPECT_FALSE(JoinAnswer(ja));
  Advance(kDelay);
  auto a = JoinAnswer(ja), b = JoinAnswer(jb);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->generation, 1);
  EXPECT_EQ(b->generation, 1);
  EXPECT_EQ(a->leader, "a");
  EXPECT_EQ(a->members.size(), 2u) << "the leader gets every member's metadata";
  EXPECT_TRUE(b->members.empty()) << "followers get none";
  // The follower's SyncGroup waits for the leader's.
  Ticket sb = Sync("b", 1);
  EXPECT_FALSE(SyncAnswer(sb));
  Ticket sa = Sync("a", 1, {{"a", "A"}, {"b", "B"}});
  EXPECT_EQ(SyncAnswer(sa)->assignment, "A");
  ASSERT_TRUE(SyncAnswer(sb));
  EXPECT_EQ(SyncAnswer(sb)->assignment, "B");
}

TEST_F(ClassicGroupTest, NewMemberRebalancesStableGroup) {
  TwoMemberStable();
  Ticket jc = Join(Req(""), "c");
  EXPECT_EQ(g_.state(), ClassicState::kPreparingRebalance);
  EXPECT_EQ(g_.Heartbeat("a", "", 1, now_), GroupErrc::kRebalanceInProgress);
  EXPECT_EQ(g_.Heartbeat("b", "", 1, now_), GroupErrc::kRebalanceInProgress);
  Ticket ja = Join(Req("a"), "");
  EXPECT_FALSE(JoinAnswer(jc)) << "b has not rejoined yet";
  Ticket jb = Join(Req("b"), "");
  for (Ticket t : {ja, jb, jc}) {
    ASSERT_TRUE(JoinAnswer(t));
    EXPECT_EQ(JoinAnswer(t)->generation, 2);
  }
  EXPECT_EQ(JoinAnswer(ja)->members.size(), 3u);
  // A stale generation is fenced.
  EXPECT_EQ(g_.Heartbeat("a", "", 1, now_), GroupErrc::kIllegalGeneration);
  Ticket stale = Sync("b", 1);
  EXPECT_EQ(SyncAnswer(stale)->error, GroupErrc::kIllegalGeneration);
}

TEST_F(ClassicGroupTest, SessionExpiryRemovesMemberAndRebalances) {
  TwoMemberStable();
  Advance(kSession / 2);
  EXPECT_EQ(g_.Heartbeat("a", "", 1, now_), GroupErrc::kNone);
  Advance(kSession / 2);  // b silent for a whole session
  EXPECT_FALSE(g_.HasMember("b"));
  EXPECT_TRUE(g_.HasMember("a"));
  EXPECT_EQ(g_.state(), ClassicState::kPreparingRebalance);
  EXPECT_EQ(g_.Heartbeat("a", "", 1, now_), GroupErrc::kRebalanceInProgress);
  Ticket ja = Join(Req("a"), "");
  ASSERT_TRUE(JoinAnswer(ja)) << "every remaining member rejoined";
  EXPECT_EQ(JoinAnswer(ja)->generation, 2);
  EXPECT_EQ(JoinAnswer(ja)->members.size(), 1u);
  EXPECT_EQ(g_.Heartbeat("b", "", 1, now_), GroupErrc::kUnknownMemberId);
}

TEST_F(ClassicGroupTest, MemberThatDoesNotRejoinIsDroppedAtRebalanceTimeout) {
  TwoMemberStable();
  Ticket jc = Join(Req(""), "c");
  Ticket ja = Join(Req("a"), "");
  // b keeps heartbeating (REBALANCE_IN_PROGRESS) but never rejoins.
  for (int i = 0; i < 5; i++) {
    Advance(kRebalance / 6);
    EXPECT_EQ(g_.Heartbeat("b", "", 1, now_), GroupErrc::kRebalanceInProgress);
  }
  EXPECT_FALSE(JoinAnswer(ja));
  Advance(kRebalance / 6 + 1);
  ASSERT_TRUE(JoinAnswer(ja));
  ASSERT_TRUE(JoinAnswer(jc));
  EXPECT_EQ(JoinAnswer(ja)->members.size(), 2u);
  EXPECT_FALSE(g_.HasMember("b"));
}

TEST_F(ClassicGroupTest, LeaderLeavingMidRebalanceHandsLeadershipOver) {
  TwoMemberStable();
  Ticket jc = Join(Req(""), "c");
  Ticket jb = Join(Req("b"), "");
  EXPECT_EQ(Leave("a"), GroupErrc::kNone);
  ASSERT_TRUE(JoinAnswer(jb)) << "a left: everyone left has rejoined";
  EXPECT_EQ(JoinAnswer(jb)->leader, "b");
  EXPECT_EQ(JoinAnswer(jb)->members.size(), 2u);
  EXPECT_EQ(JoinAnswer(jc)->leader, "b");
  EXPECT_TRUE(JoinAnswer(jc)->members.empty());
  EXPECT_EQ(Leave("a"), GroupErrc::kUnknownMemberId);
}

TEST_F(ClassicGroupTest, JoinDuringCompletingRebalanceCancelsTheSync) {
  Ticket ja = Join(Req(""), "a");
  Ticket jb = Join(Req(""), "b");
  PastInitialDelay();
  ASSERT_TRUE(JoinAnswer(ja) && JoinAnswer(jb));
  Ticket sb = Sync("b", 1);
  EXPECT_FALSE(SyncAnswer(sb));
  EXPECT_EQ(g_.ValidateCommit("b", "", 1, now_), GroupErrc::kRebalanceInProgress);
  Ticket jc = Join(Req(""), "c");
  ASSERT_TRUE(SyncAnswer(sb));
  EXPECT_EQ(SyncAnswer(sb)->error, GroupErrc::kRebalanceInProgress);
  EXPECT_EQ(g_.state(), ClassicState::kPreparingRebalance);
  Join(Req("a"), "");
  Join(Req("b"), "");
  ASSERT_TRUE(JoinAnswer(jc));
  EXPECT_EQ(JoinAnswer(jc)->generation, 2);
}

TEST_F(ClassicGroupTest, MembersThatNeverSyncAreRemovedAfterTheRebalanceTimeout) {
  // Sessions longer than the rebalance timeout: only the sync deadline can
  // remove b.
  JoinRequest r = Req("");
  r.session_timeout_ms = 2 * kRebalance;
  Ticket ja = Join(r, "a");
  Ticket jb = Join(r, "b");
  PastInitialDelay();
  ASSERT_TRUE(JoinAnswer(ja) && JoinAnswer(jb));
  Ticket sa = Sync("a", 1, {{"a", "A"}, {"b", "B"}});
  ASSERT_TRUE(SyncAnswer(sa));  // Stable now; b never syncs
  Advance(kRebalance - 1);
  EXPECT_TRUE(g_.HasMember("b"));
  Advance(1);
  EXPECT_FALSE(g_.HasMember("b"));
  EXPECT_TRUE(g_.HasMember("a"));
  EXPECT_EQ(g_.state(), ClassicState::kPreparingRebalance);
}

TEST_F(ClassicGroupTest, StaticMemberRestartGetsItsPartitionsBackWithoutRebalance) {
  Ticket ja = Join(Req("", "instance-a"), "a1");
  Ticket jb = Join(Req("", "instance-b"), "b1");
  PastInitialDelay();
  ASSERT_TRUE(JoinAnswer(ja) && JoinAnswer(jb));
  Sync("b1", 1, {}, "instance-b");
  Sync("a1", 1, {{"a1", "A"}, {"b1", "B"}}, "instance-a");
  ASSERT_EQ(g_.state(), ClassicState::kStable);
  // b restarts: a new process, no member id, the same instance id.
  Ticket jb2 = Join(Req("", "instance-b"), "b2");
  auto b2 = JoinAnswer(jb2);
  ASSERT_TRUE(b2) << "answered at once, no rebalance";
  EXPECT_EQ(b2->error, GroupErrc::kNone);
  EXPECT_EQ(b2->member_id, "b2");
  EXPECT_EQ(b2->generation, 1);
  EXPECT_EQ(g_.state(), ClassicState::kStable);
  EXPECT_EQ(g_.generation(), 1);
  Ticket sb2 = Sync("b2", 1, {}, "instance-b");
  EXPECT_EQ(SyncAnswer(sb2)->assignment, "B");
  // The old incarnation is fenced; a is undisturbed.
  EXPECT_EQ(g_.Heartbeat("b1", "instance-b", 1, now_), GroupErrc::kFencedInstanceId);
  EXPECT_EQ(g_.Heartbeat("a1", "instance-a", 1, now_), GroupErrc::kNone);
  EXPECT_EQ(g_.ValidateCommit("b1", "instance-b", 1, now_), GroupErrc::kFencedInstanceId);
}

TEST_F(ClassicGroupTest, StaticMemberKeepsItsPlaceWhileDownDuringRebalance) {
  JoinRequest ra = Req("", "instance-a");
  ra.session_timeout_ms = 2 * kRebalance;  // down, but within its session
  Ticket ja = Join(ra, "a1");
  Ticket jb = Join(Req(""), "b");
  PastInitialDelay();
  ASSERT_TRUE(JoinAnswer(ja) && JoinAnswer(jb));
  Sync("b", 1);
  Sync("a1", 1, {{"a1", "A"}, {"b", "B"}}, "instance-a");
  // b leaves; a (static) does not rejoin within the rebalance timeout.
  EXPECT_EQ(Leave("b"), GroupErrc::kNone);
  Advance(kRebalance);
  EXPECT_TRUE(g_.HasMember("a1")) << "static members are not dropped for not rejoining";
}

TEST_F(ClassicGroupTest, ProtocolAgreement) {
  TwoMemberStable();
  JoinRequest other = Req("");
  other.protocol_type = "connect";
  EXPECT_EQ(JoinAnswer(Join(other, "x"))->error, GroupErrc::kInconsistentGroupProtocol);
  JoinRequest no_common = Req("", "", {{"sticky", "m"}});
  EXPECT_EQ(JoinAnswer(Join(no_common, "y"))->error, GroupErrc::kInconsistentGroupProtocol);
  EXPECT_EQ(g_.state(), ClassicState::kStable) << "a refused join changes nothing";
  JoinRequest empty = Req("");
  empty.protocols.clear();
  EXPECT_EQ(JoinAnswer(Join(empty, "z"))->error, GroupErrc::kInconsistentGroupProtocol);
  // Sync v5 carries the protocol: it must match.
  SyncRequest s;
  s.member_id = "a";
  s.generation = 1;
  s.protocol_type = "consumer";
  s.protocol_name = "roundrobin";
  Replies out;
  g_.Sync(99, s, now_, &out);
  ASSERT_EQ(out.syncs.size(), 1u);
  EXPECT_EQ(out.syncs[0].second.error, GroupErrc::kInconsistentGroupProtocol);
}

TEST_F(ClassicGroupTest, ProtocolVote) {
  Ticket ja = Join(Req("", "", {{"range", "r"}, {"roundrobin", "rr"}}), "a");
  Ticket jb = Join(Req("", "", {{"roundrobin", "rr"}, {"range", "r"}}), "b");
  Ticket jc = Join(Req("", "", {{"roundrobin", "rr"}, {"range", "r"}, {"sticky", "s"}}), "c");
  PastInitialDelay();
  ASSERT_TRUE(JoinAnswer(ja) && JoinAnswer(jb) && JoinAnswer(jc));
  EXPECT_EQ(JoinAnswer(ja)->protocol_name, "roundrobin");
  const JoinResponse leader = *JoinAnswer(ja);
  for (const auto& m : leader.members) EXPECT_EQ(m.metadata, "rr");
}

TEST_F(ClassicGroupTest, BadRequests) {
  JoinRequest r = Req("");
  r.session_timeout_ms = cfg_.min_session_timeout_ms - 1;
  EXPECT_EQ(JoinAnswer(Join(r, "a"))->error, GroupErrc::kInvalidSessionTimeout);
  r.session_timeout_ms = cfg_.max_session_timeout_ms + 1;
  EXPECT_EQ(JoinAnswer(Join(r, "a"))->error, GroupErrc::kInvalidSessionTimeout);
  EXPECT_EQ(JoinAnswer(Join(Req("nobody"), ""))->error, GroupErrc::kUnknownMemberId);
  EXPECT_EQ(g_.Heartbeat("nobody", "", 0, now_), GroupErrc::kUnknownMemberId);
  EXPECT_EQ(SyncAnswer(Sync("nobody", 0))->error, GroupErrc::kUnknownMemberId);
  EXPECT_EQ(Leave("nobody"), GroupErrc::kUnknownMemberId);
  EXPECT_EQ(g_.state(), ClassicState::kEmpty);
  EXPECT_EQ(g_.size(), 0u);
}

TEST_F(ClassicGroupTest, OffsetCommitChecks) {
  EXPECT_EQ(g_.ValidateCommit("", "", -1, now_), GroupErrc::kNone) << "simple consumer, Empty";
  TwoMemberStable();
  EXPECT_EQ(g_.ValidateCommit("", "", -1, now_), GroupErrc::kUnknownMemberId);
  EXPECT_EQ(g_.ValidateCommit("a", "", 1, now_), GroupErrc::kNone);
  EXPECT_EQ(g_.ValidateCommit("a", "", 0, now_), GroupErrc::kIllegalGeneration);
  EXPECT_EQ(g_.ValidateCommit("zz", "", 1, now_), GroupErrc::kUnknownMemberId);
  // A commit counts as a heartbeat.
  Advance(kSession - 1);
  EXPECT_EQ(g_.ValidateCommit("a", "", 1, now_), GroupErrc::kNone);
  EXPECT_EQ(g_.ValidateCommit("b", "", 1, now_), GroupErrc::kNone);
  Advance(kSession - 1);
  EXPECT_TRUE(g_.HasMember("a"));
  EXPECT_TRUE(g_.HasMember("b"));
}

TEST_F(ClassicGroupTest, LastMemberLeavingEmptiesGroupAndBumpsGeneration) {
  TwoMemberStable();
  const uint64_t v = g_.persist_version();
  EXPECT_EQ(Leave("a"), GroupErrc::kNone);
  EXPECT_EQ(Leave("b"), GroupErrc::kNone);
  EXPECT_EQ(g_.state(), ClassicState::kEmpty);
  EXPECT_EQ(g_.generation(), 2);
  EXPECT_GT(g_.persist_version(), v);
  EXPECT_EQ(g_.ValidateCommit("", "", -1, now_), GroupErrc::kNone);
}

TEST_F(ClassicGroupTest, PendingMemberThatNeverRejoinsDoesNotBlockTheJoinPhase) {
  TwoMemberStable();
  JoinRequest r = Req("");
  r.require_known_member_id = true;
  EXPECT_EQ(JoinAnswer(Join(r, "p"))->error, GroupErrc::kMemberIdRequired);
  Ticket ja = Join(Req("a"), "");
  Ticket jb = Join(Req("b"), "");
  EXPECT_FALSE(JoinAnswer(ja)) << "waits for the pending member";
  Advance(kSession);
  ASSERT_TRUE(JoinAnswer(ja));
  ASSERT_TRUE(JoinAnswer(jb));
  EXPECT_EQ(JoinAnswer(ja)->members.size(), 2u);
}

TEST_F(ClassicGroupTest, ShutdownAnswersEveryWaiter) {
  Ticket ja = Join(Req(""), "a");
  Replies out;
  g_.Shutdown(GroupErrc::kCoordinatorNotAvailable, &out);
  Collect(out);
  ASSERT_TRUE(JoinAnswer(ja));
  EXPECT_EQ(JoinAnswer(ja)->error, GroupErrc::kCoordinatorNotAvailable);
  EXPECT_EQ(g_.state(), ClassicState::kDead);
}

}  // namespace
}  // namespace sentry::group
