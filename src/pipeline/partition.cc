#include "pipeline/partition.h"

namespace sentry::pipeline {

void Partition::AddWatcher(uint32_t net_thread) {
  MutexLock l(&watch_mu_);
  for (auto& [t, n] : watchers_) {
    if (t == net_thread) {
      n++;
      watcher_count_.fetch_add(1, std::memory_order_release);
      return;
    }
  }
  watchers_.emplace_back(net_thread, 1);
  watcher_count_.fetch_add(1, std::memory_order_release);
}

void Partition::RemoveWatcher(uint32_t net_thread) {
  MutexLock l(&watch_mu_);
  for (size_t i = 0; i < watchers_.size(); i++) {
    if (watchers_[i].first == net_thread) {
      watcher_count_.fetch_sub(1, std::memory_order_release);
      if (--watchers_[i].second == 0) watchers_.erase(watchers_.begin() + i);
      return;
    }
  }
}

std::vector<uint32_t> Partition::Watchers() const {
  MutexLock l(&watch_mu_);
  std::vector<uint32_t> out;
  for (auto& [t, n] : watchers_) out.push_back(t);
  return out;
}

}  // namespace sentry::pipeline
