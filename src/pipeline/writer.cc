#include "pipeline/writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/thread_priority.h"

namespace sentry::pipeline {

namespace {
// Requests taken from the queue at once: one wake-up, one completion post
// per network thread for all of them.
constexpr size_t kBulk = 64;
// The longest the writer sleeps on an empty queue before re-checking stop_.
constexpr int64_t kIdleWaitUs = 100000;
}  // namespace

Writer::Writer(uint32_t index, size_t capacity, size_t producers, Flusher* flusher,
               std::vector<CompletionSink*> sinks)
    : index_(index), flusher_(flusher), sinks_(std::move(sinks)), done_(sinks_.size()),
      queue_(capacity, producers + 1, 0) {}

Writer::~Writer() {
  Stop();
  // Requests enqueued after the thread ended (or when it never ran) are
  // still owned by their slots.
  WriteRequest* left = nullptr;
  while (queue_.try_dequeue(left)) delete left;
}

void Writer::Start() { thread_ = std::thread([this] { Run(); }); }

Status Writer::SetRealtimePriority(int priority) {
  return sentry::SetRealtimePriority(thread_, priority);
}

void Writer::Stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  queue_.enqueue(nullptr);  // wake (implicit producer; may allocate, fine at shutdown)
  thread_.join();
}

void Writer::Run() {
  std::vector<WriteRequest*> items(kBulk);
  std::vector<std::shared_ptr<Partition>> touched;
  while (true) {
    size_t n = queue_.wait_dequeue_bulk_timed(items.begin(), items.size(), kIdleWaitUs);
    for (size_t i = 0; i < n; i++) {
      if (items[i]) Process(WriteRequestPtr(items[i]), &touched);
    }
    PostCompletions();
    // Wake parked fetches once per partition per bulk, after the watermark moved.
    for (auto& p : touched) {
      if (!p->HasWatchers()) continue;
      for (uint32_t t : p->Watchers()) sinks_[t]->WakeFetches(p);
    }
    touched.clear();
    if (stop_.load() && queue_.size_approx() == 0) break;
  }
}

void Writer::Complete(WriteRequestPtr req) {
  Partition* p = req->partition.get();
  if (p && p->pending_via_flusher.load(std::memory_order_acquire) > 0) {
    // An earlier request of this partition waits in the flusher: go behind it.
    p->pending_via_flusher.fetch_add(1, std::memory_order_acq_rel);
    std::shared_ptr<Partition> partition = req->partition;
    flusher_->Submit(FlushItem{std::move(partition), std::move(req), false});
    return;
  }
  // Posted at the end of the bulk: one inbox hand-off and at most one wake-up
  // per network thread instead of one per request.
  const uint32_t t = req->route.net_thread;
  done_[t].push_back(std::move(req));
}

void Writer::PostCompletions() {
  for (size_t t = 0; t < done_.size(); t++) {
    if (done_[t].empty()) continue;
    sinks_[t]->CompleteBatch(&done_[t]);
  }
}

Result<AppendInfo> Writer::AppendChecked(Partition* p, WriteRequest* req) {
  if (!req->summary.has_producer_ids) return p->log()->Append(req->records, req->summary);
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
  auto r = p->log()->Append(req->records, req->summary);
  if (r.ok()) ps.Record(req->records, r->base_offset);
  return r;
}

void Writer::Process(WriteRequestPtr req, std::vector<std::shared_ptr<Partition>>* touched) {
  if (req->barrier) {
    PostCompletions();  // everything before the barrier is answered first
    req->barrier->set_value();
    return;
  }
  Partition* p = req->partition.get();
  SENTRY_CHECK(p->writer_index() == index_, "request on the wrong writer");
  if (p->deleted()) {
    req->status = Status::NotFound("partition was deleted");
    Complete(std::move(req));
    return;
  }
  Result<AppendInfo> r = AppendChecked(p, req.get());
  if (!r.ok()) {
    req->status = r.status();
    stats_.errors.fetch_add(1, std::memory_order_relaxed);
    const Status::Code c = r.status().code();
    if (c == Status::Code::kIoError || c == Status::Code::kNoSpace || c == Status::Code::kFull) {
      spdlog::error("append to {}-{} at offset {} failed: {}", p->topic(), p->index(),
                    p->log()->log_end_offset(), r.status().ToString());
    }
    Complete(std::move(req));
    return;
  }
  // base_offset < 0: a retried idempotent batch already stored; req->info
  // holds the stored copy's offsets and nothing was appended (an acks=-1
  // retry still waits below for durability, which its copy may lack yet).
  if (r->base_offset >= 0) {
    req->info = r.value();
    stats_.records_in.fetch_add(static_cast<uint64_t>(req->summary.record_count),
                                std::memory_order_relaxed);
    stats_.bytes_in.fetch_add(req->records.size(), std::memory_order_relaxed);
    if (std::find(touched->begin(), touched->end(), req->partition) == touched->end()) {
      touched->push_back(req->partition);
    }
    p->unflushed_messages += req->summary.record_count;
  }
  const bool sync = req->acks == -1 || p->unflushed_messages >= p->policy().flush_messages;
  if (sync) {
    // Earlier completions of this partition must reach the network thread
    // before the flusher can complete this one.
    PostCompletions();
    p->unflushed_messages = 0;
    p->pending_via_flusher.fetch_add(1, std::memory_order_acq_rel);
    std::shared_ptr<Partition> partition = req->partition;
    flusher_->Submit(FlushItem{std::move(partition), std::move(req), true});
    return;
  }
  if (p->policy().flush_ms != FlushPolicy{}.flush_ms &&
      !p->dirty_notified.exchange(true, std::memory_order_acq_rel)) {
    flusher_->Submit(FlushItem{req->partition, nullptr, false});
  }
  Complete(std::move(req));
}

}  // namespace sentry::pipeline
