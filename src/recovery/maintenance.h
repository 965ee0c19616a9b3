// Maintenance: one background thread for the recovery bookkeeping.
//  - Every checkpoint interval: msyncs rolled segments (FlushSealed, what
//    Kafka flushes on roll), then writes the recovery checkpoint with every
//    partition's durable offset, so an unclean start walks only the tail.
//  - Between checkpoints: scrubs, i.e. CRC-verifies, bytes that were loaded
//    from disk and not yet verified, a bounded amount per tick, so bit rot in
//    old segments is found even if nobody reads them (readers verify too).
//
// Threads: its own. The partition list comes from a callback (the broker's
// registry) and is re-read every tick, so created/deleted topics are seen.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/mutex.h"
#include "storage/partition_log.h"

namespace sentry::recovery {

struct MaintenanceOptions {
  std::string data_dir;
  int64_t checkpoint_interval_ms = 10000;  // log.flush.offset.checkpoint.interval.ms
  size_t scrub_bytes_per_tick = 8u << 20;  // verification budget per 100 ms tick
};

class Maintenance {
 public:
  // (key, log) pairs: key is the partition directory name ("orders-3"); the
  // callback fills keep_alive with whatever keeps those logs alive meanwhile.
  using ListFn = std::function<std::vector<std::pair<std::string, PartitionLog*>>(
      std::vector<std::shared_ptr<const void>>* keep_alive)>;

  Maintenance(MaintenanceOptions opt, ListFn list);
  ~Maintenance();
  void Start();
  void Stop();
  // Flushes rolled segments and writes the checkpoint now (also used at
  // clean shutdown, after the logs were closed). Any thread.
  Status CheckpointNow();

 private:
  void Run();
  MaintenanceOptions opt_;
  ListFn list_;
  Mutex mu_;
  Mutex checkpoint_mu_;  // serialises CheckpointNow
  std::condition_variable_any cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace sentry::recovery
