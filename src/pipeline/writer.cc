#include "pipeline/writer.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/thread_priority.h"

namespace sentry::pipeline {

namespace {
// Requests taken from the queue at once: one wake-up, one completion post
// per network thread for all of them.
constexpr size_t kWriteBulk = 64;
// The longest the writer sleeps on an empty queue before re-checking stop_.
constexpr int64_t kIdleWaitUs = 100000;
}  // namespace

Writer::Writer(uint32_t index, size_t capacity, size_t producers, Flusher* flusher,
               std::vector<CompletionSink*> sinks)
    : index_(index), appender_(flusher), sinks_(std::move(sinks)), done_(sinks_.size()),
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
  std::vector<WriteRequest*> items(kWriteBulk);
  std::vector<std::shared_ptr<Partition>> touched;
  metrics::ThreadMetrics::SetCurrent(&metrics_);
  while (true) {
    const int64_t wait_start = metrics::SteadyNanos();
    size_t n = queue_.wait_dequeue_bulk_timed(items.begin(), items.size(), kIdleWaitUs);
    const int64_t now = metrics::SteadyNanos();
    metrics_.AddIdle(now - wait_start);
    for (size_t i = 0; i < n; i++) {
      if (items[i] && items[i]->enqueued_nanos > 0) {
        metrics_.histogram().Observe(now - items[i]->enqueued_nanos);
      }
    }
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

void Writer::Process(WriteRequestPtr req, std::vector<std::shared_ptr<Partition>>* touched) {
  if (req->barrier) {
    PostCompletions();  // everything before the barrier is answered first
    req->barrier->set_value();
    return;
  }
  Partition* p = req->partition.get();
  SENTRY_CHECK(p->writer_index() == index_, "request on the wrong writer");
  // Parked fetches of p are woken once at the end of the bulk (a spurious
  // wake-up when nothing was appended only makes them look again).
  if (std::find_if(touched->begin(), touched->end(),
                   [p](const std::shared_ptr<Partition>& t) { return t.get() == p; }) ==
      touched->end()) {
    touched->push_back(req->partition);
  }
  {
    // Uncontended unless a network thread appends to p inline right now.
    MutexLock l(&p->append_mu());
    req = appender_.Append(p, std::move(req), &stats_, [this] { PostCompletions(); }, nullptr);
  }
  if (req) Complete(std::move(req));
}

}  // namespace sentry::pipeline
