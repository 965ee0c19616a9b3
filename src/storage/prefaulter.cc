#include "storage/prefaulter.h"

#include <algorithm>

#include "storage/mapped_file.h"

namespace sentry {

Prefaulter::Prefaulter(size_t max_ahead_bytes)
    : max_ahead_bytes_(max_ahead_bytes), thread_([this] { Run(); }) {}

Prefaulter::~Prefaulter() {
  stop_.store(true);
  seq_.fetch_add(1, std::memory_order_release);
  seq_.notify_one();
  thread_.join();
}

void Prefaulter::Kick(MappedFile* f) {
  // queued_ is set while the file is in kicked_ or active_: queued once.
  if (!f->queued_.exchange(true, std::memory_order_acq_rel)) {
    MutexLock l(&queue_mu_);
    kicked_.push_back(f);
  }
  seq_.fetch_add(1, std::memory_order_release);
  seq_.notify_one();
}

void Prefaulter::Unregister(MappedFile* f) {
  MutexLock l(&mu_);  // waits out an in-progress PrefaultStep on f
  ahead_total_ -= f->prefault_counted();
  active_.erase(std::remove(active_.begin(), active_.end(), f), active_.end());
  MutexLock q(&queue_mu_);
  kicked_.erase(std::remove(kicked_.begin(), kicked_.end(), f), kicked_.end());
}

void Prefaulter::Run() {
  while (!stop_.load()) {
    const uint32_t seen = seq_.load(std::memory_order_acquire);
    bool more = false;
    {
      // One bounded step per file per pass; the lock is dropped between
      // passes so Unregister never waits long.
      MutexLock l(&mu_);
      {
        MutexLock q(&queue_mu_);
        active_.insert(active_.end(), kicked_.begin(), kicked_.end());
        kicked_.clear();
      }
      size_t kept = 0;
      for (MappedFile* f : active_) {
        const size_t hint = f->write_hint_.load(std::memory_order_acquire);
        bool keep = f->PrefaultStep(&ahead_total_, max_ahead_bytes_);
        if (!keep) {
          f->queued_.store(false, std::memory_order_release);
          // A kick during the step saw queued_ set and did not queue the
          // file; keep it when its writer moved (unless a kick since queued it).
          keep = f->write_hint_.load(std::memory_order_acquire) != hint &&
                 !f->queued_.exchange(true, std::memory_order_acq_rel);
        }
        if (keep) active_[kept++] = f;
      }
      active_.resize(kept);
      more = kept > 0;
    }
    if (!more) seq_.wait(seen, std::memory_order_acquire);
  }
}

}  // namespace sentry
