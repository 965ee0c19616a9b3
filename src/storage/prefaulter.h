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
// Threads: Register/Unregister/Kick from any thread. Unregister blocks until
// the thread is no longer touching that file, so a MappedFile can be unmapped
// right after it returns. Must outlive every registered file.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "common/mutex.h"

namespace sentry {

class MappedFile;

class Prefaulter {
 public:
  Prefaulter();
  ~Prefaulter();
  Prefaulter(const Prefaulter&) = delete;
  Prefaulter& operator=(const Prefaulter&) = delete;

  void Register(MappedFile* f);
  void Unregister(MappedFile* f);
  // Wakes the thread: a registered file's writer moved ahead. Lock-free, so a
  // writer never waits behind a populate in progress.
  void Kick() {
    seq_.fetch_add(1, std::memory_order_release);
    seq_.notify_one();
  }

 private:
  void Run();
  Mutex mu_;  // held while a file is being touched
  std::vector<MappedFile*> files_ GUARDED_BY(mu_);
  std::atomic<uint32_t> seq_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace sentry
