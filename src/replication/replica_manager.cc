#include "replication/replica_manager.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#include "broker/offset_store.h"
#include "cluster/controller.h"
#include "common/clock.h"

namespace sentry::replication {

using pipeline::Partition;
using pipeline::ReplicaRoleState;
using pipeline::WriteRequestPtr;

namespace {
constexpr int64_t kTickMs = 50;
constexpr int64_t kAdminWaitMs = 15000;

bool Contains(const std::vector<int32_t>& v, int32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}
}  // namespace

ReplicaManager::ReplicaManager(ReplicationOptions opt, cluster::ClusterManager* cluster,
                               broker::TopicRegistry* registry,
                               std::vector<pipeline::CompletionSink*> sinks, WakeFn wake)
    : opt_(std::move(opt)), cluster_(cluster), registry_(registry), sinks_(std::move(sinks)),
      wake_(std::move(wake)), snapshot_(std::make_shared<cluster::ClusterSnapshot>()) {}

ReplicaManager::~ReplicaManager() { Stop(); }

void ReplicaManager::Start() {
  tick_ = std::thread([this] { RunTick(); });
}

void ReplicaManager::Stop() {
  {
    std::lock_guard l(tick_mu_);
    stop_ = true;
  }
  tick_cv_.notify_all();
  if (tick_.joinable()) tick_.join();
  for (auto& [id, f] : fetchers_) f->RequestStop();
  for (auto& f : retired_) f->RequestStop();
  for (auto& [id, f] : fetchers_) f->Stop();
  for (auto& f : retired_) f->Stop();
  fetchers_.clear();
  retired_.clear();
  std::vector<WriteRequestPtr> done;
  {
    MutexLock l(&mu_);
    std::vector<const Partition*> all;
    for (auto& [p, led] : led_) all.push_back(p);
    for (const Partition* p : all) DropLed(p, &done);
  }
  Deliver(&done);
}

void ReplicaManager::RunTick() {
  std::unique_lock l(tick_mu_);
  while (!stop_) {
    tick_cv_.wait_for(l, std::chrono::milliseconds(kTickMs));
    if (stop_) return;
    l.unlock();
    Tick();
    l.lock();
  }
}

// --- the cluster's view ---

std::vector<broker::ClusterBroker> ReplicaManager::Brokers() const {
  std::lock_guard l(snap_mu_);
  std::vector<broker::ClusterBroker> out;
  for (const auto& [id, b] : snapshot_->brokers) {
    out.push_back({b.id, b.host, b.native_port, b.kafka_port});
  }
  return out;
}

int32_t ReplicaManager::ControllerId() const {
  std::lock_guard l(snap_mu_);
  return snapshot_->controller;
}

std::optional<broker::PartitionLeadership> ReplicaManager::Leadership(std::string_view topic,
                                                                      int32_t partition) const {
  std::lock_guard l(snap_mu_);
  auto t = snapshot_->topics.find(std::string(topic));
  if (t == snapshot_->topics.end() || partition < 0 || partition >= t->second.partitions) {
    return std::nullopt;
  }
  broker::PartitionLeadership out;
  out.replicas = t->second.replicas[static_cast<size_t>(partition)];
  if (const auto* r = snapshot_->Partition(t->first, partition)) {
    out.leader = r->leader;
    out.leader_epoch = r->leader_epoch;
    out.isr = r->isr;
  }
  return out;
}

// --- admin ---

broker::Error ReplicaManager::CreateTopic(
    const std::string& name, int32_t partitions, int16_t replication_factor,
    const std::vector<std::pair<std::string, std::string>>& configs) {
  const int16_t rf = replication_factor < 0 ? opt_.default_replication_factor : replication_factor;
  Status s = cluster_->CreateTopic(name, partitions, rf, configs);
  if (s.code() == Status::Code::kAlreadyExists) return {broker::Errc::kTopicAlreadyExists, s.message()};
  if (s.code() == Status::Code::kInvalidArgument) {
    return {broker::Errc::kInvalidReplicationFactor, s.message()};
  }
  if (!s.ok()) return {broker::Errc::kClusterUnavailable, "metadata store: " + s.ToString()};
  // Answer once this broker serves the topic and every partition has a
  // leader, so the creator's next request finds it (read your writes).
  const int64_t until = SteadyMillis() + kAdminWaitMs;
  while (SteadyMillis() < until) {
    const bool led_everywhere = cluster_->WaitFor(
        [&](const cluster::ClusterSnapshot& snap) {
          for (int32_t p = 0; p < partitions; p++) {
            const auto* r = snap.Partition(name, p);
            if (!r || r->leader < 0) return false;
          }
          return true;
        },
        500);
    if (led_everywhere && registry_->Find(name)) return {};
  }
  return {broker::Errc::kNone, ""};  // created; leaders still being chosen (as Kafka may answer)
}

broker::Error ReplicaManager::DeleteTopic(const std::string& name) {
  Status s = cluster_->DeleteTopic(name);
  if (s.code() == Status::Code::kNotFound) {
    return {broker::Errc::kUnknownTopicOrPartition, s.message()};
  }
  if (!s.ok()) return {broker::Errc::kClusterUnavailable, "metadata store: " + s.ToString()};
  const int64_t until = SteadyMillis() + kAdminWaitMs;
  while (SteadyMillis() < until && registry_->Find(name)) {
    cluster_->WaitFor([](const cluster::ClusterSnapshot&) { return true; }, 500);
  }
  return {};
}

bool ReplicaManager::AwaitTopic(const std::string& name) {
  auto exists = cluster_->TopicExists(name);
  if (!exists.ok() || !*exists) return false;
  const int64_t until = SteadyMillis() + kAdminWaitMs;
  while (!registry_->Find(name) && SteadyMillis() < until) {
    cluster_->WaitFor([](const cluster::ClusterSnapshot&) { return true; }, 500);
  }
  return registry_->Find(name) != nullptr;
}

broker::Error ReplicaManager::AlterTopicConfig(
    const std::string& name,
    const std::vector<std::pair<std::string, std::optional<std::string>>>& changes) {
  Status s = cluster_->AlterTopicConfigs(name, changes);
  if (s.code() == Status::Code::kNotFound) {
    return {broker::Errc::kUnknownTopicOrPartition, s.message()};
  }
  if (!s.ok()) return {broker::Errc::kClusterUnavailable, "metadata store: " + s.ToString()};
  // Answer once this broker applies them (read your writes here; the others
  // follow within cluster.poll.ms).
  auto record_has_them = [&](const cluster::ClusterSnapshot& snap) {
    auto it = snap.topics.find(name);
    if (it == snap.topics.end()) return true;  // deleted meanwhile
    for (const auto& change : changes) {
      const std::string& key = change.first;
      const std::optional<std::string>& value = change.second;
      auto c = std::find_if(it->second.configs.begin(), it->second.configs.end(),
                            [&key](const auto& kv) { return kv.first == key; });
      const bool present = c != it->second.configs.end();
      if (present != value.has_value() || (present && c->second != *value)) return false;
    }
    return true;
  };
  const int64_t until = SteadyMillis() + kAdminWaitMs;
  while (SteadyMillis() < until && !cluster_->WaitFor(record_has_them, 500)) {
  }
  return {};
}

// --- roles ---

void ReplicaManager::Apply(const std::shared_ptr<const cluster::ClusterSnapshot>& s) {
  {
    std::lock_guard l(snap_mu_);
    snapshot_ = s;
  }
  for (const auto& [name, t] : s->topics) {
    if (name == broker::kOffsetsTopic) continue;  // below
    auto topic = registry_->Find(name);
    if (!topic) {
      std::vector<std::pair<std::string_view, std::string_view>> views(t.configs.begin(),
                                                                       t.configs.end());
      broker::Error e = registry_->Create(name, t.partitions, views);
      if (!e.ok() && e.code != broker::Errc::kTopicAlreadyExists) {
        spdlog::error("cluster: cannot create topic {} here: {} ({})", name,
                      broker::ErrcName(e.code), e.message);
        continue;
      }
      topic = registry_->Find(name);
      if (!topic) continue;
    }
    seen_topics_.insert(name);
    if (auto& applied = applied_configs_[name]; applied != t.configs) {
      // The record's settings changed (or this broker just started): every
      // setting to the record's value, or back to the default.
      std::vector<broker::TopicRegistry::ConfigChange> changes;
      for (const auto& setting : registry_->defaults().ToMap()) {
        const std::string& key = setting.first;
        auto c = std::find_if(t.configs.begin(), t.configs.end(),
                              [&key](const auto& kv) { return kv.first == key; });
        changes.emplace_back(key, c == t.configs.end() ? std::nullopt
                                                       : std::optional<std::string>(c->second));
      }
      broker::Error e = registry_->AlterConfig(name, changes);
      if (e.ok()) {
        applied = t.configs;
        topic = registry_->Find(name);
        if (!topic) continue;
      } else if (config_error_.Allow()) {
        spdlog::error("cluster: cannot apply the settings of topic {} here: {} ({}); retrying{}",
                      name, broker::ErrcName(e.code), e.message, config_error_.Suppressed());
      }
    }
    const int32_t n = std::min<int32_t>(t.partitions, static_cast<int32_t>(topic->partitions.size()));
    for (int32_t i = 0; i < n; i++) {
      const auto& part = topic->partitions[static_cast<size_t>(i)];
      part->replica().min_insync.store(static_cast<int32_t>(topic->config.min_insync_replicas));
      ApplyPartition(part, t, i, *s);
    }
  }
  if (!offsets_.empty()) ApplyOffsetsLog(*s);
  for (const auto& topic : registry_->List()) {
    if (s->topics.count(topic->name)) continue;
    applied_configs_.erase(topic->name);
    if (seen_topics_.erase(topic->name)) {
      for (const auto& p : topic->partitions) BecomeNothing(p, -1);
      broker::Error e = registry_->Delete(topic->name, wake_);
      if (!e.ok()) {
        spdlog::error("cluster: deleting topic {} here failed: {}", topic->name, e.message);
      }
    } else {
      // Here before this broker joined, unknown to the cluster: kept on
      // disk, served by nobody (docs/cluster.md).
      for (const auto& p : topic->partitions) {
        if (p->replica().role.load() != ReplicaRoleState::kNone) {
          spdlog::warn("cluster: topic {} is in the data directory but not in the cluster's "
                       "metadata; not served", topic->name);
          BecomeNothing(p, -1);
        }
      }
    }
  }
  // Fetchers left with nothing to fetch stop; never waited for here (one
  // may be in a fetch from a leader that stopped answering), joined once
  // their threads are done.
  for (auto it = fetchers_.begin(); it != fetchers_.end();) {
    if (it->second->empty()) {
      it->second->RequestStop();
      retired_.push_back(std::move(it->second));
      it = fetchers_.erase(it);
    } else {
      ++it;
    }
  }
  std::erase_if(retired_, [](const std::unique_ptr<ReplicaFetcher>& f) {
    if (!f->exited()) return false;
    f->Stop();
    return true;
  });
}

void ReplicaManager::ApplyPartition(const std::shared_ptr<Partition>& part,
                                    const cluster::TopicRecord& t, int32_t index,
                                    const cluster::ClusterSnapshot& s) {
  const int32_t me = opt_.broker_id;
  const auto* rec = s.Partition(t.name, index);
  const auto& replicas = t.replicas[static_cast<size_t>(index)];
  if (!rec || !Contains(replicas, me)) {
    BecomeNothing(part, rec ? rec->leader : -1);
  } else if (rec->leader == me) {
    BecomeLeader(part, t, *rec);
  } else if (rec->leader >= 0 && s.Live(rec->leader)) {
    BecomeFollower(part, *rec, s);
  } else {
    BecomeNothing(part, -1);
  }
}

void ReplicaManager::SetOffsetsLog(std::vector<std::shared_ptr<Partition>> partitions,
                                   OffsetsRoleFn on_role) {
  offsets_.clear();
  for (auto& p : partitions) {
    // Until the cluster says otherwise, nobody leads it here.
    p->replica().role.store(ReplicaRoleState::kNone);
    p->replica().leader_id.store(-1);
    p->replica().gate.store(this);
    offsets_.push_back({std::move(p)});
  }
  on_offsets_role_ = std::move(on_role);
}

void ReplicaManager::ApplyOffsetsLog(const cluster::ClusterSnapshot& s) {
  auto it = s.topics.find(broker::kOffsetsTopic);
  const auto here = static_cast<int32_t>(offsets_.size());
  const bool usable = it != s.topics.end() && it->second.partitions == here;
  if (it != s.topics.end() && !usable && offsets_count_error_.Allow()) {
    // Hashing groups over another count than the cluster's would send
    // clients to the wrong coordinator: this broker coordinates nothing.
    spdlog::error("cluster: {} has {} partitions in the cluster but offsets.topic.num.partitions "
                  "is {} here: this broker coordinates no group and keeps no replica of it; "
                  "set offsets.topic.num.partitions={} and restart it{}",
                  broker::kOffsetsTopic, it->second.partitions, here, it->second.partitions,
                  offsets_count_error_.Suppressed());
  }
  for (int32_t i = 0; i < here; i++) {
    const auto& p = offsets_[static_cast<size_t>(i)].p;
    if (usable) {
      ApplyPartition(p, it->second, i, s);
    } else {
      BecomeNothing(p, -1);  // not created yet: nobody coordinates its groups
    }
  }
  NoteOffsetsRoles();
}

void ReplicaManager::NoteOffsetsRoles() {
  int32_t started = 0;
  int32_t stopped = 0;
  for (size_t i = 0; i < offsets_.size(); i++) {
    OffsetsPartition& o = offsets_[i];
    const ReplicaRoleState& rs = o.p->replica();
    const bool leading = rs.role.load() == ReplicaRoleState::kLeader;
    const int32_t epoch = rs.leader_epoch.load();
    if (leading == o.leading && (!leading || epoch == o.epoch)) continue;
    o.leading = leading;
    o.epoch = epoch;
    (leading ? started : stopped)++;
    if (on_offsets_role_) on_offsets_role_(static_cast<int32_t>(i), leading);
  }
  if (started + stopped > 0) {
    const auto led = std::count_if(offsets_.begin(), offsets_.end(),
                                   [](const OffsetsPartition& o) { return o.leading; });
    spdlog::info("cluster: group coordinator for {} of {} partitions of {} ({} started, {} "
                 "stopped)",
                 led, offsets_.size(), broker::kOffsetsTopic, started, stopped);
  }
}

void ReplicaManager::BecomeLeader(const std::shared_ptr<Partition>& p,
                                  const cluster::TopicRecord& t,
                                  const cluster::PartitionRecord& r) {
  ReplicaRoleState& rs = p->replica();
  std::vector<WriteRequestPtr> done;
  bool moved = false;
  bool same = false;
  {
    MutexLock l(&mu_);
    auto it = led_.find(p.get());
    if (it != led_.end() && it->second->epoch == r.leader_epoch &&
        rs.role.load() == ReplicaRoleState::kLeader) {
      // Still leading in this epoch: the record may carry a new ISR.
      Led& led = *it->second;
      led.record = r;
      led.change_in_flight = false;
      rs.isr_size.store(static_cast<int32_t>(r.isr.size()));
      AdvanceLocked(led, &done, &moved);
      same = true;
    }
  }
  if (same) {
    Deliver(&done);
    if (moved) wake_(p);
    return;
  }
  UnfollowEverywhere(p.get());
  PartitionLog* log = p->log();
  auto led = std::make_unique<Led>();
  {
    MutexLock al(&p->append_mu());
    Status s = log->leader_epochs().Assign(r.leader_epoch, log->log_end_offset());
    if (!s.ok()) {
      spdlog::error("cluster: {}-{}: cannot start leader epoch {}: {}", p->topic(), p->index(),
                    r.leader_epoch, s.ToString());
      return;
    }
    led->epoch_start = log->log_end_offset();
    // From here on appends carry the new epoch.
    rs.leader_epoch.store(r.leader_epoch);
    rs.leader_id.store(opt_.broker_id);
  }
  const int64_t now = SteadyMillis();
  const int64_t floor = std::min(rs.hw_floor.load(), log->log_end_offset());
  led->p = p;
  led->epoch = r.leader_epoch;
  led->record = r;
  led->replicas = t.replicas[static_cast<size_t>(p->index())];
  for (int32_t id : led->replicas) {
    if (id == opt_.broker_id) continue;
    FollowerProgress f;
    // Unknown until it fetches: an ISR member is assumed to have what was
    // committed (so the high watermark does not move back), and is given a
    // full lag period to show up.
    f.leo = r.InIsr(id) ? floor : 0;
    f.caught_up_ms = now;
    led->followers[id] = f;
  }
  spdlog::info("cluster: leading {}-{} in epoch {} from offset {} (high watermark {}), isr [{}]",
               p->topic(), p->index(), r.leader_epoch, led->epoch_start, floor,
               fmt::join(r.isr, ","));
  {
    MutexLock l(&mu_);
    rs.hw_floor.store(floor);
    rs.isr_size.store(static_cast<int32_t>(r.isr.size()));
    rs.gate.store(this);
    rs.role.store(ReplicaRoleState::kLeader);
    Led& ref = *led;
    led_[p.get()] = std::move(led);
    AdvanceLocked(ref, &done, &moved);
  }
  Deliver(&done);
  wake_(p);
}

void ReplicaManager::BecomeFollower(const std::shared_ptr<Partition>& p,
                                    const cluster::PartitionRecord& r,
                                    const cluster::ClusterSnapshot& s) {
  ReplicaRoleState& rs = p->replica();
  const bool same = rs.role.load() == ReplicaRoleState::kFollower &&
                    rs.leader_id.load() == r.leader && rs.leader_epoch.load() == r.leader_epoch;
  rs.isr_size.store(static_cast<int32_t>(r.isr.size()));
  if (same) return;
  std::vector<WriteRequestPtr> done;
  {
    MutexLock l(&mu_);
    rs.role.store(ReplicaRoleState::kFollower);
    DropLed(p.get(), &done);
  }
  Deliver(&done);
  rs.leader_epoch.store(r.leader_epoch);
  rs.leader_id.store(r.leader);
  rs.gate.store(this);
  for (auto& [id, f] : fetchers_) {
    if (id != r.leader) f->Unfollow(p.get());
  }
  const cluster::BrokerInfo& leader = s.brokers.at(r.leader);
  ReplicaFetcher* f = FetcherFor(r.leader);
  f->SetLeaderAddress(leader.host, leader.kafka_port);
  f->Follow(p, r.leader_epoch);
  spdlog::info("cluster: following {}-{} from broker {} in epoch {} (log end {})", p->topic(),
               p->index(), r.leader, r.leader_epoch, p->log()->log_end_offset());
  wake_(p);  // parked reads of a former leader answer NOT_LEADER now
}

void ReplicaManager::BecomeNothing(const std::shared_ptr<Partition>& p, int32_t leader_id) {
  ReplicaRoleState& rs = p->replica();
  rs.leader_id.store(leader_id);
  if (rs.role.load() == ReplicaRoleState::kNone) return;
  std::vector<WriteRequestPtr> done;
  {
    MutexLock l(&mu_);
    rs.role.store(ReplicaRoleState::kNone);
    DropLed(p.get(), &done);
  }
  Deliver(&done);
  UnfollowEverywhere(p.get());
  rs.gate.store(this);
  wake_(p);
}

void ReplicaManager::OnFenced() {
  std::vector<WriteRequestPtr> done;
  std::vector<std::shared_ptr<Partition>> woken;
  {
    MutexLock l(&mu_);
    std::vector<const Partition*> all;
    for (auto& [p, led] : led_) {
      led->p->replica().role.store(ReplicaRoleState::kNone);
      led->p->replica().leader_id.store(-1);
      woken.push_back(led->p);
      all.push_back(p);
    }
    for (const Partition* p : all) DropLed(p, &done);
  }
  Deliver(&done);
  for (auto& p : woken) wake_(p);
  if (!woken.empty()) {
    spdlog::warn("cluster: fenced: stopped leading {} partition(s) until the cluster says again",
                 woken.size());
  }
  if (!offsets_.empty()) NoteOffsetsRoles();
}

void ReplicaManager::DropLed(const Partition* p, std::vector<WriteRequestPtr>* done) {
  auto it = led_.find(p);
  if (it == led_.end()) return;
  for (auto& w : it->second->waiters) {
    w->status = Status::NotLeader("leadership moved before the in-sync replicas had the write");
    done->push_back(std::move(w));
  }
  it->second->p->replica().isr_follower_min.store(std::numeric_limits<int64_t>::max());
  led_.erase(it);
}

ReplicaFetcher* ReplicaManager::FetcherFor(int32_t leader_id) {
  auto& f = fetchers_[leader_id];
  if (!f) f = std::make_unique<ReplicaFetcher>(opt_.fetcher, leader_id);
  return f.get();
}

void ReplicaManager::UnfollowEverywhere(const Partition* p) {
  for (auto& [id, f] : fetchers_) f->Unfollow(p);
}

// --- the leader's duties ---

void ReplicaManager::AdvanceLocked(Led& led, std::vector<WriteRequestPtr>* done, bool* moved) {
  Partition& p = *led.p;
  // A follower about to join counts already (Kafka's "maximal ISR"): the
  // high watermark never runs ahead of a member of the ISR being written.
  p.replica().isr_follower_min.store(
      IsrFollowerMin(opt_.broker_id, led.record.isr, led.wanted_isr, led.followers));
  const int64_t hw = p.visible_end();
  if (hw > p.replica().hw_floor.load()) {
    p.replica().hw_floor.store(hw);
    *moved = true;
  }
  auto& w = led.waiters;
  size_t n = 0;
  while (n < w.size() && w[n]->info.last_offset < hw) n++;
  for (size_t i = 0; i < n; i++) done->push_back(std::move(w[i]));
  w.erase(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(n));
}

void ReplicaManager::Deliver(std::vector<WriteRequestPtr>* done) {
  for (auto& w : *done) {
    const uint32_t t = w->route.net_thread;
    if (t < sinks_.size()) sinks_[t]->Complete(std::move(w));
  }
  done->clear();
}

WriteRequestPtr ReplicaManager::Hold(WriteRequestPtr req) {
  Partition* p = req->partition.get();
  MutexLock l(&mu_);
  auto it = led_.find(p);
  if (it == led_.end() || p->replica().role.load() != ReplicaRoleState::kLeader) {
    req->status = Status::NotLeader("not the leader of this partition any more");
    return req;
  }
  if (req->info.last_offset < p->visible_end()) return req;
  it->second->waiters.push_back(std::move(req));
  return nullptr;
}

broker::Errc ReplicaManager::OnReplicaFetch(Partition& p, int32_t replica_id,
                                            int32_t leader_epoch, int64_t offset) {
  std::vector<WriteRequestPtr> done;
  bool moved = false;
  bool isr_change = false;
  std::shared_ptr<Partition> shared;
  {
    MutexLock l(&mu_);
    auto it = led_.find(&p);
    if (it == led_.end() || p.replica().role.load() != ReplicaRoleState::kLeader) {
      return broker::Errc::kNotLeader;
    }
    Led& led = *it->second;
    shared = led.p;
    if (leader_epoch >= 0 && leader_epoch < led.epoch) return broker::Errc::kFencedLeaderEpoch;
    if (leader_epoch > led.epoch) return broker::Errc::kUnknownLeaderEpoch;
    auto f = led.followers.find(replica_id);
    if (f == led.followers.end()) return broker::Errc::kNotLeader;
    const int64_t leo = p.log()->log_end_offset();
    if (offset > leo || offset < p.log()->log_start_offset()) {
      return broker::Errc::kOffsetOutOfRange;
    }
    RecordFetch(&f->second, offset, leo, SteadyMillis());
    if (!led.record.InIsr(replica_id) && !Contains(led.wanted_isr, replica_id) &&
        MayJoinIsr(offset, p.visible_end(), led.epoch_start)) {
      if (led.wanted_isr.empty()) led.wanted_isr = led.record.isr;
      led.wanted_isr.push_back(replica_id);
      isr_change = true;
    }
    AdvanceLocked(led, &done, &moved);
  }
  Deliver(&done);
  if (moved) wake_(shared);
  if (isr_change) tick_cv_.notify_all();
  return broker::Errc::kNone;
}

void ReplicaManager::Tick() {
  struct Write {
    std::string topic;
    int32_t partition;
    cluster::PartitionRecord next;
    int64_t expected;
    std::vector<int32_t> before;
  };
  std::vector<Write> writes;
  std::vector<WriteRequestPtr> done;
  const int64_t now = SteadyMillis();
  {
    MutexLock l(&mu_);
    for (auto& [raw, ledp] : led_) {
      Led& led = *ledp;
      // Deadlines of waiting writes.
      for (auto& w : led.waiters) {
        if (w && w->deadline_ms < now) {
          w->status = Status::TimedOut("the in-sync replicas did not all have it in time");
          done.push_back(std::move(w));
        }
      }
      std::erase_if(led.waiters, [](const WriteRequestPtr& w) { return !w; });
      if (led.change_in_flight) continue;
      const std::vector<int32_t> isr =
          WantedIsr(opt_.broker_id, led.wanted_isr.empty() ? led.record.isr : led.wanted_isr,
                    led.followers, now, opt_.replica_lag_time_max_ms);
      if (isr == led.record.isr) {
        led.wanted_isr.clear();
        continue;
      }
      led.change_in_flight = true;
      writes.push_back({led.p->topic(), led.p->index(), cluster::WithIsr(led.record, isr),
                        led.record.mod_revision, led.record.isr});
    }
  }
  Deliver(&done);
  for (const Write& w : writes) {
    auto r = cluster_->UpdatePartition(w.topic, w.partition, w.next, w.expected);
    if (r.ok() && *r) {
      spdlog::info("cluster: {}-{} isr [{}] -> [{}]", w.topic, w.partition,
                   fmt::join(w.before, ","), fmt::join(w.next.isr, ","));
    }
    // Either way the next snapshot brings the record as it now is.
  }
}

}  // namespace sentry::replication
