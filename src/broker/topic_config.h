// TopicConfig: Kafka-named per-topic settings, with broker-wide defaults.
// Parsed from CREATE_TOPIC configs and from the persisted topic file; an
// unknown key or a bad value is rejected with a message naming it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/status.h"
#include "pipeline/partition.h"
#include "storage/log_cleaner.h"
#include "storage/log_config.h"

namespace sentry::broker {

struct TopicConfig {
  int64_t segment_bytes = 1LL << 30;               // segment.bytes
  int64_t segment_ms = 7LL * 24 * 3600 * 1000;     // segment.ms
  int64_t index_max_entries = 1LL << 23;           // index.max.entries
  int64_t max_message_bytes = 1048588;             // max.message.bytes (Kafka's default)
  int64_t flush_messages = INT64_MAX;              // flush.messages
  int64_t flush_ms = INT64_MAX;                    // flush.ms
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;   // retention.ms (-1: no time limit)
  int64_t retention_bytes = -1;                    // retention.bytes (-1: no size limit)
  bool log_append_time = false;  // message.timestamp.type: CreateTime or LogAppendTime
  // cleanup.policy: delete, compact, or both ("compact,delete").
  bool cleanup_delete = true;
  bool cleanup_compact = false;
  // The cleaner's settings (storage/log_cleaner.h), Kafka's defaults.
  double min_cleanable_dirty_ratio = 0.5;          // min.cleanable.dirty.ratio
  int64_t delete_retention_ms = 24LL * 3600 * 1000;  // delete.retention.ms
  int64_t min_compaction_lag_ms = 0;               // min.compaction.lag.ms
  int64_t max_compaction_lag_ms = INT64_MAX;       // max.compaction.lag.ms
  // Cluster mode: acks=-1 writes are refused (NOT_ENOUGH_REPLICAS) while
  // fewer replicas than this are in sync (docs/cluster.md).
  int64_t min_insync_replicas = 1;                 // min.insync.replicas

  // Sets one key from its string value; InvalidArgument names the key.
  Status Set(std::string_view key, std::string_view value);
  // Every key with its current value, for persistence and describe.
  std::map<std::string, std::string> ToMap() const;
  LogConfig ToLogConfig() const;
  CleanerConfig ToCleanerConfig() const;
  // cleanup.policy as Kafka writes it.
  std::string CleanupPolicy() const;
  pipeline::FlushPolicy ToFlushPolicy() const;
};

// The keys Set() accepts, for --help and docs.
const char* const* TopicConfigKeys();


}  // namespace sentry::broker
