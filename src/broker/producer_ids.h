// ProducerIds: hands out idempotent-producer ids that are never reused, even
// across crashes. Ids are reserved in blocks: before the first id of a block
// is handed out, the end of the block is written to <data>/__producer_ids
// atomically (write, fsync, rename, directory fsync); a restart continues
// after the last reserved block, so at most one block of ids is skipped per
// restart and none is handed out twice.
//
// Threads: any (one mutex; a durable write once per block).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/mutex.h"
#include "common/status.h"

namespace sentry::broker {

class ProducerIds {
 public:
  static constexpr int64_t kBlock = 1000;

  explicit ProducerIds(std::string data_dir);
  // Reads the reserved end (a missing file means none reserved yet).
  Status Load();
  Result<int64_t> Next();
  // Cluster mode: blocks come from `source(kBlock)` (the first id of a block
  // reserved cluster-wide, in etcd) instead of the local file, so no two
  // brokers hand out the same id. Set before serving.
  using BlockSource = std::function<Result<int64_t>(int64_t size)>;
  void set_block_source(BlockSource source) { source_ = std::move(source); }

 private:
  const std::string path_;
  BlockSource source_;
  Mutex mu_;
  int64_t next_ GUARDED_BY(mu_) = 0;
  int64_t reserved_end_ GUARDED_BY(mu_) = 0;  // ids below this are reserved on disk
};

}  // namespace sentry::broker
