// The controller's decisions (PlanPartitionChanges, AssignReplicas) on
// made-up snapshots, and ClusterManager's election, leadership moves and
// compare-and-set writes against the in-memory store.
#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "cluster/cluster_manager.h"
#include "cluster/controller.h"
#include "cluster/fake_kv_store.h"

namespace sentry::cluster {
namespace {

ClusterSnapshot ThreeBrokers() {
  ClusterSnapshot s;
  for (int32_t id : {1, 2, 3}) s.brokers[id] = {id, "127.0.0.1", 7000 + id, 9000 + id};
  TopicRecord t;
  t.name = "t";
  t.partitions = 1;
  t.replication_factor = 3;
  t.replicas = {{1, 2, 3}};
  s.topics["t"] = t;
  return s;
}

PartitionRecord Record(int32_t leader, int32_t epoch, std::vector<int32_t> isr, int64_t rev = 7) {
  PartitionRecord r;
  r.leader = leader;
  r.leader_epoch = epoch;
  r.partition_epoch = epoch;
  r.isr = std::move(isr);
  r.mod_revision = rev;
  return r;
}

TEST(ControllerTest, NewPartitionLedByItsFirstLiveReplica) {
  ClusterSnapshot s = ThreeBrokers();
  s.brokers.erase(1);
  auto changes = PlanPartitionChanges(s, false);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].expected_revision, 0);  // created, not overwritten
  EXPECT_EQ(changes[0].next.leader, 2);
  EXPECT_EQ(changes[0].next.isr, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(changes[0].next.leader_epoch, 0);
}

TEST(ControllerTest, NothingToDoWhenEveryoneIsAlive) {
  ClusterSnapshot s = ThreeBrokers();
  s.partitions[{"t", 0}] = Record(1, 0, {1, 2, 3});
  EXPECT_TRUE(PlanPartitionChanges(s, false).empty());
}

TEST(ControllerTest, LeaderLostMovesToTheNextInSyncReplica) {
  ClusterSnapshot s = ThreeBrokers();
  s.partitions[{"t", 0}] = Record(1, 4, {1, 2, 3});
  s.brokers.erase(1);
  auto changes = PlanPartitionChanges(s, false);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].expected_revision, 7);
  EXPECT_EQ(changes[0].next.leader, 2);
  EXPECT_EQ(changes[0].next.leader_epoch, 5);
  EXPECT_EQ(changes[0].next.partition_epoch, 5);
  EXPECT_EQ(changes[0].next.isr, (std::vector<int32_t>{2, 3}));
}

TEST(ControllerTest, TwoLostLeavesTheSurvivorLeadingAlone) {
  ClusterSnapshot s = ThreeBrokers();
  s.partitions[{"t", 0}] = Record(1, 0, {1, 2, 3});
  s.brokers.erase(1);
  s.brokers.erase(2);
  auto changes = PlanPartitionChanges(s, false);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].next.leader, 3);
  EXPECT_EQ(changes[0].next.isr, (std::vector<int32_t>{3}));
}

TEST(ControllerTest, NoInSyncReplicaAliveGoesOfflineUnlessUnclean) {
  ClusterSnapshot s = ThreeBrokers();
  s.partitions[{"t", 0}] = Record(1, 2, {1});  // 2 and 3 had fallen behind
  s.brokers.erase(1);
  auto clean = PlanPartitionChanges(s, false);
  ASSERT_EQ(clean.size(), 1u);
  EXPECT_EQ(clean[0].next.leader, -1);
  EXPECT_EQ(clean[0].next.isr, (std::vector<int32_t>{1}));  // kept: 1 leads again when back
  EXPECT_EQ(clean[0].next.leader_epoch, 3);
  auto unclean = PlanPartitionChanges(s, true);
  ASSERT_EQ(unclean.size(), 1u);
  EXPECT_EQ(unclean[0].next.leader, 2);
  EXPECT_EQ(unclean[0].next.isr, (std::vector<int32_t>{2}));

  // Offline stays offline (no write) until the last in-sync replica returns.
  s.partitions[{"t", 0}] = clean[0].next;
  EXPECT_TRUE(PlanPartitionChanges(s, false).empty());
  s.brokers[1] = {1, "127.0.0.1", 7001, 9001};
  auto back = PlanPartitionChanges(s, false);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].next.leader, 1);
  EXPECT_EQ(back[0].next.leader_epoch, 4);
}

TEST(ControllerTest, FollowerLostShrinksTheIsrOnly) {
  ClusterSnapshot s = ThreeBrokers();
  s.partitions[{"t", 0}] = Record(1, 3, {1, 2, 3});
  s.brokers.erase(3);
  auto changes = PlanPartitionChanges(s, false);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].next.leader, 1);
  EXPECT_EQ(changes[0].next.leader_epoch, 3);  // same leader, same epoch
  EXPECT_EQ(changes[0].next.partition_epoch, 4);
  EXPECT_EQ(changes[0].next.isr, (std::vector<int32_t>{1, 2}));
}

TEST(ControllerTest, AssignReplicasSpreadsLeadersAndRefusesTooFewBrokers) {
  auto r = AssignReplicas({3, 1, 2}, 3, 2, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)[0], (std::vector<int32_t>{1, 2}));
  EXPECT_EQ((*r)[1], (std::vector<int32_t>{2, 3}));
  EXPECT_EQ((*r)[2], (std::vector<int32_t>{3, 1}));
  EXPECT_EQ(AssignReplicas({1, 2}, 1, 3, 0).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(AssignReplicas({1, 2}, 1, 0, 0).status().code(), Status::Code::kInvalidArgument);
}

TEST(ClusterStateTest, MalformedRecordsAreSkipped) {
  ClusterKeys keys{"/sentry/c"};
  std::vector<KeyValue> kvs = {
      {keys.Broker(1), EncodeBroker({1, "h", 1, 2}), 1, 1, 0},
      {keys.Broker(2), "{not json", 2, 2, 0},
      {keys.Topic("t"), R"({"name":"t","partitions":2,"replication_factor":1,"configs":{},"replicas":[[1]]})", 3, 3, 0},
      {keys.Partition("u", 0), EncodePartition(Record(1, 0, {1})), 4, 4, 0},
      {keys.Partition("u", 1), R"({"leader":"x"})", 5, 5, 0},
      {keys.Controller(), "1", 6, 6, 0},
  };
  ClusterSnapshot s = ParseSnapshot(keys, kvs);
  EXPECT_EQ(s.brokers.size(), 1u);
  EXPECT_TRUE(s.topics.empty());  // 2 partitions but 1 replica list
  ASSERT_EQ(s.partitions.size(), 1u);
  EXPECT_EQ(s.partitions.begin()->second.mod_revision, 4);
  EXPECT_EQ(s.controller, 1);
}

// --- ClusterManager against the fake store ---

struct Member {
  std::unique_ptr<ClusterManager> m;
  std::atomic<int> fenced{0};
};

std::unique_ptr<Member> Join(FakeKvStore* shared, int32_t id) {
  // Each member gets its own KvStore object over the same data.
  struct Proxy final : KvStore {
    explicit Proxy(FakeKvStore* store) : s(store) {}
    FakeKvStore* s;
    Result<std::optional<KeyValue>> Get(const std::string& k) override { return s->Get(k); }
    Result<std::vector<KeyValue>> GetPrefix(const std::string& p) override { return s->GetPrefix(p); }
    Result<int64_t> Put(const std::string& k, const std::string& v, int64_t l) override {
      return s->Put(k, v, l);
    }
    Result<bool> PutIf(const std::string& k, const std::string& v, int64_t e, int64_t l) override {
      return s->PutIf(k, v, e, l);
    }
    Result<bool> DeleteIf(const std::string& k, int64_t e) override { return s->DeleteIf(k, e); }
    Result<int64_t> GrantLease(int64_t t) override { return s->GrantLease(t); }
    Result<int64_t> KeepAlive(int64_t l) override { return s->KeepAlive(l); }
    Status RevokeLease(int64_t l) override { return s->RevokeLease(l); }
  };
  auto member = std::make_unique<Member>();
  ClusterOptions opt;
  opt.name = "c";
  opt.self = {id, "127.0.0.1", 7000 + id, 9000 + id};
  opt.session_timeout_ms = 1000;
  opt.poll_ms = 10;
  member->m = std::make_unique<ClusterManager>(std::make_unique<Proxy>(shared), opt);
  Member* raw = member.get();
  EXPECT_TRUE(member->m->Start(nullptr, [raw] { raw->fenced++; }).ok());
  return member;
}

bool Eventually(ClusterManager* m, const std::function<bool(const ClusterSnapshot&)>& pred) {
  for (int i = 0; i < 100; i++) {
    if (m->WaitFor(pred, 100)) return true;
  }
  return false;
}

TEST(ClusterManagerTest, OneControllerAndLeadershipMovesWhenALeaderDies) {
  FakeKvStore store;
  auto b1 = Join(&store, 1);
  auto b2 = Join(&store, 2);
  auto b3 = Join(&store, 3);
  ASSERT_TRUE(Eventually(b1->m.get(), [](const ClusterSnapshot& s) {
    return s.brokers.size() == 3 && s.controller >= 0;
  }));
  const int controllers = b1->m->is_controller() + b2->m->is_controller() + b3->m->is_controller();
  EXPECT_EQ(controllers, 1);

  ASSERT_TRUE(b2->m->CreateTopic("t", 1, 3, {}).ok());
  EXPECT_EQ(b3->m->CreateTopic("t", 1, 3, {}).code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(b3->m->CreateTopic("u", 1, 4, {}).code(), Status::Code::kInvalidArgument);
  ASSERT_TRUE(Eventually(b1->m.get(), [](const ClusterSnapshot& s) {
    const auto* r = s.Partition("t", 0);
    return r && r->leader >= 0 && r->isr.size() == 3;
  }));
  const PartitionRecord before = *b1->m->snapshot()->Partition("t", 0);

  // The leader's session expires: the controller (whoever it is now) moves
  // leadership to another in-sync replica in a new epoch.
  Member* members[] = {b1.get(), b2.get(), b3.get()};
  Member* leader = members[before.leader - 1];
  store.Expire(store.LeaseOf(ClusterKeys{"/sentry/c"}.Broker(before.leader)));
  Member* watcher = members[before.leader % 3];
  ASSERT_TRUE(Eventually(watcher->m.get(), [&](const ClusterSnapshot& s) {
    const auto* r = s.Partition("t", 0);
    return r && r->leader != before.leader && r->leader >= 0;
  }));
  const PartitionRecord after = *watcher->m->snapshot()->Partition("t", 0);
  EXPECT_EQ(after.leader_epoch, before.leader_epoch + 1);
  EXPECT_FALSE(after.InIsr(before.leader));
  // The expired broker learns it at its next keep-alive, gives up its
  // roles (fenced) and registers again.
  ASSERT_TRUE(Eventually(leader->m.get(), [&](const ClusterSnapshot& s) {
    return leader->fenced.load() > 0 && s.Live(before.leader);
  }));
}

TEST(ClusterManagerTest, AStaleCompareAndSetIsRefused) {
  FakeKvStore store;
  auto b1 = Join(&store, 1);
  ASSERT_TRUE(b1->m->CreateTopic("t", 1, 1, {}).ok());
  ASSERT_TRUE(Eventually(b1->m.get(), [](const ClusterSnapshot& s) {
    return s.Partition("t", 0) != nullptr;
  }));
  const PartitionRecord r = *b1->m->snapshot()->Partition("t", 0);
  auto first = b1->m->UpdatePartition("t", 0, WithIsr(r, {1}), r.mod_revision);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(*first);
  // Same expected revision again: someone (we) changed it meanwhile.
  auto second = b1->m->UpdatePartition("t", 0, WithIsr(r, {}), r.mod_revision);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);
}

TEST(ClusterManagerTest, TheOffsetsLogIsCreatedOnceEnoughBrokersAreAlive) {
  FakeKvStore store;
  auto b1 = Join(&store, 1);
  ASSERT_TRUE(Eventually(b1->m.get(), [](const ClusterSnapshot& s) {
    return s.controller == 1 && s.Live(1);
  }));
  // Several controller rounds with one live broker of the three it needs.
  for (int i = 0; i < 5; i++) b1->m->WaitFor([](const ClusterSnapshot&) { return true; }, 100);
  EXPECT_EQ(b1->m->snapshot()->topics.count(kOffsetsTopic), 0u);
  auto b2 = Join(&store, 2);
  auto b3 = Join(&store, 3);
  // offsets.topic.num.partitions (Kafka's 50), every one with a leader and
  // three in-sync replicas, the leaders (coordinators) spread over all three.
  const int32_t n = ClusterOptions{}.offsets_partitions;
  ASSERT_EQ(n, 50);
  ASSERT_TRUE(Eventually(b1->m.get(), [n](const ClusterSnapshot& s) {
    for (int32_t p = 0; p < n; p++) {
      const auto* r = s.Partition(kOffsetsTopic, p);
      if (!r || r->leader < 0 || r->isr.size() != 3) return false;
    }
    return true;
  }));
  const auto snap = b1->m->snapshot();
  const auto& t = snap->topics.at(kOffsetsTopic);
  EXPECT_EQ(t.partitions, n);
  std::set<int32_t> leaders;
  for (int32_t p = 0; p < n; p++) {
    EXPECT_EQ(t.replicas.at(static_cast<size_t>(p)).size(), 3u);
    leaders.insert(snap->Partition(kOffsetsTopic, p)->leader);
  }
  EXPECT_EQ(leaders, (std::set<int32_t>{1, 2, 3}));
}

TEST(ClusterManagerTest, TopicSettingsChangeByCompareAndSet) {
  FakeKvStore store;
  auto b1 = Join(&store, 1);
  ASSERT_TRUE(b1->m->CreateTopic("t", 1, 1, {{"retention.ms", "1"}}).ok());
  ASSERT_TRUE(b1->m->AlterTopicConfigs("t", {{"retention.ms", "2"}, {"segment.ms", "5"}}).ok());
  ASSERT_TRUE(b1->m->AlterTopicConfigs("t", {{"segment.ms", std::nullopt}}).ok());
  const std::vector<std::pair<std::string, std::string>> want{{"retention.ms", "2"}};
  EXPECT_TRUE(Eventually(b1->m.get(), [&](const ClusterSnapshot& s) {
    auto it = s.topics.find("t");
    return it != s.topics.end() && it->second.configs == want;
  }));
  EXPECT_EQ(b1->m->AlterTopicConfigs("nope", {{"retention.ms", "2"}}).code(),
            Status::Code::kNotFound);
  store.down = true;
  EXPECT_EQ(b1->m->AlterTopicConfigs("t", {{"retention.ms", "3"}}).code(),
            Status::Code::kUnavailable);
}

TEST(ClusterManagerTest, AnUnreachableStoreKeepsTheLastSnapshot) {
  FakeKvStore store;
  auto b1 = Join(&store, 1);
  ASSERT_TRUE(b1->m->CreateTopic("t", 1, 1, {}).ok());
  ASSERT_TRUE(Eventually(b1->m.get(), [](const ClusterSnapshot& s) {
    return s.Partition("t", 0) && s.Partition("t", 0)->leader == 1;
  }));
  store.down = true;
  EXPECT_EQ(b1->m->CreateTopic("u", 1, 1, {}).code(), Status::Code::kUnavailable);
  // No new snapshot arrives while it is down; the old one stands.
  EXPECT_FALSE(b1->m->WaitFor([](const ClusterSnapshot&) { return true; }, 300));
  EXPECT_EQ(b1->m->snapshot()->Partition("t", 0)->leader, 1);
  EXPECT_EQ(b1->fenced.load(), 0);
  store.down = false;
  EXPECT_TRUE(Eventually(b1->m.get(), [](const ClusterSnapshot& s) { return s.Live(1); }));
}

}  // namespace
}  // namespace sentry::cluster
