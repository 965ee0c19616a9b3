#include "broker/offset_store.h"

#include <fmt/format.h>

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
                        int64_t log_offset) {
  MutexLock l(&mu_);
  auto& e = offsets_[key];
  if (log_offset < e.log_offset) return;  // an older commit completing late
  e.offset = offset;
  e.metadata = std::move(metadata);
  e.log_offset = log_offset;
}

CommittedOffset OffsetStore::Get(std::string_view group, std::string_view topic,
                                 int32_t partition) const {
  std::string key = Key(group, topic, partition);
  MutexLock l(&mu_);
  auto it = offsets_.find(key);
  return it == offsets_.end() ? CommittedOffset{} : it->second;
}

size_t OffsetStore::size() const {
  MutexLock l(&mu_);
  return offsets_.size();
}

Status OffsetStore::Load() {
  PartitionLog* log = log_->log();
  int64_t next = log->log_start_offset();
  const int64_t end = log->high_watermark();
  while (next < end) {
    SENTRY_ASSIGN_OR_RETURN(auto r, log->Read(next, 1 << 20));
    size_t pos = 0;
    while (pos < r.size) {
      RecordBatchView view;
      SENTRY_RETURN_IF_ERROR(RecordBatchView::Parse(r.data + pos, r.size - pos, &view));
      std::vector<DecodedRecord> recs;
      SENTRY_RETURN_IF_ERROR(DecodeRecords(r.data + pos, view.TotalSize(), &recs));
      for (auto& rec : recs) {
        if (!rec.key || !rec.value || rec.value->size() < 8) {
          return Status::Corruption(fmt::format("offsets log: bad record at {}", rec.offset));
        }
        int64_t off = GetI64(reinterpret_cast<const uint8_t*>(rec.value->data()));
        Apply(std::string(*rec.key), off, std::string(rec.value->substr(8)), rec.offset);
      }
      pos += view.TotalSize();
      next = view.last_offset() + 1;
    }
  }
  return Status::OK();
}

}  // namespace sentry::broker
