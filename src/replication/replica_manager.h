// ReplicaManager: this broker's side of replication (docs/cluster.md). It
// turns each cluster snapshot into local roles and runs the leader's duties:
//
//  - Apply: creates the cluster's topics locally, deletes those the cluster
//    deleted, and per partition becomes leader (a new leader epoch starts at
//    the log end: LeaderEpochCache::Assign), follower (handed to the replica
//    fetcher of its leader, which truncates a divergent tail first) or
//    nothing (not a replica, or no leader).
//  - Leader: tracks each follower's log end from its fetches (OnReplicaFetch)
//    and when it was last caught up; the ISR shrinks when a follower is not
//    caught up for replica.lag.time.max.ms and grows when it reaches the high
//    watermark, each change a compare-and-set of the partition's record in
//    the store. The high watermark = min(log end of every ISR member); it
//    never moves back while this broker leads.
//  - acks=-1: the flusher hands a write here once the leader's copy is
//    durable (ReplicationGate::Hold); it is answered when the high watermark
//    passes it, with NOT_LEADER_OR_FOLLOWER when leadership is lost first, or
//    REQUEST_TIMED_OUT at its deadline.
//  - Fenced (the session expired): every led partition stops at once; the
//    next snapshot decides again.
//
// Threads: Apply/OnFenced on the cluster thread; OnReplicaFetch on network
// threads; Hold on the flusher thread; a tick thread for the ISR and
// deadlines; the admin thread for CreateTopic/DeleteTopic. One mutex guards
// the leader state (held briefly, never across a store call or I/O).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "broker/cluster_hooks.h"
#include "broker/topic_registry.h"
#include "common/log_limiter.h"
#include "cluster/cluster_manager.h"
#include "pipeline/write_request.h"
#include "replication/isr_policy.h"
#include "replication/replica_fetcher.h"

namespace sentry::replication {

struct ReplicationOptions {
  int32_t broker_id = -1;
  int64_t replica_lag_time_max_ms = 30000;  // replica.lag.time.max.ms
  int16_t default_replication_factor = 1;   // default.replication.factor
  FetcherOptions fetcher;
};

class ReplicaManager final : public broker::ClusterHooks, public pipeline::ReplicationGate {
 public:
  using WakeFn = std::function<void(const std::shared_ptr<pipeline::Partition>&)>;
  ReplicaManager(ReplicationOptions opt, cluster::ClusterManager* cluster,
                 broker::TopicRegistry* registry, std::vector<pipeline::CompletionSink*> sinks,
                 WakeFn wake);
  ~ReplicaManager() override;

  // The offsets log's partitions (`__consumer_offsets-N`, outside the
  // registry) are replicated like a topic's when the store has that topic;
  // `on_role(n, true)` runs when this broker starts leading partition n (it
  // becomes the coordinator of the groups hashing there), `on_role(n,
  // false)` when it stops. A store whose topic has another partition count
  // than `partitions` makes this broker lead none of them (a misconfigured
  // offsets.topic.num.partitions: logged). Before Start().
  using OffsetsRoleFn = std::function<void(int32_t partition, bool leading)>;
  void SetOffsetsLog(std::vector<std::shared_ptr<pipeline::Partition>> partitions,
                     OffsetsRoleFn on_role);

  void Start();
  // Stops fetchers and the tick; answers waiting writes NOT_LEADER.
  void Stop();

  // --- the cluster thread ---
  void Apply(const std::shared_ptr<const cluster::ClusterSnapshot>& s);
  void OnFenced();

  // --- broker::ClusterHooks ---
  std::vector<broker::ClusterBroker> Brokers() const override;
  int32_t ControllerId() const override;
  std::optional<broker::PartitionLeadership> Leadership(std::string_view topic,
                                                        int32_t partition) const override;
  broker::Error CreateTopic(const std::string& name, int32_t partitions,
                            int16_t replication_factor,
                            const std::vector<std::pair<std::string, std::string>>& configs) override;
  broker::Error DeleteTopic(const std::string& name) override;
  bool AwaitTopic(const std::string& name) override;
  broker::Error AlterTopicConfig(
      const std::string& name,
      const std::vector<std::pair<std::string, std::optional<std::string>>>& changes) override;
  broker::Errc OnReplicaFetch(pipeline::Partition& p, int32_t replica_id, int32_t leader_epoch,
                              int64_t offset) override;

  // --- pipeline::ReplicationGate (the flusher thread) ---
  pipeline::WriteRequestPtr Hold(pipeline::WriteRequestPtr req) override;

 private:
  struct Led {
    std::shared_ptr<pipeline::Partition> p;
    int32_t epoch = 0;
    int64_t epoch_start = 0;  // the log end when this epoch began
    cluster::PartitionRecord record;  // as last read from the store
    std::vector<int32_t> replicas;
    std::map<int32_t, FollowerProgress> followers;
    bool change_in_flight = false;  // an ISR write is out: wait for the next snapshot
    std::vector<int32_t> wanted_isr;  // what the next ISR write asks for
    std::vector<pipeline::WriteRequestPtr> waiters;  // acks=-1, oldest first
  };

  void Tick();
  void RunTick();
  // Leader state: recomputes the high watermark and answers the writes it passed.
  void AdvanceLocked(Led& led, std::vector<pipeline::WriteRequestPtr>* done,
                     bool* moved) REQUIRES(mu_);
  void Deliver(std::vector<pipeline::WriteRequestPtr>* done);
  void BecomeLeader(const std::shared_ptr<pipeline::Partition>& p, const cluster::TopicRecord& t,
                    const cluster::PartitionRecord& r);
  void BecomeFollower(const std::shared_ptr<pipeline::Partition>& p,
                      const cluster::PartitionRecord& r, const cluster::ClusterSnapshot& s);
  void BecomeNothing(const std::shared_ptr<pipeline::Partition>& p, int32_t leader_id);
  // Leadership of `p` ends here (role already changed): its waiters fail.
  void DropLed(const pipeline::Partition* p, std::vector<pipeline::WriteRequestPtr>* done)
      REQUIRES(mu_);
  // One partition's role from the snapshot.
  void ApplyPartition(const std::shared_ptr<pipeline::Partition>& part,
                      const cluster::TopicRecord& t, int32_t index,
                      const cluster::ClusterSnapshot& s);
  // Tells the offsets log's owner when leading a partition starts or stops.
  void NoteOffsetsRoles();
  // The offsets log's partitions from the snapshot.
  void ApplyOffsetsLog(const cluster::ClusterSnapshot& s);
  ReplicaFetcher* FetcherFor(int32_t leader_id);
  void UnfollowEverywhere(const pipeline::Partition* p);

  const ReplicationOptions opt_;
  cluster::ClusterManager* const cluster_;
  broker::TopicRegistry* const registry_;
  const std::vector<pipeline::CompletionSink*> sinks_;
  const WakeFn wake_;

  Mutex mu_;
  std::unordered_map<const pipeline::Partition*, std::unique_ptr<Led>> led_ GUARDED_BY(mu_);

  // The cluster thread only.
  std::map<int32_t, std::unique_ptr<ReplicaFetcher>> fetchers_;
  std::vector<std::unique_ptr<ReplicaFetcher>> retired_;  // stopping
  std::set<std::string> seen_topics_;  // topics the store had while this broker ran
  // The settings of each topic as last applied here from its record.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> applied_configs_;
  LogLimiter config_error_;  // a setting that cannot be applied is retried every poll
  struct OffsetsPartition {
    std::shared_ptr<pipeline::Partition> p;
    bool leading = false;  // as last told to on_offsets_role_
    int32_t epoch = -1;
  };
  std::vector<OffsetsPartition> offsets_;
  OffsetsRoleFn on_offsets_role_;
  LogLimiter offsets_count_error_;

  mutable std::mutex snap_mu_;
  std::shared_ptr<const cluster::ClusterSnapshot> snapshot_;

  std::mutex tick_mu_;
  std::condition_variable tick_cv_;
  bool stop_ = false;
  std::thread tick_;
};

}  // namespace sentry::replication
