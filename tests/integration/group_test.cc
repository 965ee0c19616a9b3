// Consumer groups against a real sentryd: Kafka's classic protocol byte by
// byte (KafkaTestClient; real Kafka clients are in kafka_clients_test.cc),
// native groups through client::GroupConsumer (a member killed, the broker
// killed during a rebalance), and the fencing of commits.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "client/group_consumer.h"
#include "common/clock.h"
#include "group/consumer_protocol.h"
#include "integration/broker_fixture.h"
#include "kafka/errors.h"
#include "kafka/kafka_test_client.h"
#include "protocol/errors.h"

namespace sentry::testing {
namespace {

using kafka::Code;
using kafka::ErrorCode;
using kafka::test::KafkaTestClient;
using namespace sentry::kafka;

std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string Str(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

// Short timeouts so the tests run in seconds: sessions down to 500 ms, no
// initial rebalance delay, native sessions of 1.5 s.
std::vector<std::string> GroupArgs() {
  return {"--group.initial.rebalance.delay.ms",     "0",
          "--group.min.session.timeout.ms",         "500",
          "--group.consumer.session.timeout.ms",    "1500",
          "--group.consumer.heartbeat.interval.ms", "100"};
}

class KafkaGroupProtocolTest : public BrokerFixture {
 protected:
  std::vector<std::string> ExtraArgs() override { return GroupArgs(); }
  void SetUp() override {
    BrokerFixture::SetUp();
    ASSERT_EQ(client_->CreateTopic("t", 4).value(), 0);
    ASSERT_EQ(client_->CreateTopic("other", 1).value(), 0);
    a_ = std::make_unique<KafkaTestClient>(broker_->kafka_port());
    b_ = std::make_unique<KafkaTestClient>(broker_->kafka_port());
  }
  static JoinGroupRequest Join(const std::string& member, int32_t session_ms = 10000) {
    JoinGroupRequest j;
    j.group_id = "kg";
    j.session_timeout_ms = session_ms;
    j.rebalance_timeout_ms = 5000;
    j.member_id = member;
    j.protocol_type = "consumer";
    subscription_ = group::EncodeSubscription({"t"});
    j.protocols.push_back(
        {"range", std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(subscription_.data()),
                                           subscription_.size())});
    return j;
  }
  // Joins with KIP-394's two steps; returns the answer.
  JoinGroupResponse JoinTwoSteps(KafkaTestClient& c, const std::string& member_ids_holder = "",
                                 int32_t session_ms = 10000) {
    std::string id = member_ids_holder;
    if (id.empty()) {
      auto first = c.Call<JoinGroupResponse>(Join("", session_ms), 5);
      EXPECT_TRUE(first);
      if (!first) return {};
      EXPECT_EQ(first->error_code, Code(ErrorCode::kMemberIdRequired));
      id = first->member_id;
      EXPECT_FALSE(id.empty());
    }
    const std::string keep = id;
    auto r = c.Call<JoinGroupResponse>(Join(keep, session_ms), 5);
    EXPECT_TRUE(r);
    return r.value_or(JoinGroupResponse{});
  }
  int16_t Heartbeat(KafkaTestClient& c, const std::string& member, int32_t gen) {
    HeartbeatRequest h;
    h.group_id = "kg";
    h.member_id = member;
    h.generation_id = gen;
    auto r = c.Call<HeartbeatResponse>(h, 3);
    return r ? r->error_code : int16_t{-999};
  }
  SyncGroupResponse Sync(KafkaTestClient& c, const std::string& member, int32_t gen,
                         const std::vector<std::pair<std::string, std::string>>& assignments) {
    SyncGroupRequest s;
    s.group_id = "kg";
    s.member_id = member;
    s.generation_id = gen;
    for (const auto& [m, bytes] : assignments) {
      s.assignments.push_back(
          {m,
           std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size())});
    }
    auto r = c.Call<SyncGroupResponse>(s, 3);
    EXPECT_TRUE(r);
    return r.value_or(SyncGroupResponse{});
  }
  int16_t Commit(KafkaTestClient& c, const std::string& member, int32_t gen, int64_t offset) {
    OffsetCommitRequest req;
    req.group_id = "kg";
    req.member_id = member;
    req.generation_id_or_member_epoch = gen;
    OffsetCommitRequest::OffsetCommitRequestTopic t;
    t.name = "t";
    t.partitions.push_back({0, offset, -1, -1, std::string_view("")});
    req.topics.push_back(t);
    auto r = c.Call<OffsetCommitResponse>(req, 7);
    return r ? r->topics.at(0).partitions.at(0).error_code : int16_t{-999};
  }

  static inline std::string subscription_;
  std::unique_ptr<KafkaTestClient> a_, b_;
};

TEST_F(KafkaGroupProtocolTest, OneMemberLifecycle) {
  JoinGroupResponse j = JoinTwoSteps(*a_);
  ASSERT_EQ(j.error_code, 0);
  EXPECT_EQ(j.generation_id, 1);
  EXPECT_EQ(j.leader, j.member_id);
  EXPECT_EQ(j.protocol_name.value_or(""), "range");
  ASSERT_EQ(j.members.size(), 1u);
  EXPECT_EQ(Str(j.members[0].metadata), group::EncodeSubscription({"t"}));
  const std::string me = j.member_id;
  const std::string assignment = group::EncodeAssignment({{"t", {0, 1, 2, 3}}});
  SyncGroupResponse s = Sync(*a_, me, 1, {{me, assignment}});
  EXPECT_EQ(s.error_code, 0);
  EXPECT_EQ(Str(s.assignment), assignment);

  EXPECT_EQ(Heartbeat(*a_, me, 1), 0);
  EXPECT_EQ(Heartbeat(*a_, me, 0), Code(ErrorCode::kIllegalGeneration));
  EXPECT_EQ(Heartbeat(*a_, "stranger", 1), Code(ErrorCode::kUnknownMemberId));
  EXPECT_EQ(Commit(*a_, me, 1, 5), 0);
  EXPECT_EQ(Commit(*a_, me, 7, 6), Code(ErrorCode::kIllegalGeneration));
  EXPECT_EQ(Commit(*a_, "", -1, 6), Code(ErrorCode::kUnknownMemberId))
      << "an outsider may not commit into a group with members";

  ListGroupsRequest lg;
  auto l = a_->Call<ListGroupsResponse>(lg, 4);
  ASSERT_TRUE(l);
  ASSERT_EQ(l->groups.size(), 1u);
  EXPECT_EQ(l->groups[0].group_id, "kg");
  EXPECT_EQ(l->groups[0].protocol_type, "consumer");
  EXPECT_EQ(l->groups[0].group_state, "Stable");
  lg.states_filter = {std::string_view("empty")};
  l = a_->Call<ListGroupsResponse>(lg, 4);
  ASSERT_TRUE(l);
  EXPECT_TRUE(l->groups.empty()) << "states filter";

  DescribeGroupsRequest dg;
  dg.groups = {std::string_view("kg"), std::string_view("nope")};
  auto d = a_->Call<DescribeGroupsResponse>(dg, 5);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->groups.size(), 2u);
  EXPECT_EQ(d->groups[0].group_state, "Stable");
  EXPECT_EQ(d->groups[0].protocol_data, "range");
  ASSERT_EQ(d->groups[0].members.size(), 1u);
  EXPECT_EQ(d->groups[0].members[0].client_id, "sentry-test");
  EXPECT_EQ(d->groups[0].members[0].client_host, "/127.0.0.1");
  EXPECT_EQ(Str(d->groups[0].members[0].member_assignment), assignment);
  EXPECT_EQ(d->groups[1].group_state, "Dead");
  EXPECT_EQ(d->groups[1].error_code, 0);

  // OffsetDelete: refused for a topic the members read, done otherwise.
  OffsetDeleteRequest od;
  od.group_id = "kg";
  od.topics.push_back({"t", {{0}}});
  auto odr = a_->Call<OffsetDeleteResponse>(od, 0);
  ASSERT_TRUE(odr);
  EXPECT_EQ(odr->error_code, 0);
  EXPECT_EQ(odr->topics.at(0).partitions.at(0).error_code,
            Code(ErrorCode::kGroupSubscribedToTopic));

  // LeaveGroup v3 (batch): the member leaves, a stranger is unknown.
  LeaveGroupRequest leave;
  leave.group_id = "kg";
  leave.members.push_back({me, std::nullopt});
  leave.members.push_back({"stranger", std::nullopt});
  auto lr = a_->Call<LeaveGroupResponse>(leave, 3);
  ASSERT_TRUE(lr);
  ASSERT_EQ(lr->members.size(), 2u);
  EXPECT_EQ(lr->members[0].error_code, 0);
  EXPECT_EQ(lr->members[1].error_code, Code(ErrorCode::kUnknownMemberId));
  EXPECT_EQ(Heartbeat(*a_, me, 1), Code(ErrorCode::kUnknownMemberId));

  // Empty now: the offset can go, and outsiders may commit again.
  odr = a_->Call<OffsetDeleteResponse>(od, 0);
  ASSERT_TRUE(odr);
  EXPECT_EQ(odr->topics.at(0).partitions.at(0).error_code, 0);
  OffsetFetchRequest f;
  f.group_id = "kg";
  auto fr = a_->Call<OffsetFetchResponse>(f, 7);
  ASSERT_TRUE(fr);
  EXPECT_TRUE(fr->topics.empty()) << "the deleted offset is gone";
  EXPECT_EQ(Commit(*a_, "", -1, 9), 0);
  od.group_id = "no-such-group";
  odr = a_->Call<OffsetDeleteResponse>(od, 0);
  ASSERT_TRUE(odr);
  EXPECT_EQ(odr->error_code, Code(ErrorCode::kGroupIdNotFound));
}

TEST_F(KafkaGroupProtocolTest, SecondMemberRebalancesTheFirst) {
  JoinGroupResponse ja = JoinTwoSteps(*a_);
  ASSERT_EQ(ja.error_code, 0);
  const std::string a = ja.member_id;
  Sync(*a_, a, 1, {{a, group::EncodeAssignment({{"t", {0, 1, 2, 3}}})}});
  // b's join waits for a to rejoin: send it without waiting for the answer.
  auto first = b_->Call<JoinGroupResponse>(Join(""), 5);
  ASSERT_TRUE(first);
  const std::string b = first->member_id;
  const int32_t corr = b_->Send(Join(b), 5);
  EXPECT_TRUE(b_->NothingWithin(200)) << "b waits for a";
  EXPECT_EQ(Heartbeat(*a_, a, 1), Code(ErrorCode::kRebalanceInProgress));
  JoinGroupResponse ja2 = JoinTwoSteps(*a_, a);
  auto jb = b_->Receive<JoinGroupResponse>(5, corr, false);
  ASSERT_TRUE(jb);
  EXPECT_EQ(ja2.generation_id, 2);
  EXPECT_EQ(jb->generation_id, 2);
  EXPECT_EQ(ja2.members.size(), 2u);
  EXPECT_TRUE(jb->members.empty());
  // b's SyncGroup waits for the leader's.
  SyncGroupRequest sb;
  sb.group_id = "kg";
  sb.member_id = b;
  sb.generation_id = 2;
  const int32_t scorr = b_->Send(sb, 3);
  EXPECT_TRUE(b_->NothingWithin(200));
  const std::string a_part = group::EncodeAssignment({{"t", {0, 1}}});
  const std::string b_part = group::EncodeAssignment({{"t", {2, 3}}});
  EXPECT_EQ(Str(Sync(*a_, a, 2, {{a, a_part}, {b, b_part}}).assignment), a_part);
  auto sbr = b_->Receive<SyncGroupResponse>(3, scorr, false);
  ASSERT_TRUE(sbr);
  EXPECT_EQ(Str(sbr->assignment), b_part);
}

TEST_F(KafkaGroupProtocolTest, SilentMemberIsRemovedAfterItsSession) {
  JoinGroupResponse ja = JoinTwoSteps(*a_, "", 600);
  ASSERT_EQ(ja.error_code, 0);
  Sync(*a_, ja.member_id, 1, {});
  auto first = b_->Call<JoinGroupResponse>(Join("", 600), 5);
  ASSERT_TRUE(first);
  const std::string b = first->member_id;
  const int32_t corr = b_->Send(Join(b, 600), 5);
  // a never heartbeats again: once its session ends the join completes
  // without it.
  auto jb = b_->Receive<JoinGroupResponse>(5, corr, false);
  ASSERT_TRUE(jb);
  EXPECT_EQ(jb->error_code, 0);
  EXPECT_EQ(jb->generation_id, 2);
  EXPECT_EQ(jb->leader, b);
  EXPECT_EQ(Heartbeat(*a_, ja.member_id, 1), Code(ErrorCode::kUnknownMemberId));
}

TEST_F(KafkaGroupProtocolTest, BadGroupRequestsAreRefusedAndChangeNothing) {
  JoinGroupRequest j = Join("");
  j.session_timeout_ms = 100;  // below group.min.session.timeout.ms
  auto r = a_->Call<JoinGroupResponse>(j, 5);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error_code, Code(ErrorCode::kInvalidSessionTimeout));
  j = Join("");
  j.group_id = "";
  r = a_->Call<JoinGroupResponse>(j, 5);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error_code, Code(ErrorCode::kInvalidGroupId));
  r = a_->Call<JoinGroupResponse>(Join("ghost"), 5);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error_code, Code(ErrorCode::kUnknownMemberId));
  auto l = a_->Call<ListGroupsResponse>(ListGroupsRequest{}, 3);
  ASSERT_TRUE(l);
  EXPECT_TRUE(l->groups.empty()) << "nothing was created";
  // A truncated JoinGroup closes that connection only.
  std::vector<uint8_t> body;
  Writer w(&body);
  w.Int16(JoinGroupRequest::kApiKey);
  w.Int16(5);
  w.Int32(1);
  w.NullableString(false, std::optional<std::string_view>("x"));
  w.Int16(2);  // a group id string that ends early
  ASSERT_TRUE(a_->SendFrame(body));
  EXPECT_TRUE(a_->WaitClosed());
  EXPECT_EQ(JoinTwoSteps(*b_).error_code, 0) << "the broker serves the others";
}

// --- native groups ----------------------------------------------------------

class NativeGroupTest : public BrokerFixture {
 protected:
  std::vector<std::string> ExtraArgs() override { return GroupArgs(); }
  void Produce(const std::string& topic, int32_t partitions, int per_partition) {
    for (int32_t p = 0; p < partitions; p++) {
      auto r = client_->Produce(topic, p, -1, MakeBatch(per_partition, 8));
      ASSERT_TRUE(r.ok() && r->ok());
    }
  }
  std::unique_ptr<client::GroupConsumer> Member(const std::string& group) {
    client::GroupConsumerOptions o;
    o.consumer.port = broker_->port();
    o.consumer.group = group;
    o.consumer.max_wait_ms = 50;
    auto c = client::GroupConsumer::Create(o, "n");
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(c.value()) : nullptr;
  }
};

// Members poll in turn; each commits after processing what it polled, and a
// record counts as processed once its commit succeeded. Returns when `want`
// records were processed or at the deadline.
struct Processed {
  std::set<std::pair<int32_t, int64_t>> seen;
  int duplicates = 0;
};

void PollRound(std::vector<std::unique_ptr<client::GroupConsumer>*> members, Processed* done) {
  // Client views lag the broker's, but a member drops a revoked partition
  // before the broker gives it to anyone: the views are disjoint at all times.
  std::set<int32_t> owned;
  for (auto* m : members) {
    if (!*m) continue;
    for (int32_t p : (*m)->assignment()) {
      EXPECT_TRUE(owned.insert(p).second) << "partition " << p << " owned twice";
    }
  }
  for (auto* m : members) {
    if (!*m) continue;
    auto recs = (*m)->Poll(20);
    ASSERT_TRUE(recs.ok()) << recs.status().ToString();
    if (recs->empty()) continue;
    if (!(*m)->Commit().ok()) continue;  // fenced: another member re-reads them
    for (const auto& r : *recs) {
      if (!done->seen.insert({r.partition, r.offset}).second) done->duplicates++;
    }
  }
}

TEST_F(NativeGroupTest, MembersShareAndAKilledMembersPartitionsMove) {
  ASSERT_EQ(client_->CreateTopic("n", 6).value(), 0);
  Produce("n", 6, 50);
  std::unique_ptr<client::GroupConsumer> a = Member("ng"), b = Member("ng"), c = Member("ng");
  ASSERT_TRUE(a && b && c);
  Processed done;
  const int64_t deadline = SteadyMillis() + 20000;
  // Until a third of the records are processed and all three own partitions.
  while (SteadyMillis() < deadline && (done.seen.size() < 100 || a->assignment().empty() ||
                                       b->assignment().empty() || c->assignment().empty())) {
    PollRound({&a, &b, &c}, &done);
  }
  ASSERT_EQ(a->assignment().size() + b->assignment().size() + c->assignment().size(), 6u);
  // c dies without leaving (its connections vanish).
  c.reset();
  const int64_t killed = SteadyMillis();
  while (SteadyMillis() < deadline && a->assignment().size() + b->assignment().size() < 6) {
    PollRound({&a, &b}, &done);
  }
  const int64_t moved_ms = SteadyMillis() - killed;
  EXPECT_LE(moved_ms, 1500 + 3000) << "within the session timeout + 3 s";
  while (SteadyMillis() < deadline && done.seen.size() < 300) PollRound({&a, &b}, &done);
  EXPECT_EQ(done.seen.size(), 300u) << "every record processed";
  EXPECT_EQ(done.duplicates, 0) << "none twice: commits follow processing";

  auto d = client_->DescribeGroup("ng");
  ASSERT_TRUE(d.ok() && d->ok());
  EXPECT_EQ(d->body.kind, "native");
  EXPECT_EQ(d->body.members.size(), 2u);
  ASSERT_EQ(d->body.offsets.size(), 6u);
  for (const auto& o : d->body.offsets) {
    EXPECT_EQ(o.committed_offset, 50);
    EXPECT_EQ(o.lag, 0);
    EXPECT_FALSE(o.member_id.empty());
  }
  EXPECT_TRUE(a->Close().ok());
  EXPECT_TRUE(b->Close().ok());
  d = client_->DescribeGroup("ng");
  ASSERT_TRUE(d.ok() && d->ok());
  EXPECT_EQ(d->body.state, "Empty");
}

TEST_F(NativeGroupTest, CommitsAndHeartbeatsAreFenced) {
  ASSERT_EQ(client_->CreateTopic("n", 2).value(), 0);
  std::unique_ptr<client::GroupConsumer> a = Member("fg");
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->Poll(50).ok());
  // Outsiders (OFFSET_COMMIT v1) may not commit into a group with members.
  auto c1 = client_->CommitOffset("fg", "n", 0, 1);
  ASSERT_TRUE(c1.ok());
  EXPECT_EQ(*c1, static_cast<int16_t>(protocol::ErrorCode::kUnknownMemberId));
  auto c2 = client_->CommitOffsetAsMember("fg", "n", 0, 1, {a->member_id(), a->member_epoch() + 9});
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(*c2, static_cast<int16_t>(protocol::ErrorCode::kStaleMemberEpoch));
  auto c3 = client_->CommitOffsetAsMember("fg", "n", 0, 1, {a->member_id(), a->member_epoch()});
  ASSERT_TRUE(c3.ok());
  EXPECT_EQ(*c3, 0);
  auto fetched = client_->FetchOffset("fg", "n", 0);
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(fetched->body.offset, 1) << "only the member's commit was stored";

  protocol::ConsumerGroupHeartbeatRequest hb;
  hb.group = "fg";
  hb.member_id = "ghost";
  hb.member_epoch = 3;
  auto r = client_->GroupHeartbeat(hb);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->error, static_cast<int16_t>(protocol::ErrorCode::kUnknownMemberId));
  hb.member_id = "";
  hb.member_epoch = 0;  // a join without a subscription
  r = client_->GroupHeartbeat(hb);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->error, static_cast<int16_t>(protocol::ErrorCode::kInvalidRequest));
  auto missing = client_->DescribeGroup("no-such-group");
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->error, static_cast<int16_t>(protocol::ErrorCode::kGroupIdNotFound));
  // A Kafka-protocol JoinGroup to this native group is refused.
  KafkaTestClient k(broker_->kafka_port());
  JoinGroupRequest j;
  j.group_id = "fg";
  j.session_timeout_ms = 10000;
  j.protocol_type = "consumer";
  const std::vector<uint8_t> meta = Bytes(group::EncodeSubscription({"n"}));
  j.protocols.push_back({"range", meta});
  auto jr = k.Call<JoinGroupResponse>(j, 3);
  ASSERT_TRUE(jr);
  EXPECT_EQ(jr->error_code, Code(ErrorCode::kInconsistentGroupProtocol));
}

TEST_F(NativeGroupTest, KillNineDuringARebalanceKeepsOffsetsAndGroups) {
  ASSERT_EQ(client_->CreateTopic("n", 4).value(), 0);
  Produce("n", 4, 40);
  Processed done;
  {
    std::unique_ptr<client::GroupConsumer> a = Member("cg"), b = Member("cg");
    ASSERT_TRUE(a && b);
    const int64_t deadline = SteadyMillis() + 20000;
    while (SteadyMillis() < deadline && done.seen.size() < 60) PollRound({&a, &b}, &done);
    // A third member joins: the group reconciles; the broker dies meanwhile.
    std::unique_ptr<client::GroupConsumer> c = Member("cg");
    ASSERT_TRUE(c);
    broker_->Kill();
  }
  ASSERT_TRUE(broker_->Start()) << broker_->Output();
  client_ = broker_->NewClient();
  ASSERT_TRUE(client_);
  auto l = client_->ListGroups();
  ASSERT_TRUE(l.ok() && l->ok());
  ASSERT_EQ(l->body.groups.size(), 1u);
  EXPECT_EQ(l->body.groups[0].group, "cg");
  EXPECT_EQ(l->body.groups[0].kind, "native");
  EXPECT_EQ(l->body.groups[0].state, "Empty") << "members rejoin";
  // The group re-forms and resumes at the committed offsets: nothing
  // processed twice, nothing missed.
  std::unique_ptr<client::GroupConsumer> a = Member("cg"), b = Member("cg");
  ASSERT_TRUE(a && b);
  const int64_t deadline = SteadyMillis() + 20000;
  while (SteadyMillis() < deadline && done.seen.size() < 160) PollRound({&a, &b}, &done);
  EXPECT_EQ(done.seen.size(), 160u);
  EXPECT_EQ(done.duplicates, 0);
}

// offsets.retention.minutes 0: offsets of a group without members expire at
// the next check; a group with a member keeps them.
class GroupRetentionTest : public NativeGroupTest {
 protected:
  std::vector<std::string> ExtraArgs() override {
    auto a = GroupArgs();
    a.insert(a.end(), {"--offsets.retention.minutes", "0", "--offsets.retention.check.interval.ms",
                       "200"});
    return a;
  }
  // Waits (up to 10 s) until `group` has nothing committed for n-0 and is
  // not listed any more.
  bool AwaitGone(const std::string& group) {
    const int64_t deadline = SteadyMillis() + 10000;
    while (SteadyMillis() < deadline) {
      auto f = client_->FetchOffset(group, "n", 0);
      auto l = client_->ListGroups();
      if (!f.ok() || !l.ok()) return false;
      bool listed = false;
      for (const auto& g : l->body.groups) listed |= g.group == group;
      if (f->body.offset == -1 && !listed) return true;
    }
    return false;
  }
};

TEST_F(GroupRetentionTest, EmptyGroupsLoseTheirOffsetsMembersKeepThem) {
  ASSERT_EQ(client_->CreateTopic("n", 1).value(), 0);
  std::unique_ptr<client::GroupConsumer> live = Member("live");
  ASSERT_TRUE(live);
  ASSERT_TRUE(live->Poll(50).ok());
  ASSERT_TRUE(live->Commit().ok());
  auto c = client_->CommitOffset("old", "n", 0, 1);  // a group without members
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(*c, 0);
  // The member heartbeats (from Poll) while the empty group expires.
  const int64_t deadline = SteadyMillis() + 10000;
  bool old_gone = false;
  while (!old_gone && SteadyMillis() < deadline) {
    ASSERT_TRUE(live->Poll(20).ok());
    auto f = client_->FetchOffset("old", "n", 0);
    ASSERT_TRUE(f.ok());
    old_gone = f->body.offset == -1;
  }
  ASSERT_TRUE(old_gone) << "the empty group's offset expired";
  EXPECT_TRUE(AwaitGone("old")) << "and the group itself went";
  auto kept = client_->FetchOffset("live", "n", 0);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->body.offset, 0) << "a group with a member keeps its offsets";
  ASSERT_TRUE(live->Close().ok());
  EXPECT_TRUE(AwaitGone("live")) << "empty now: its offsets expire too";
  // What expired stays expired after a restart.
  ASSERT_EQ(broker_->Stop(), 0);
  ASSERT_TRUE(broker_->Start()) << broker_->Output();
  client_ = broker_->NewClient();
  ASSERT_TRUE(client_);
  auto f = client_->FetchOffset("old", "n", 0);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->body.offset, -1);
  auto l = client_->ListGroups();
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->body.groups.empty());
}

}  // namespace
}  // namespace sentry::testing
