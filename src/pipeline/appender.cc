#include "pipeline/appender.h"

#include <spdlog/spdlog.h>

#include "metrics/histogram.h"

namespace sentry::pipeline {

Result<AppendInfo> Appender::AppendChecked(Partition* p, WriteRequest* req) {
  // A cluster leader stamps its leader epoch into every batch (KIP-101);
  // -1 (nothing stamped) on a single-node broker.
  const int32_t epoch = p->replica().role.load(std::memory_order_acquire) ==
                                ReplicaRoleState::kLeader
                            ? p->replica().leader_epoch.load(std::memory_order_acquire)
                            : -1;
  if (p->replica().replicated() && epoch < 0) {
    // A replicated partition this broker does not lead (leadership moved
    // while the write was queued): nothing is appended.
    return Status::NotLeader("not the leader of this partition");
  }
  if (!req->summary.has_producer_ids) return p->log()->Append(req->records, req->summary, epoch);
  // Idempotent producers: check, append and record under the state's lock,
  // so a snapshot never sees a batch in the log that the state misses.
  ProducerState& ps = p->log()->producers();
  MutexLock l(&ps.mu());
  ProducerState::Verdict v = ps.Check(req->records);
  if (!v.status.ok()) return v.status;
  if (v.duplicate) {
    req->info.base_offset = v.first_offset;
    req->info.last_offset = v.last_offset;
    return AppendInfo{};  // base_offset -1: nothing appended
  }
  auto r = p->log()->Append(req->records, req->summary, epoch);
  if (r.ok()) ps.Record(req->records, r->base_offset);
  return r;
}

WriteRequestPtr Appender::Route(WriteRequestPtr req) {
  Partition* p = req->partition.get();
  if (p->pending_via_flusher.load(std::memory_order_acquire) > 0) {
    // An earlier answer of this partition waits in the flusher: go behind it.
    p->pending_via_flusher.fetch_add(1, std::memory_order_acq_rel);
    std::shared_ptr<Partition> partition = req->partition;
    flusher_->Submit(FlushItem{std::move(partition), std::move(req), false});
    return nullptr;
  }
  return req;
}

WriteRequestPtr Appender::Append(Partition* p, WriteRequestPtr req, WriterStats* stats,
                                 const std::function<void()>& post_earlier, bool* appended) {
  if (appended) *appended = false;
  if (p->deleted()) {
    req->status = Status::NotFound("partition was deleted");
    return Route(std::move(req));
  }
  Result<AppendInfo> r = AppendChecked(p, req.get());
  if (!r.ok()) {
    req->status = r.status();
    stats->errors.fetch_add(1, std::memory_order_relaxed);
    const Status::Code c = r.status().code();
    if (c == Status::Code::kIoError || c == Status::Code::kNoSpace || c == Status::Code::kFull) {
      spdlog::error("append to {}-{} at offset {} failed: {}", p->topic(), p->index(),
                    p->log()->log_end_offset(), r.status().ToString());
    }
    return Route(std::move(req));
  }
  // base_offset < 0: a retried idempotent batch already stored; req->info
  // holds the stored copy's offsets and nothing was appended (an acks=-1
  // retry still waits below for durability, which its copy may lack yet).
  if (r->base_offset >= 0) {
    req->info = r.value();
    stats->records_in.fetch_add(static_cast<uint64_t>(req->summary.record_count),
                                std::memory_order_relaxed);
    stats->bytes_in.fetch_add(req->records.size(), std::memory_order_relaxed);
    p->unflushed_messages += req->summary.record_count;
    metrics::Bump(p->records_in, static_cast<uint64_t>(req->summary.record_count));
    metrics::Bump(p->bytes_in, req->records.size());
    if (appended) *appended = true;
  }
  const bool sync = req->acks == -1 || p->unflushed_messages >= p->policy().flush_messages;
  if (sync) {
    post_earlier();
    p->unflushed_messages = 0;
    p->pending_via_flusher.fetch_add(1, std::memory_order_acq_rel);
    std::shared_ptr<Partition> partition = req->partition;
    flusher_->Submit(FlushItem{std::move(partition), std::move(req), true});
    return nullptr;
  }
  if (p->policy().flush_ms != FlushPolicy{}.flush_ms &&
      !p->dirty_notified.exchange(true, std::memory_order_acq_rel)) {
    flusher_->Submit(FlushItem{req->partition, nullptr, false});
  }
  return Route(std::move(req));
}

}  // namespace sentry::pipeline
