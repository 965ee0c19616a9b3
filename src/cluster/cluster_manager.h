// ClusterManager: this broker's membership in a Sentry cluster, on a
// metadata store (etcd; docs/cluster.md).
//
//  - Registers <root>/brokers/<id> under a lease of broker.session.timeout.ms
//    and keeps it alive; a broker whose lease expires is dead to the others.
//    If its own lease expired (paused, cut off from the store), it tells the
//    replica manager to give up leadership at once (fencing), then registers
//    again.
//  - Every cluster.poll.ms it reads the whole cluster state in one range
//    read (one consistent revision) and hands the snapshot to `on_snapshot`.
//  - Campaigns for <root>/controller (put-if-absent under its lease): the
//    controller carries out PlanPartitionChanges as compare-and-set writes.
//  - Topic create/delete and a leader's ISR changes go to the store from
//    here, each a compare-and-set, so racing writers never both win.
//  While the store does not answer, the last snapshot stays in force (no
//  leadership changes), and admin calls fail with Unavailable.
//
// Threads: its own thread runs the loop; the public calls are safe from any
// thread (the store client serialises its calls).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cluster/cluster_state.h"
#include "cluster/kv_store.h"
#include "common/log_limiter.h"
#include "common/status.h"

namespace sentry::cluster {

struct ClusterOptions {
  std::string name = "sentry";  // cluster.name: the key prefix
  BrokerInfo self;
  int64_t session_timeout_ms = 9000;  // broker.session.timeout.ms
  int64_t poll_ms = 200;              // cluster.poll.ms
  bool unclean_leader_election = false;
  int16_t offsets_replication_factor = 3;  // offsets.topic.replication.factor
  int32_t offsets_partitions = 50;         // offsets.topic.num.partitions
};

class ClusterManager {
 public:
  using SnapshotFn = std::function<void(const std::shared_ptr<const ClusterSnapshot>&)>;
  using FencedFn = std::function<void()>;

  ClusterManager(std::unique_ptr<KvStore> store, ClusterOptions opt);
  ~ClusterManager();

  // Registers this broker (failing when the store cannot be reached or the
  // broker id is taken by a live broker) and starts the loop. `on_snapshot`
  // and `on_fenced` run on the manager's thread.
  Status Start(SnapshotFn on_snapshot, FencedFn on_fenced);
  // Deregisters (the lease is revoked: others see this broker gone at once).
  void Stop();

  int32_t id() const { return opt_.self.id; }
  const ClusterKeys& keys() const { return keys_; }
  // The latest snapshot (never null after Start).
  std::shared_ptr<const ClusterSnapshot> snapshot() const;
  bool is_controller() const { return controller_.load(); }
  // Asks the loop to read the store now (e.g. after a topic was created).
  void Poke();
  // Waits until a snapshot newer than the call satisfies `pred` or
  // `timeout_ms` passes. True when it did.
  bool WaitFor(const std::function<bool(const ClusterSnapshot&)>& pred, int64_t timeout_ms);

  // --- writes to the store (blocking; not on a network thread) ---
  // AlreadyExists, InvalidArgument (replication factor), Unavailable.
  Status CreateTopic(const std::string& name, int32_t partitions, int16_t replication_factor,
                     const std::vector<std::pair<std::string, std::string>>& configs);
  // NotFound, Unavailable.
  Status DeleteTopic(const std::string& name);
  // Sets (value) or removes (nullopt: back to the broker default) settings
  // in the topic's record, by compare-and-set (retried on a race).
  Status AlterTopicConfigs(
      const std::string& name,
      const std::vector<std::pair<std::string, std::optional<std::string>>>& changes);
  // Whether the store holds a record of the topic (read now, not from the
  // last snapshot). Blocking.
  Result<bool> TopicExists(const std::string& name);
  // Reserves `size` idempotent-producer ids for this broker, cluster-wide
  // (a compare-and-set on <root>/producer_ids); returns the first.
  Result<int64_t> AllocateProducerIds(int64_t size);
  // A leader's ISR change: true when written (the record was still at
  // `expected`), false when someone changed it first.
  Result<bool> UpdatePartition(const std::string& topic, int32_t partition,
                               const PartitionRecord& next, int64_t expected);

 private:
  Status Register();
  void Run();
  // Its own thread, so a slow step (creating a topic's files, a deletion)
  // never lets the session lapse.
  void KeepAliveLoop();
  void Step();
  void RunController(const ClusterSnapshot& s);

  std::unique_ptr<KvStore> store_;
  const ClusterOptions opt_;
  const ClusterKeys keys_;
  SnapshotFn on_snapshot_;
  FencedFn on_fenced_;
  std::atomic<int64_t> lease_{0};
  // A lease the keep-alive thread found expired (the loop then fences and
  // registers again); 0: none.
  std::atomic<int64_t> expired_lease_{0};
  std::atomic<bool> controller_{false};
  LogLimiter warn_;  // the manager's thread
  LogLimiter offsets_wait_log_{60000};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const ClusterSnapshot> snapshot_;
  uint64_t generation_ = 0;  // snapshots taken
  bool poke_ = false;
  bool stop_ = false;
  std::thread thread_;
  std::thread keepalive_;
};

}  // namespace sentry::cluster
