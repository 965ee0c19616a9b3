#include "broker/offset_store.h"

#include <fmt/format.h>

#include <cstdlib>

#include "common/endian.h"
#include "storage/record_batch_builder.h"

namespace sentry::broker {

std::string OffsetStore::Key(std::string_view group, std::string_view topic, int32_t partition) {
  std::string k;
  k.reserve(group.size() + topic.size() + 16);
  k.append(group);
  k.push_back('\0');
  k.append(topic);
  k.push_back('\0');
  k.append(std::to_string(partition));
  return k;
}

std::string OffsetStore::GroupRecordKey(std::string_view group) {
  // A commit key's topic is never empty, so `group \0 \0 ...` is free.
  std::string k(group);
  k.append(1, '\0').append(1, '\0').append("group");
  return k;
}

std::vector<uint8_t> OffsetStore::BuildTombstone(const std::string& key) {
  RecordBatchBuilder b;
  b.Add(key, std::nullopt);
  return b.Build();
}

std::vector<uint8_t> OffsetStore::BuildGroupRecord(std::string_view group,
                                                   const std::optional<std::string>& value) {
  RecordBatchBuilder b;
  b.Add(GroupRecordKey(group), value ? std::optional<std::string_view>(*value) : std::nullopt);
  return b.Build();
}

std::vector<uint8_t> OffsetStore::BuildCommit(const std::string& key, int64_t offset,
                                              std::string_view metadata) {
  std::string value(8, '\0');
  PutI64(reinterpret_cast<uint8_t*>(value.data()), offset);
  value.append(metadata);
  RecordBatchBuilder b;
  b.Add(key, value);
  return b.Build();
}

void OffsetStore::Apply(const std::string& key, int64_t offset, std::string metadata,
                        int64_t log_offset, int64_t commit_time_ms) {
  MutexLock l(&mu_);
  auto& e = offsets_[key];
  if (log_offset < e.log_offset) return;  // an older commit completing late
  e.offset = offset;
  e.metadata = std::move(metadata);
  e.log_offset = log_offset;
  e.commit_time_ms = commit_time_ms;
}

void OffsetStore::Erase(const std::string& key, int64_t log_offset) {
  MutexLock l(&mu_);
  auto it = offsets_.find(key);
  if (it != offsets_.end() && it->second.log_offset < log_offset) offsets_.erase(it);
}

std::vector<std::string> OffsetStore::Groups() const {
  std::vector<std::string> out;
  MutexLock l(&mu_);
  for (const auto& [key, c] : offsets_) {
    std::string_view g(key.data(), key.find('\0'));
    if (out.empty() || out.back() != g) out.emplace_back(g);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> OffsetStore::GroupRecords() const {
  MutexLock l(&mu_);
  return {group_records_.begin(), group_records_.end()};
}

CommittedOffset OffsetStore::Get(std::string_view group, std::string_view topic,
                                 int32_t partition) const {
  std::string key = Key(group, topic, partition);
  MutexLock l(&mu_);
  auto it = offsets_.find(key);
  return it == offsets_.end() ? CommittedOffset{} : it->second;
}

std::vector<std::tuple<std::string, int32_t, CommittedOffset>> OffsetStore::GroupOffsets(
    std::string_view group) const {
  // Keys are group \0 topic \0 partition: one group is one key range.
  std::string prefix(group);
  prefix.push_back('\0');
  std::vector<std::tuple<std::string, int32_t, CommittedOffset>> out;
  MutexLock l(&mu_);
  for (auto it = offsets_.lower_bound(prefix);
       it != offsets_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    std::string_view rest = std::string_view(it->first).substr(prefix.size());
    const size_t sep = rest.find('\0');
    if (sep == std::string_view::npos) continue;
    out.emplace_back(std::string(rest.substr(0, sep)),
                     std::atoi(std::string(rest.substr(sep + 1)).c_str()), it->second);
  }
  return out;
}

size_t OffsetStore::size() const {
  MutexLock l(&mu_);
  return offsets_.size();
}

Status OffsetStore::Replay(std::string_view key, const std::optional<std::string_view>& value,
                           int64_t log_offset, int64_t timestamp_ms) {
  const size_t sep = key.find('\0');
  if (sep != std::string_view::npos && key.substr(sep) == std::string_view("\0\0group", 7)) {
    std::string group(key.substr(0, sep));
    MutexLock l(&mu_);
    if (value) {
      group_records_[group] = std::string(*value);
    } else {
      group_records_.erase(group);
    }
    return Status::OK();
  }
  if (!value) {
    Erase(std::string(key), log_offset);
    return Status::OK();
  }
  if (value->size() < 8) {
    return Status::Corruption(fmt::format("offsets log: bad record at {}", log_offset));
  }
  const int64_t off = GetI64(reinterpret_cast<const uint8_t*>(value->data()));
  Apply(std::string(key), off, std::string(value->substr(8)), log_offset, timestamp_ms);
  return Status::OK();
}

Result<int64_t> OffsetStore::Reload() {
  {
    MutexLock l(&mu_);
    offsets_.clear();
    group_records_.clear();
  }
  return Load();
}

Result<int64_t> OffsetStore::Load() {
  PartitionLog* log = log_->log();
  int64_t next = log->log_start_offset();
  const int64_t end = log->high_watermark();
  int64_t replayed = 0;
  while (next < end) {
    SENTRY_ASSIGN_OR_RETURN(auto r, log->Read(next, 1 << 20));
    if (r.size == 0) break;  // compacted away up to the end
    size_t pos = 0;
    while (pos < r.size) {
      RecordBatchView view;
      SENTRY_RETURN_IF_ERROR(RecordBatchView::Parse(r.data + pos, r.size - pos, &view));
      std::vector<DecodedRecord> recs;
      SENTRY_RETURN_IF_ERROR(DecodeRecords(r.data + pos, view.TotalSize(), &recs));
      for (auto& rec : recs) {
        if (!rec.key) {
          return Status::Corruption(fmt::format("offsets log: record without key at {}", rec.offset));
        }
        SENTRY_RETURN_IF_ERROR(Replay(*rec.key, rec.value, rec.offset, rec.timestamp));
        replayed++;
      }
      pos += view.TotalSize();
      next = view.last_offset() + 1;
    }
  }
  return replayed;
}

}  // namespace sentry::broker
