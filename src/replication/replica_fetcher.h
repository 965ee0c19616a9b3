// ReplicaFetcher: one thread per leader broker this broker follows
// partitions of (Kafka's replica fetcher thread). For each followed
// partition it first asks the leader where the follower's last leader epoch
// ends (OffsetForLeaderEpoch, KIP-101/279) and truncates a divergent tail,
// then fetches in a loop with the Kafka Fetch API (replica_id = this broker,
// current_leader_epoch = the epoch it follows), appending what comes back
// byte for byte (PartitionLog::AppendReplica) under the partition's append
// lock. The fetch offset it sends is how the leader learns this follower's
// log end (its ISR and high watermark follow from it); the high watermark
// the leader answers with becomes this follower's.
//
// Threads: its own thread; Follow/Unfollow/Stop from the cluster thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/log_limiter.h"
#include "pipeline/partition.h"
#include "replication/leader_connection.h"

namespace sentry::replication {

struct FetcherOptions {
  int32_t broker_id = -1;          // this broker (the replica_id it fetches as)
  int32_t max_wait_ms = 500;       // replica.fetch.wait.max.ms
  int32_t partition_max_bytes = 1 << 20;  // replica.fetch.max.bytes
  int32_t response_max_bytes = 10 << 20;  // replica.fetch.response.max.bytes
  bool sync_before_ack = false;    // replica.sync.before.ack: msync before fetching on
  int32_t backoff_ms = 200;        // replica.fetch.backoff.ms
  // Runs after a round that truncated some log (the broker rewrites its
  // recovery checkpoint); may be empty.
  std::function<void()> after_truncate;
};

class ReplicaFetcher {
 public:
  ReplicaFetcher(FetcherOptions opt, int32_t leader_id);
  ~ReplicaFetcher();

  // Where the leader listens (Kafka protocol); a change reconnects.
  void SetLeaderAddress(const std::string& host, int32_t port);
  // Follows `p` in `leader_epoch` (again from the truncation step when the
  // epoch changed).
  void Follow(const std::shared_ptr<pipeline::Partition>& p, int32_t leader_epoch);
  void Unfollow(const pipeline::Partition* p);
  bool empty() const;
  // Stops without waiting (a fetch in progress is aborted); exited() says
  // when the thread is done, Stop() then joins at once.
  void RequestStop();
  bool exited() const { return exited_.load(); }
  void Stop();

 private:
  struct Followed {
    std::shared_ptr<pipeline::Partition> p;
    int32_t epoch = -1;
    bool needs_truncation = true;
    int64_t paused_until_ms = 0;  // after an error: wait for new metadata
  };
  void Run();
  // One round: truncation requests where due, then one fetch. False when
  // the connection failed.
  bool Round(std::vector<Followed>& parts);
  bool Truncate(std::vector<Followed*>& todo);
  bool Fetch(std::vector<Followed*>& todo);
  void Update(const pipeline::Partition* p, bool needs_truncation, int64_t pause_ms);
  // The leader's log start moved past this copy's: this one follows, up to
  // its own log end (flushed first, then AdvanceLogStart).
  void FollowLogStart(pipeline::Partition* p, int64_t leader_start);
  // This copy ends below the leader's log start: it is dropped and starts
  // over there; or it ends at the leader's log start and the leader's first
  // batch starts below that: it starts over at that batch
  // (PartitionLog::StartOverAt). False when nothing changed.
  bool StartOver(pipeline::Partition* p, int64_t offset, int64_t leader_start);

  const FetcherOptions opt_;
  const int32_t leader_id_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<const pipeline::Partition*, Followed> parts_;
  std::string host_;
  int32_t port_ = -1;
  bool address_changed_ = false;
  bool stop_ = false;
  // Created and reset by the fetcher thread under conn_mu_ (used by it
  // without the lock); RequestStop aborts it under conn_mu_.
  std::mutex conn_mu_;
  std::unique_ptr<LeaderConnection> conn_;
  std::atomic<bool> exited_{false};
  LogLimiter warn_;
  LogLimiter append_error_;  // also: moving the log start failed  // a full disk fails every retry: one line per 10 s
  std::thread thread_;
};

}  // namespace sentry::replication
