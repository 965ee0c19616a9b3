#include "broker/topic_config.h"

#include <fmt/format.h>

#include <charconv>

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
};
constexpr const char* kTimestampType = "message.timestamp.type";
}  // namespace

const char* const* TopicConfigKeys() {
  static const char* names[] = {kKeys[0].name, kKeys[1].name, kKeys[2].name, kKeys[3].name,
                                kKeys[4].name, kKeys[5].name, kKeys[6].name, kKeys[7].name,
                                kTimestampType, nullptr};
  return names;
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
  if (key == "cleanup.policy") {
    if (value == "delete") return Status::OK();
    return Status::InvalidArgument(
        fmt::format("cleanup.policy: '{}' is not supported (only 'delete'; compaction is not "
                    "implemented yet)",
                    value));
  }
  return Status::InvalidArgument(fmt::format("unknown topic config key '{}'", key));
}

std::map<std::string, std::string> TopicConfig::ToMap() const {
  std::map<std::string, std::string> m;
  for (const Key& k : kKeys) m[k.name] = std::to_string(this->*k.field);
  m[kTimestampType] = log_append_time ? "LogAppendTime" : "CreateTime";
  return m;
}

LogConfig TopicConfig::ToLogConfig() const {
  LogConfig c;
  c.segment_bytes = static_cast<uint32_t>(segment_bytes);
  c.segment_ms = segment_ms;
  c.index_max_entries = static_cast<uint32_t>(index_max_entries);
  c.log_append_time = log_append_time;
  return c;
}

pipeline::FlushPolicy TopicConfig::ToFlushPolicy() const {
  pipeline::FlushPolicy p;
  p.flush_messages = flush_messages;
  p.flush_ms = flush_ms;
  return p;
}

}  // namespace sentry::broker
