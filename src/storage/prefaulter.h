// Prefaulter: one background thread that keeps the pages just ahead of each
// writer allocated on disk and populated in the page tables.
//
// Why: a profile of BM_Append/100/100 with inline population showed ~50% of
// the writer's time in the kernel zeroing fresh page-cache pages (memset in
// the fault / MADV_POPULATE_WRITE path). That work does not need to be on the
// writer's critical path: this thread does it on the other core while the
// writer copies into pages that are already there. When it falls behind, the
// writer simply takes the faults itself; correctness never depends on it
// (MappedFile::Reserve still allocates synchronously when needed).
//
// Its cost follows the writes, not the partition count: it visits only files
// whose writer moved (a writer queues its file with Kick), an empty partition
// costs it nothing, each file is prefaulted at most as far ahead as it
// already holds, and the populated bytes ahead of all writers together stay
// within `max_ahead_bytes` (storage.prefault.max.bytes); past it, writers
// fault their own pages.
//
// Threads: Kick/Unregister from any thread. Unregister blocks until the
// thread is no longer touching that file, so a MappedFile can be unmapped
// right after it returns. Must outlive every file that was kicked.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "common/mutex.h"

namespace sentry {

class MappedFile;

class Prefaulter {
 public:
  static constexpr size_t kDefaultMaxAheadBytes = size_t{256} << 20;
  explicit Prefaulter(size_t max_ahead_bytes = kDefaultMaxAheadBytes);
  ~Prefaulter();
  Prefaulter(const Prefaulter&) = delete;
  Prefaulter& operator=(const Prefaulter&) = delete;

  // The writer of `f` moved ahead: queue `f` for a step and wake the thread.
  // Takes only a small queue lock, never the one held during a populate, so
  // a writer never waits behind the thread's work.
  void Kick(MappedFile* f);
  void Unregister(MappedFile* f);
  // Populated bytes ahead of all writers, as of the last step (tests, stats).
  size_t ahead_bytes() const {
    MutexLock l(&mu_);
    return ahead_total_;
  }

 private:
  void Run();
  const size_t max_ahead_bytes_;
  mutable Mutex mu_;  // held while files are being touched
  std::vector<MappedFile*> active_ GUARDED_BY(mu_);  // files with work left
  size_t ahead_total_ GUARDED_BY(mu_) = 0;
  Mutex queue_mu_;
  std::vector<MappedFile*> kicked_ GUARDED_BY(queue_mu_);  // queued by writers
  std::atomic<uint32_t> seq_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace sentry
