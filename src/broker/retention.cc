#include "broker/retention.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace sentry::broker {

Retention::Retention(TopicRegistry* registry, int64_t check_interval_ms,
                     std::function<int64_t()> now_ms)
    : registry_(registry), check_interval_ms_(check_interval_ms), now_ms_(std::move(now_ms)) {}

Retention::~Retention() { Stop(); }

void Retention::Start() { thread_ = std::thread([this] { Run(); }); }

void Retention::Stop() {
  {
    MutexLock l(&mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

RetentionStats Retention::RunOnce() {
  RetentionStats stats;
  const int64_t now = now_ms_();
  for (const auto& topic : registry_->List()) {
    const TopicConfig& cfg = topic->config;
    if (!cfg.cleanup_delete || (cfg.retention_ms < 0 && cfg.retention_bytes < 0)) continue;
    for (const auto& p : topic->partitions) {
      // Under it, a deleted partition is seen as deleted and its directory
      // (whose name a new topic may take) is left alone.
      MutexLock l(&p->retention_mu());
      if (p->deleted() || p->log()->offline()) continue;
      PartitionLog* log = p->log();
      const int64_t target = log->RetentionTarget(now, cfg.retention_ms, cfg.retention_bytes);
      if (target <= log->log_start_offset()) continue;
      const int64_t before = log->log_start_offset();
      Result<int> gone = log->AdvanceLogStart(target);
      if (!gone.ok()) {
        // The log start stays (or moved and some files stay: the next pass
        // or the next start removes them); everything else goes on.
        spdlog::error("retention of {}-{}: {}", topic->name, p->index(),
                      gone.status().ToString());
        continue;
      }
      stats.partitions_trimmed++;
      stats.segments_deleted += *gone;
      spdlog::info("retention: {}-{} starts at offset {} (was {}), {} segment(s) deleted",
                   topic->name, p->index(), target, before, *gone);
    }
  }
  return stats;
}

void Retention::Run() {
  while (true) {
    {
      const auto due =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(check_interval_ms_);
      MutexLock l(&mu_);
      while (!stop_ && std::chrono::steady_clock::now() < due) cv_.wait_until(mu_, due);
      if (stop_) return;
    }
    RunOnce();
  }
}

}  // namespace sentry::broker
