#include "pipeline/pipeline.h"

#include <future>

namespace sentry::pipeline {

Pipeline::Pipeline(const PipelineOptions& opt, std::vector<CompletionSink*> sinks)
    : opt_(opt), sinks_(sinks), flusher_(std::make_unique<Flusher>(sinks)),
      inline_appender_(flusher_.get()) {
  const size_t nets = sinks.size();
  for (uint32_t w = 0; w < opt.writer_threads; w++) {
    writers_.push_back(
        std::make_unique<Writer>(w, opt.queue_capacity, nets, flusher_.get(), sinks));
  }
  tokens_.resize(nets);
  for (size_t n = 0; n < nets; n++) {
    for (auto& w : writers_) {
      tokens_[n].push_back(std::make_unique<moodycamel::ProducerToken>(w->queue()));
    }
  }
}

Pipeline::~Pipeline() { Stop(); }

Status Pipeline::SetRealtimePriority(int priority) {
  for (auto& w : writers_) SENTRY_RETURN_IF_ERROR(w->SetRealtimePriority(priority));
  return Status::OK();
}

void Pipeline::Start() {
  flusher_->Start();
  for (auto& w : writers_) w->Start();
}

void Pipeline::Stop() {
  for (auto& w : writers_) w->Stop();
  flusher_->Stop();
}

uint32_t Pipeline::WriterFor(std::string_view topic, int32_t partition) const {
  // FNV-1a over the topic name, mixed with the partition: spreads a topic's
  // partitions over the writers.
  constexpr uint64_t kFnvOffsetBasis = 1469598103934665603ull;
  constexpr uint64_t kFnvPrime = 1099511628211ull;
  uint64_t h = kFnvOffsetBasis;
  for (char c : topic) h = (h ^ static_cast<uint8_t>(c)) * kFnvPrime;
  h += static_cast<uint64_t>(partition);
  return static_cast<uint32_t>(h % writers_.size());
}

bool Pipeline::TryEnqueue(uint32_t net_thread, WriteRequestPtr& req) {
  uint32_t w = req->partition->writer_index();
  return writers_[w]->TryEnqueue(*tokens_[net_thread][w], req);
}

bool Pipeline::TryAppendInline(uint32_t net_thread, WriteRequestPtr& req) {
  if (req->records.size() > opt_.inline_append_max_bytes) return false;
  Partition* p = req->partition.get();
  if (!p->append_mu().try_lock()) return false;  // its writer (or another thread) appends now
  if (p->deleted() || !p->log()->CanAppendWithoutIo(req->records.size(), req->summary)) {
    p->append_mu().unlock();
    return false;
  }
  // Parked fetches to wake afterwards; p itself may go with req.
  std::shared_ptr<Partition> watched = p->HasWatchers() ? req->partition : nullptr;
  req->appended_inline = true;
  Writer& owner = *writers_[p->writer_index()];
  bool appended = false;
  WriteRequestPtr answer =
      inline_appender_.Append(p, std::move(req), owner.mutable_stats(), [] {}, &appended);
  p->append_mu().unlock();
  // Answered before any completion the writers or the flusher post later.
  if (answer) sinks_[net_thread]->CompleteLocal(std::move(answer));
  if (appended && watched) {
    for (uint32_t t : watched->Watchers()) sinks_[t]->WakeFetches(watched);
  }
  return true;
}

void Pipeline::Enqueue(WriteRequestPtr req) {
  const uint32_t w = req->partition->writer_index();
  writers_[w]->Enqueue(std::move(req));
}

void Pipeline::Barrier(uint32_t w) {
  std::promise<void> done;
  auto req = std::make_unique<WriteRequest>();
  req->barrier = &done;
  writers_[w]->Enqueue(std::move(req));
  done.get_future().wait();
}

}  // namespace sentry::pipeline
