#include "cluster/cluster_manager.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <functional>

#include "cluster/controller.h"
#include "common/clock.h"

namespace sentry::cluster {

ClusterManager::ClusterManager(std::unique_ptr<KvStore> store, ClusterOptions opt)
    : store_(std::move(store)), opt_(std::move(opt)), keys_{"/sentry/" + opt_.name},
      snapshot_(std::make_shared<ClusterSnapshot>()) {}

ClusterManager::~ClusterManager() { Stop(); }

Status ClusterManager::Register() {
  const int64_t ttl_s = std::max<int64_t>(1, (opt_.session_timeout_ms + 999) / 1000);
  // A broker restarted quickly after a crash finds its old registration
  // still held by the old lease: it waits for that lease to expire (at most
  // the session timeout), as a KRaft broker waits to be unfenced.
  const int64_t give_up = SteadyMillis() + 2 * opt_.session_timeout_ms + 5000;
  bool said = false;
  while (true) {
    auto lease = store_->GrantLease(ttl_s);
    if (lease.ok()) {
      auto put = store_->PutIf(keys_.Broker(opt_.self.id), EncodeBroker(opt_.self), 0, *lease);
      if (put.ok() && *put) {
        lease_.store(*lease);
        spdlog::info("cluster {}: registered as broker {} ({}:{} native, {} kafka), session {} ms",
                     opt_.name, opt_.self.id, opt_.self.host, opt_.self.native_port,
                     opt_.self.kafka_port, opt_.session_timeout_ms);
        return Status::OK();
      }
      (void)store_->RevokeLease(*lease);
      if (put.ok() && !said) {
        spdlog::warn("cluster {}: broker id {} is still registered (a previous run's session, "
                     "or another broker with the same broker.id); waiting for it to expire",
                     opt_.name, opt_.self.id);
        said = true;
      }
      if (!put.ok() && SteadyMillis() > give_up) return put.status();
    } else if (SteadyMillis() > give_up) {
      return lease.status();
    }
    if (SteadyMillis() > give_up) {
      return Status::AlreadyExists("broker id " + std::to_string(opt_.self.id) +
                                   " is registered by a live broker");
    }
    {
      std::unique_lock l(mu_);
      if (cv_.wait_for(l, std::chrono::milliseconds(250), [&] { return stop_; })) {
        return Status::Unavailable("stopping");
      }
    }
  }
}

Status ClusterManager::Start(SnapshotFn on_snapshot, FencedFn on_fenced) {
  on_snapshot_ = std::move(on_snapshot);
  on_fenced_ = std::move(on_fenced);
  Status s = Register();
  if (!s.ok()) return s;
  Step();  // the first snapshot before anyone asks
  thread_ = std::thread([this] { Run(); });
  keepalive_ = std::thread([this] { KeepAliveLoop(); });
  return Status::OK();
}

void ClusterManager::Stop() {
  {
    std::lock_guard l(mu_);
    if (stop_ && !thread_.joinable()) return;
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (keepalive_.joinable()) keepalive_.join();
  if (const int64_t lease = lease_.exchange(0); lease != 0) {
    // Controller key and registration go with the lease: the others see at
    // once that this broker left, without waiting for the session timeout.
    Status s = store_->RevokeLease(lease);
    if (!s.ok()) spdlog::warn("cluster {}: revoking the session failed: {}", opt_.name, s.ToString());
  }
}

std::shared_ptr<const ClusterSnapshot> ClusterManager::snapshot() const {
  std::lock_guard l(mu_);
  return snapshot_;
}

void ClusterManager::Poke() {
  {
    std::lock_guard l(mu_);
    poke_ = true;
  }
  cv_.notify_all();
}

bool ClusterManager::WaitFor(const std::function<bool(const ClusterSnapshot&)>& pred,
                             int64_t timeout_ms) {
  std::unique_lock l(mu_);
  const uint64_t from = generation_;
  poke_ = true;
  cv_.notify_all();
  return cv_.wait_for(l, std::chrono::milliseconds(timeout_ms), [&] {
    return stop_ || (generation_ > from && pred(*snapshot_));
  }) && !stop_;
}

void ClusterManager::Run() {
  while (true) {
    {
      std::unique_lock l(mu_);
      cv_.wait_for(l, std::chrono::milliseconds(opt_.poll_ms), [&] { return stop_ || poke_; });
      if (stop_) return;
      poke_ = false;
    }
    Step();
  }
}

void ClusterManager::KeepAliveLoop() {
  const int64_t every = std::max<int64_t>(100, opt_.session_timeout_ms / 3);
  std::unique_lock l(mu_);
  while (!cv_.wait_for(l, std::chrono::milliseconds(every), [&] { return stop_; })) {
    const int64_t lease = lease_.load();
    if (lease == 0 || expired_lease_.load() == lease) continue;
    l.unlock();
    auto ttl = store_->KeepAlive(lease);
    if (ttl.ok() && *ttl == 0) {
      expired_lease_.store(lease);
      Poke();
    } else if (!ttl.ok() && warn_.Allow()) {
      // Unreachable store: nothing can change leadership while it is down,
      // so this broker keeps its roles (docs/cluster.md).
      spdlog::warn("cluster {}: keep-alive failed ({}); keeping current roles{}", opt_.name,
                   ttl.status().ToString(), warn_.Suppressed());
    }
    l.lock();
  }
}

void ClusterManager::Step() {
  const int64_t lease = lease_.load();
  if (lease != 0 && expired_lease_.load() == lease) {
    // The others took this broker for dead (paused, cut off): whatever it
    // led may have a new leader. Stop acting as a leader first.
    spdlog::error("cluster {}: session expired; giving up leadership and registering again",
                  opt_.name);
    controller_.store(false);
    if (on_fenced_) on_fenced_();
    lease_.store(0);
    Status s = Register();
    if (!s.ok()) {
      spdlog::error("cluster {}: registering again failed: {}", opt_.name, s.ToString());
      return;
    }
  }
  auto kvs = store_->GetPrefix(keys_.Prefix());
  if (!kvs.ok()) return;  // the last snapshot stays in force
  auto snap = std::make_shared<ClusterSnapshot>(ParseSnapshot(keys_, *kvs));
  if (snap->controller < 0 && lease_.load() != 0) {
    auto won = store_->PutIf(keys_.Controller(), std::to_string(opt_.self.id), 0, lease_.load());
    if (won.ok() && *won) {
      spdlog::info("cluster {}: broker {} is the controller", opt_.name, opt_.self.id);
      snap->controller = opt_.self.id;
    }
  }
  const bool controller = snap->controller == opt_.self.id && lease_.load() != 0;
  if (controller != controller_.load()) {
    controller_.store(controller);
    if (!controller) spdlog::info("cluster {}: no longer the controller", opt_.name);
  }
  if (controller) RunController(*snap);
  {
    std::lock_guard l(mu_);
    snapshot_ = snap;
    generation_++;
  }
  cv_.notify_all();
  if (on_snapshot_) on_snapshot_(snap);
}

void ClusterManager::RunController(const ClusterSnapshot& s) {
  for (const PartitionChange& c : PlanPartitionChanges(s, opt_.unclean_leader_election)) {
    auto ok = store_->PutIf(keys_.Partition(c.topic, c.partition), EncodePartition(c.next),
                            c.expected_revision);
    if (!ok.ok() || !*ok) continue;  // changed meanwhile: planned again next round
    const PartitionRecord* cur = s.Partition(c.topic, c.partition);
    if (!cur) {
      spdlog::info("controller: {}-{} created, leader {} epoch {}", c.topic, c.partition,
                   c.next.leader, c.next.leader_epoch);
    } else if (cur->leader != c.next.leader) {
      spdlog::info("controller: {}-{} leader {} -> {} (epoch {}), isr [{}]", c.topic, c.partition,
                   cur->leader, c.next.leader, c.next.leader_epoch, fmt::join(c.next.isr, ","));
    } else {
      spdlog::info("controller: {}-{} isr [{}] -> [{}]", c.topic, c.partition,
                   fmt::join(cur->isr, ","), fmt::join(c.next.isr, ","));
    }
    Poke();
  }
  // The offsets log, as Kafka creates __consumer_offsets: once enough
  // brokers are alive for its replication factor (until then no group has
  // a coordinator).
  if (!s.topics.count(kOffsetsTopic)) {
    const auto live = static_cast<int64_t>(s.brokers.size());
    if (live >= opt_.offsets_replication_factor) {
      Status c = CreateTopic(kOffsetsTopic, opt_.offsets_partitions,
                             opt_.offsets_replication_factor, {});
      if (!c.ok() && c.code() != Status::Code::kAlreadyExists) {
        spdlog::warn("controller: cannot create {}: {}", kOffsetsTopic, c.ToString());
      }
    } else if (offsets_wait_log_.Allow()) {
      spdlog::info("controller: {} waits for {} live brokers (offsets.topic.replication.factor; "
                   "{} now): no group coordinator until then{}",
                   kOffsetsTopic, opt_.offsets_replication_factor, live,
                   offsets_wait_log_.Suppressed());
    }
  }
  // Records of deleted topics.
  for (const auto& [key, rec] : s.partitions) {
    if (s.topics.count(key.first)) continue;
    (void)store_->DeleteIf(keys_.Partition(key.first, key.second), rec.mod_revision);
  }
}

Status ClusterManager::CreateTopic(const std::string& name, int32_t partitions,
                                   int16_t replication_factor,
                                   const std::vector<std::pair<std::string, std::string>>& configs) {
  auto kvs = store_->GetPrefix(keys_.Brokers());
  if (!kvs.ok()) return kvs.status();
  std::vector<int32_t> live;
  for (const auto& kv : *kvs) {
    if (auto b = DecodeBroker(kv.value)) live.push_back(b->id);
  }
  TopicRecord t;
  t.name = name;
  t.partitions = partitions;
  t.replication_factor = replication_factor;
  t.configs = configs;
  auto replicas = AssignReplicas(live, partitions, replication_factor,
                                 static_cast<uint32_t>(std::hash<std::string>{}(name)));
  if (!replicas.ok()) return replicas.status();
  t.replicas = std::move(*replicas);
  auto put = store_->PutIf(keys_.Topic(name), EncodeTopic(t), 0);
  if (!put.ok()) return put.status();
  if (!*put) return Status::AlreadyExists("topic " + name + " exists");
  spdlog::info("cluster {}: topic {} created: {} partition(s), replication factor {}", opt_.name,
               name, partitions, replication_factor);
  Poke();
  return Status::OK();
}

Status ClusterManager::DeleteTopic(const std::string& name) {
  auto kv = store_->Get(keys_.Topic(name));
  if (!kv.ok()) return kv.status();
  if (!kv->has_value()) return Status::NotFound("no topic " + name);
  auto del = store_->DeleteIf(keys_.Topic(name), (*kv)->mod_revision);
  if (!del.ok()) return del.status();
  if (!*del) return Status::NotFound("topic " + name + " changed meanwhile");
  spdlog::info("cluster {}: topic {} deleted", opt_.name, name);
  Poke();
  return Status::OK();
}

Result<bool> ClusterManager::TopicExists(const std::string& name) {
  SENTRY_ASSIGN_OR_RETURN(auto kv, store_->Get(keys_.Topic(name)));
  return kv.has_value();
}

Status ClusterManager::AlterTopicConfigs(
    const std::string& name,
    const std::vector<std::pair<std::string, std::optional<std::string>>>& changes) {
  for (int attempt = 0; attempt < 20; attempt++) {
    auto kv = store_->Get(keys_.Topic(name));
    if (!kv.ok()) return kv.status();
    if (!kv->has_value()) return Status::NotFound("no topic " + name);
    auto t = DecodeTopic((*kv)->value);
    if (!t) return Status::Corruption("topic record of " + name + " cannot be read");
    for (const auto& change : changes) {
      const std::string& key = change.first;
      std::erase_if(t->configs, [&key](const auto& c) { return c.first == key; });
      if (change.second) t->configs.emplace_back(key, *change.second);
    }
    std::sort(t->configs.begin(), t->configs.end());
    auto put = store_->PutIf(keys_.Topic(name), EncodeTopic(*t), (*kv)->mod_revision);
    if (!put.ok()) return put.status();
    if (*put) {
      spdlog::info("cluster {}: topic {} settings changed", opt_.name, name);
      Poke();
      return Status::OK();
    }
  }
  return Status::Unavailable("topic " + name + " kept changing; try again");
}

Result<int64_t> ClusterManager::AllocateProducerIds(int64_t size) {
  const std::string key = keys_.root + "/producer_ids";
  for (int attempt = 0; attempt < 20; attempt++) {
    auto kv = store_->Get(key);
    if (!kv.ok()) return kv.status();
    int64_t start = 0;
    int64_t rev = 0;
    if (kv->has_value()) {
      start = std::strtoll((*kv)->value.c_str(), nullptr, 10);
      rev = (*kv)->mod_revision;
    }
    auto put = store_->PutIf(key, std::to_string(start + size), rev);
    if (!put.ok()) return put.status();
    if (*put) return start;
  }
  return Status::Unavailable("producer id block: too many concurrent allocations");
}

Result<bool> ClusterManager::UpdatePartition(const std::string& topic, int32_t partition,
                                             const PartitionRecord& next, int64_t expected) {
  auto ok = store_->PutIf(keys_.Partition(topic, partition), EncodePartition(next), expected);
  if (ok.ok() && *ok) Poke();
  return ok;
}

}  // namespace sentry::cluster
