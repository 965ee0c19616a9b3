// Cleaner: the log cleaner threads (log.cleaner.threads) that compact the
// partitions of topics whose cleanup.policy holds `compact` (Kafka's
// LogCleaner; the pass itself is storage/log_cleaner.h).
//
// Each thread, at the lowest CPU and I/O priority, picks the partition with
// the highest dirty ratio at or above its topic's min.cleanable.dirty.ratio
// (or past max.compaction.lag.ms) that no other cleaner thread holds, and
// runs one pass under the partition's retention lock (so retention,
// DeleteRecords and a topic delete wait for it, never the appender or
// readers). When nothing is due it sleeps log.cleaner.backoff.ms. A
// partition whose pass failed is left alone until the broker restarts
// (logged), as Kafka marks it uncleanable.
//
// Threads: its own; Start/Stop/RunOnce from the owner.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "broker/topic_registry.h"
#include "common/mutex.h"
#include "storage/log_cleaner.h"

namespace sentry::broker {

struct CleanerOptions {
  int threads = 1;                        // log.cleaner.threads (0: no cleaner)
  int64_t backoff_ms = 15000;             // log.cleaner.backoff.ms
  size_t dedupe_buffer_bytes = 128 << 20;  // log.cleaner.dedupe.buffer.size (all threads)
  std::function<int64_t()> now_ms;        // wall clock (record timestamps); tests inject
  SwapFaultHook fault;                    // crash points (SENTRY_FAULT_CLEANER_CRASH_AT)
};

struct CleanerTotals {
  int64_t passes = 0;
  int64_t bytes_in = 0;
  int64_t bytes_out = 0;
  int64_t failures = 0;
};

class Cleaner {
 public:
  Cleaner(TopicRegistry* registry, CleanerOptions opt);
  ~Cleaner();
  void Start();
  void Stop();
  // Cleans the most due partition with `map` now; false when none is due.
  bool RunOnce(OffsetMap* map);
  CleanerTotals totals() const;

 private:
  void Run(size_t thread_index);
  bool Stopping() const;

  TopicRegistry* const registry_;
  const CleanerOptions opt_;
  mutable Mutex mu_;
  std::condition_variable_any cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  std::set<const pipeline::Partition*> busy_ GUARDED_BY(mu_);     // being cleaned
  std::set<const pipeline::Partition*> failed_ GUARDED_BY(mu_);   // uncleanable until restart
  CleanerTotals totals_ GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

// The fault hook sentryd installs when SENTRY_FAULT_CLEANER_CRASH_AT=N is
// set: the process kills itself (SIGKILL) at the N-th crash point of the
// cleaner's swaps (tests of crash safety). Empty when unset.
SwapFaultHook CrashHookFromEnvironment();

}  // namespace sentry::broker
