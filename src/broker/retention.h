// Retention: one background thread that keeps every topic's log within its
// retention.ms / retention.bytes (Kafka's names and rules, docs/retention.md).
//
// Every `check_interval_ms` (log.retention.check.interval.ms; the first pass
// one interval after start) it asks each partition's log where retention would
// start it (PartitionLog::RetentionTarget: whole sealed segments, oldest
// first, never the active one) and moves the log start there
// (PartitionLog::AdvanceLogStart: persisted, then published, then the files
// unlinked). It never blocks the appender or readers: the segment list is
// swapped under a short mutex and readers keep what they hold mapped.
//
// Threads: its own; Start/Stop/RunOnce from the owner.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <thread>

#include "broker/topic_registry.h"
#include "common/mutex.h"

namespace sentry::broker {

struct RetentionStats {
  int64_t segments_deleted = 0;
  int64_t partitions_trimmed = 0;
};

class Retention {
 public:
  // `now_ms`: wall-clock milliseconds (record timestamps are wall clock);
  // tests pass their own clock.
  Retention(TopicRegistry* registry, int64_t check_interval_ms,
            std::function<int64_t()> now_ms);
  ~Retention();
  void Start();
  void Stop();
  // One pass over every topic now (also what the thread runs).
  RetentionStats RunOnce();

 private:
  void Run();

  TopicRegistry* const registry_;
  const int64_t check_interval_ms_;
  const std::function<int64_t()> now_ms_;
  Mutex mu_;
  std::condition_variable_any cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace sentry::broker
