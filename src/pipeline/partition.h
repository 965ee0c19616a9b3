// Partition: one topic partition as the pipeline sees it: its log, its flush
// policy, the writer that owns it, and the hooks that wake parked fetches.
//
// Threads: created by the broker's registry; `log` is appended to by the
// holder of append_mu(): the writer thread `writer_index`, or a network thread
// appending inline (Pipeline::TryAppendInline); flushed by the flusher thread
// and read by any network thread. The appender's fields are marked. Held by shared_ptr from the
// registry, queued requests and parked fetches, so a deleted partition stays
// valid until the last of them lets go.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "storage/partition_log.h"

namespace sentry::pipeline {

struct WriteRequest;
using WriteRequestPtr = std::unique_ptr<WriteRequest>;

// Where a replicated partition's acks=-1 writes wait for the in-sync
// replicas once the leader's copy is durable (src/replication). Takes the
// request and answers it later, or gives it back when it may be answered now.
class ReplicationGate {
 public:
  virtual ~ReplicationGate() = default;
  virtual WriteRequestPtr Hold(WriteRequestPtr req) = 0;
};

// A partition's place in a cluster (docs/cluster.md). Single-node brokers
// leave it as constructed: not replicated, and every check below passes.
// Written by the replica manager (cluster thread, fetchers), read by any
// thread with acquire loads on the hot path.
struct ReplicaRoleState {
  enum Role : int8_t { kStandalone = 0, kLeader = 1, kFollower = 2, kNone = 3 };
  std::atomic<int8_t> role{kStandalone};
  std::atomic<int32_t> leader_epoch{-1};  // the epoch this broker leads or follows in
  std::atomic<int32_t> leader_id{-1};
  // Leader: the smallest log end offset among the followers in the ISR
  // (INT64_MAX when the ISR is the leader alone): the high watermark is
  // min(log end, this), never lowered while this broker leads.
  std::atomic<int64_t> isr_follower_min{std::numeric_limits<int64_t>::max()};
  // The high watermark this broker last knew (a follower: from its leader's
  // answers; a leader: the floor it started leading with).
  std::atomic<int64_t> hw_floor{0};
  std::atomic<int32_t> isr_size{1};
  std::atomic<int32_t> min_insync{1};  // min.insync.replicas
  std::atomic<ReplicationGate*> gate{nullptr};

  bool replicated() const { return role.load(std::memory_order_acquire) != kStandalone; }
};

struct FlushPolicy {
  int64_t flush_messages = std::numeric_limits<int64_t>::max();  // flush.messages
  int64_t flush_ms = std::numeric_limits<int64_t>::max();        // flush.ms
};

class Partition {
 public:
  Partition(std::string topic, int32_t index, std::unique_ptr<PartitionLog> log,
            FlushPolicy policy, uint32_t writer_index)
      : topic_(std::move(topic)), index_(index), log_(std::move(log)),
        flush_messages_(policy.flush_messages), flush_ms_(policy.flush_ms),
        writer_index_(writer_index) {}

  const std::string& topic() const { return topic_; }
  int32_t index() const { return index_; }
  PartitionLog* log() const { return log_.get(); }
  // flush.messages / flush.ms now (a topic alter may change them: any
  // thread reads, the admin thread sets).
  FlushPolicy policy() const {
    return {flush_messages_.load(std::memory_order_relaxed),
            flush_ms_.load(std::memory_order_relaxed)};
  }
  void set_policy(const FlushPolicy& p) {
    flush_messages_.store(p.flush_messages, std::memory_order_relaxed);
    flush_ms_.store(p.flush_ms, std::memory_order_relaxed);
  }
  uint32_t writer_index() const { return writer_index_; }
  // Cluster role and high watermark (standalone on a single-node broker).
  ReplicaRoleState& replica() { return replica_; }
  const ReplicaRoleState& replica() const { return replica_; }
  // What readers other than replica fetchers may see: below the high
  // watermark (the log end on a single-node broker).
  int64_t visible_end() const {
    const int64_t end = log_->log_end_offset();
    if (!replica_.replicated()) return end;
    const int64_t floor = std::min(end, replica_.hw_floor.load(std::memory_order_acquire));
    if (replica_.role.load(std::memory_order_acquire) != ReplicaRoleState::kLeader) return floor;
    return std::max(floor, std::min(end, replica_.isr_follower_min.load(std::memory_order_acquire)));
  }

  bool deleted() const { return deleted_.load(std::memory_order_acquire); }
  void MarkDeleted() { deleted_.store(true, std::memory_order_release); }

  // Long-poll registrations: network thread ids with fetches parked here.
  void AddWatcher(uint32_t net_thread);
  void RemoveWatcher(uint32_t net_thread);
  // Snapshot of the watchers, empty fast (one atomic load) when none.
  bool HasWatchers() const { return watcher_count_.load(std::memory_order_acquire) > 0; }
  std::vector<uint32_t> Watchers() const;

  // Held by whoever appends: one appender at a time, in any thread.
  Mutex& append_mu() RETURN_CAPABILITY(append_mu_) { return append_mu_; }
  // Held by the retention thread while it moves this log's start (file
  // writes and unlinks in the partition's directory). A topic delete takes it
  // once after MarkDeleted, so no such step is in progress or starts after
  // (a new topic of the same name may reuse the directory's name).
  Mutex& retention_mu() RETURN_CAPABILITY(retention_mu_) { return retention_mu_; }

  // --- the appender (holder of append_mu) only ---
  // On a cache line of their own: the appender writes them on every request
  // while network threads copy the shared_ptr on every request, and the
  // shared_ptr's count sits just before the object (sharing that line cost
  // ~7% of sentryd's CPU in scenario (b), perf).
  // Records appended since the appender last asked for a flush.
  alignas(64) int64_t unflushed_messages GUARDED_BY(append_mu_) = 0;
  // Records and batch bytes appended since the broker started (metrics): one
  // appender at a time writes them (plain load + store), a scrape reads.
  std::atomic<uint64_t> records_in{0};
  std::atomic<uint64_t> bytes_in{0};
  // Completions routed through the flusher and not yet done (the appender
  // adds, the flusher subtracts). While > 0, every completion of this partition goes
  // through the flusher too, so responses keep the order of the requests.
  std::atomic<int64_t> pending_via_flusher{0};
  // Set by the appender when it told the flusher about unflushed data (flush.ms),
  // cleared by the flusher before it flushes.
  std::atomic<bool> dirty_notified{false};
  // --- flusher thread only ---
  int64_t last_flush_ms = 0;

 private:
  const std::string topic_;
  const int32_t index_;
  const std::unique_ptr<PartitionLog> log_;
  std::atomic<int64_t> flush_messages_;
  std::atomic<int64_t> flush_ms_;
  const uint32_t writer_index_;
  std::atomic<bool> deleted_{false};
  ReplicaRoleState replica_;
  Mutex append_mu_;
  Mutex retention_mu_;
  mutable Mutex watch_mu_;
  std::vector<std::pair<uint32_t, int>> watchers_ GUARDED_BY(watch_mu_);  // (net thread, parked count)
  std::atomic<int> watcher_count_{0};
};

}  // namespace sentry::pipeline
