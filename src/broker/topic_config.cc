#include "broker/topic_config.h"

#include <fmt/format.h>

#include <charconv>
#include <vector>

namespace sentry::broker {

namespace {
struct Key {
  const char* name;
  int64_t TopicConfig::*field;
  int64_t min;
  int64_t max;
};
constexpr Key kKeys[] = {
    {"segment.bytes", &TopicConfig::segment_bytes, 1024, 0x7FFFFFFF},
    {"segment.ms", &TopicConfig::segment_ms, 1, INT64_MAX},
    {"index.max.entries", &TopicConfig::index_max_entries, 1, 1LL << 28},
    {"max.message.bytes", &TopicConfig::max_message_bytes, 0, 0x7FFFFFFF},
    {"flush.messages", &TopicConfig::flush_messages, 1, INT64_MAX},
    {"flush.ms", &TopicConfig::flush_ms, 0, INT64_MAX},
    {"retention.ms", &TopicConfig::retention_ms, -1, INT64_MAX},
    {"retention.bytes", &TopicConfig::retention_bytes, -1, INT64_MAX},
    {"delete.retention.ms", &TopicConfig::delete_retention_ms, 0, INT64_MAX},
    {"min.compaction.lag.ms", &TopicConfig::min_compaction_lag_ms, 0, INT64_MAX},
    {"max.compaction.lag.ms", &TopicConfig::max_compaction_lag_ms, 1, INT64_MAX},
    {"min.insync.replicas", &TopicConfig::min_insync_replicas, 1, 0x7FFF},
};
constexpr const char* kTimestampType = "message.timestamp.type";
constexpr const char* kCleanupPolicy = "cleanup.policy";
constexpr const char* kDirtyRatio = "min.cleanable.dirty.ratio";
}  // namespace

const char* const* TopicConfigKeys() {
  static const auto* names = [] {
    auto* v = new std::vector<const char*>();
    for (const Key& k : kKeys) v->push_back(k.name);
    for (const char* k : {kTimestampType, kCleanupPolicy, kDirtyRatio}) v->push_back(k);
    v->push_back(nullptr);
    return v;
  }();
  return names->data();
}


std::string TopicConfig::CleanupPolicy() const {
  if (cleanup_compact && cleanup_delete) return "compact,delete";
  return cleanup_compact ? "compact" : "delete";
}

CleanerConfig TopicConfig::ToCleanerConfig() const {
  CleanerConfig c;
  c.min_cleanable_dirty_ratio = min_cleanable_dirty_ratio;
  c.delete_retention_ms = delete_retention_ms;
  c.min_compaction_lag_ms = min_compaction_lag_ms;
  c.max_compaction_lag_ms = max_compaction_lag_ms;
  return c;
}

Status TopicConfig::Set(std::string_view key, std::string_view value) {
  for (const Key& k : kKeys) {
    if (key != k.name) continue;
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || ptr != value.data() + value.size()) {
      return Status::InvalidArgument(
          fmt::format("{}: '{}' is not an integer", key, value));
    }
    if (v < k.min || v > k.max) {
      return Status::InvalidArgument(
          fmt::format("{}: {} is outside [{}, {}]", key, v, k.min, k.max));
    }
    this->*k.field = v;
    return Status::OK();
  }
  if (key == kTimestampType) {
    if (value != "CreateTime" && value != "LogAppendTime") {
      return Status::InvalidArgument(
          fmt::format("{}: '{}' is not CreateTime or LogAppendTime", key, value));
    }
    log_append_time = value == "LogAppendTime";
    return Status::OK();
  }
  if (key == kCleanupPolicy) {
    // A comma-separated list of delete and compact, as Kafka.
    bool del = false, compact = false;
    std::string_view rest = value;
    while (true) {
      const size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (item == "delete") {
        del = true;
      } else if (item == "compact") {
        compact = true;
      } else {
        return Status::InvalidArgument(fmt::format(
            "cleanup.policy: '{}' is not a list of 'delete' and 'compact'", value));
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    cleanup_delete = del;
    cleanup_compact = compact;
    return Status::OK();
  }
  if (key == kDirtyRatio) {
    double v = -1;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || ptr != value.data() + value.size() || !(v >= 0.0 && v <= 1.0)) {
      return Status::InvalidArgument(
          fmt::format("{}: '{}' is not a number in [0, 1]", key, value));
    }
    min_cleanable_dirty_ratio = v;
    return Status::OK();
  }
  return Status::InvalidArgument(fmt::format("unknown topic config key '{}'", key));
}

std::map<std::string, std::string> TopicConfig::ToMap() const {
  std::map<std::string, std::string> m;
  for (const Key& k : kKeys) m[k.name] = std::to_string(this->*k.field);
  m[kTimestampType] = log_append_time ? "LogAppendTime" : "CreateTime";
  m[kCleanupPolicy] = CleanupPolicy();
  m[kDirtyRatio] = fmt::format("{}", min_cleanable_dirty_ratio);
  return m;
}

LogConfig TopicConfig::ToLogConfig() const {
  LogConfig c;
  c.segment_bytes = static_cast<uint32_t>(segment_bytes);
  c.segment_ms = segment_ms;
  c.index_max_entries = static_cast<uint32_t>(index_max_entries);
  c.log_append_time = log_append_time;
  c.compacted = cleanup_compact;
  return c;
}

pipeline::FlushPolicy TopicConfig::ToFlushPolicy() const {
  pipeline::FlushPolicy p;
  p.flush_messages = flush_messages;
  p.flush_ms = flush_ms;
  return p;
}

}  // namespace sentry::broker
