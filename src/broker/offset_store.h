// OffsetStore: committed consumer offsets, kept in the broker's own log
// format (an internal PartitionLog, `__consumer_offsets-N`: one store per
// partition of the offsets log, one on a single node), one record per
// commit: key = group \0 topic \0 partition, value = offset i64 + metadata;
// a null value deletes the offset (OffsetDelete). The same log carries each
// group's record (group/group_record.h) under key group \0 \0 "group",
// which this store keeps as opaque bytes for the group coordinator.
// Rebuilt into memory at start by replaying that log.
//
// Threads: Load before serving. BuildCommit on any network thread; Apply on
// the network thread that completes the (acks=-1) append; Get from any thread.
#pragma once

#include <map>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/mutex.h"
#include "pipeline/partition.h"

namespace sentry::broker {

struct CommittedOffset {
  int64_t offset = -1;
  std::string metadata;
  int64_t log_offset = -1;  // where the commit sits in the offsets log (orders commits)
  int64_t commit_time_ms = -1;  // wall clock of the commit (offsets.retention.minutes)
};

// The offsets log's topic name.
inline constexpr const char* kOffsetsTopic = "__consumer_offsets";

class OffsetStore {
 public:
  explicit OffsetStore(std::shared_ptr<pipeline::Partition> log) : log_(std::move(log)) {}
  // Replays the log; returns how many records it read.
  Result<int64_t> Load();
  // Forgets everything, then Load() (cluster mode: this broker has just
  // become this partition's leader; what it holds came by replication).
  Result<int64_t> Reload();
  const std::shared_ptr<pipeline::Partition>& partition() const { return log_; }

  static std::string Key(std::string_view group, std::string_view topic, int32_t partition);
  static std::string GroupRecordKey(std::string_view group);
  // A one-record batch for the commit.
  static std::vector<uint8_t> BuildCommit(const std::string& key, int64_t offset,
                                          std::string_view metadata);
  // A one-record batch with a null value: deletes `key` when replayed.
  static std::vector<uint8_t> BuildTombstone(const std::string& key);
  // A group record (value nullopt: the group is deleted).
  static std::vector<uint8_t> BuildGroupRecord(std::string_view group,
                                               const std::optional<std::string>& value);
  // Records a durable commit that was appended at `log_offset`.
  void Apply(const std::string& key, int64_t offset, std::string metadata, int64_t log_offset,
             int64_t commit_time_ms);
  // Records a durable deletion of `key`.
  void Erase(const std::string& key, int64_t log_offset);
  CommittedOffset Get(std::string_view group, std::string_view topic, int32_t partition) const;
  size_t size() const;
  // Every committed offset of `group`: (topic, partition, offset).
  std::vector<std::tuple<std::string, int32_t, CommittedOffset>> GroupOffsets(
      std::string_view group) const;
  // Every group with a committed offset, and every group record (group id,
  // bytes) read back by Load().
  std::vector<std::string> Groups() const;
  std::vector<std::pair<std::string, std::string>> GroupRecords() const;

 private:
  // One record of the offsets log, in log order.
  Status Replay(std::string_view key, const std::optional<std::string_view>& value,
                int64_t log_offset, int64_t timestamp_ms);
  std::shared_ptr<pipeline::Partition> log_;
  mutable Mutex mu_;
  std::map<std::string, CommittedOffset, std::less<>> offsets_ GUARDED_BY(mu_);
  std::map<std::string, std::string> group_records_ GUARDED_BY(mu_);
};

}  // namespace sentry::broker
