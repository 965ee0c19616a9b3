#include "recovery/maintenance.h"

#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "recovery/recovery_checkpoint.h"

namespace sentry::recovery {

Maintenance::Maintenance(MaintenanceOptions opt, ListFn list)
    : opt_(std::move(opt)), list_(std::move(list)) {}

Maintenance::~Maintenance() { Stop(); }

void Maintenance::Start() { thread_ = std::thread([this] { Run(); }); }

void Maintenance::Stop() {
  {
    MutexLock l(&mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Status Maintenance::CheckpointNow() {
  // The maintenance thread and a replica fetcher (after a truncation) may
  // both ask: one checkpoint file write at a time.
  MutexLock l(&checkpoint_mu_);
  std::vector<std::shared_ptr<const void>> keep;
  RecoveryPoints points;
  Status first;
  for (auto& [key, log] : list_(&keep)) {
    if (log->offline()) continue;  // keep no point for it: the next start re-walks
    auto d = log->FlushSealed();
    if (!d.ok()) {
      spdlog::error("flush of rolled segments of {} failed: {}", key, d.status().ToString());
      if (first.ok()) first = d.status();
      continue;
    }
    points[key] = d.value();
    if (Status ps = log->SnapshotProducers(); !ps.ok()) {
      spdlog::warn("producer snapshot of {}: {}", key, ps.ToString());
    }
  }
  Status s = WriteRecoveryCheckpoint(opt_.data_dir, points);
  return first.ok() ? s : first;
}

void Maintenance::Run() {
  int64_t next_checkpoint = SteadyMillis() + opt_.checkpoint_interval_ms;
  while (true) {
    {
      MutexLock l(&mu_);
      // Pacing, not waiting for a condition: one scrub step per tick.
      if (!stop_) cv_.wait_for(mu_, std::chrono::milliseconds(100));
      if (stop_) break;
    }
    if (SteadyMillis() >= next_checkpoint) {
      Status s = CheckpointNow();
      if (!s.ok()) spdlog::warn("recovery checkpoint: {}", s.ToString());
      next_checkpoint = SteadyMillis() + opt_.checkpoint_interval_ms;
    }
    std::vector<std::shared_ptr<const void>> keep;
    size_t budget = opt_.scrub_bytes_per_tick;
    for (auto& [key, log] : list_(&keep)) {
      while (budget > 0 && log->ScrubStep(1u << 20)) budget -= std::min<size_t>(budget, 1u << 20);
      if (budget == 0) break;
    }
  }
}

}  // namespace sentry::recovery
