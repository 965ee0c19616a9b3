#include "pipeline/flusher.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "common/clock.h"

namespace sentry::pipeline {

namespace {
// Items drained per group commit at most (more wait for the next round).
constexpr size_t kFlushBulk = 512;
// The flusher wakes at least this often to run the flush.ms cadence.
constexpr int64_t kCadenceUs = 10000;
}  // namespace

Flusher::Flusher(std::vector<CompletionSink*> sinks) : sinks_(std::move(sinks)) {}

Flusher::~Flusher() { Stop(); }

void Flusher::Start() { thread_ = std::thread([this] { Run(); }); }

void Flusher::Stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  queue_.enqueue(FlushItem{});  // wake it
  thread_.join();
}

void Flusher::Run() {
  std::vector<FlushItem> items(kFlushBulk);
  while (true) {
    size_t n = queue_.wait_dequeue_bulk_timed(items.begin(), items.size(), kCadenceUs);
    Handle(std::span<FlushItem>(items.data(), n));
    for (size_t i = 0; i < n; i++) items[i] = FlushItem{};  // let go of the partitions
    FlushDueByTime(SteadyMillis());
    if (stop_.load() && queue_.size_approx() == 0) break;
  }
}

Status Flusher::SyncPartition(Partition* p, int64_t now_ms) {
  p->dirty_notified.store(false, std::memory_order_release);
  const int64_t t0 = metrics::SteadyNanos();
  auto r = p->log()->Flush();
  const int64_t took = metrics::SteadyNanos() - t0;
  metrics_.histogram().Observe(took);
  const uint64_t us = static_cast<uint64_t>(took / 1000);
  stats_.syncs.fetch_add(1, std::memory_order_relaxed);
  stats_.sync_micros_total.fetch_add(us, std::memory_order_relaxed);
  if (us > stats_.sync_micros_max.load(std::memory_order_relaxed)) {
    stats_.sync_micros_max.store(us, std::memory_order_relaxed);
  }
  p->last_flush_ms = now_ms;
  if (!r.ok()) {
    spdlog::error("flush of {}-{} failed at durable offset {}: {}", p->topic(), p->index(),
                  p->log()->durable_offset(), r.status().ToString());
    return r.status();
  }
  dirty_.erase(p);
  return Status::OK();
}

void Flusher::Handle(std::span<FlushItem> items) {
  if (items.empty()) return;
  const int64_t now = SteadyMillis();
  // One sync per partition for the whole batch: the group commit.
  std::unordered_map<Partition*, Status> synced;
  for (auto& it : items) {
    if (!it.partition) continue;
    if (it.needs_sync && !synced.count(it.partition.get())) {
      synced.emplace(it.partition.get(), SyncPartition(it.partition.get(), now));
    } else if (!it.waiter && !it.needs_sync && it.partition->policy().flush_ms !=
                                                  FlushPolicy{}.flush_ms) {
      dirty_.emplace(it.partition.get(), it.partition);  // flush.ms cadence
    }
  }
  const int64_t done = SteadyMillis();
  for (auto& it : items) {
    if (!it.waiter) continue;
    WriteRequest& req = *it.waiter;
    auto s = synced.find(it.partition.get());
    if (req.status.ok() && s != synced.end()) {
      if (!s->second.ok()) {
        req.status = s->second;
      } else if (req.acks == -1 && done > req.deadline_ms) {
        req.status = Status::TimedOut("durable only after the request's timeout");
      }
    }
    const uint32_t t = req.route.net_thread;
    // The count drops only once the answer is in the network thread's inbox:
    // a writer that then sees no answer pending here posts its own answers
    // behind this one, never before it.
    Partition* p = it.partition.get();
    // Cluster mode: an acks=-1 write durable here still waits for the
    // in-sync replicas (replication::ReplicaManager answers it later).
    if (req.acks == -1 && req.status.ok()) {
      if (ReplicationGate* gate = p->replica().gate.load(std::memory_order_acquire)) {
        it.waiter = gate->Hold(std::move(it.waiter));
        if (!it.waiter) {
          p->pending_via_flusher.fetch_sub(1, std::memory_order_acq_rel);
          continue;
        }
      }
    }
    sinks_[t]->Complete(std::move(it.waiter));
    p->pending_via_flusher.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void Flusher::FlushDueByTime(int64_t now_ms) {
  std::vector<std::shared_ptr<Partition>> due;
  for (auto& [raw, p] : dirty_) {
    if (now_ms - p->last_flush_ms >= p->policy().flush_ms) due.push_back(p);
  }
  for (auto& p : due) (void)SyncPartition(p.get(), now_ms);
}

}  // namespace sentry::pipeline
