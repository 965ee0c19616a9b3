#include "storage/time_index.h"

#include <algorithm>
#include <cstring>


namespace sentry {

Result<std::unique_ptr<TimeIndex>> TimeIndex::Open(const std::string& path, uint32_t max_entries,
                                                   bool create, const MappedFileOptions& opt) {
  MappedFileOptions o = opt;
  o.min_alloc_step = 4u << 10;
  o.alloc_step = 256u << 10;
  o.prefault_ahead = 16u << 10;
  SENTRY_ASSIGN_OR_RETURN(auto f, MappedFile::Open(path, size_t{max_entries} * kTimeIndexSlotBytes, create, o));
  return std::unique_ptr<TimeIndex>(new TimeIndex(std::move(f), max_entries));
}

int64_t TimeIndex::TimestampAt(uint32_t i) const {
  return ReadTimeIndexSlot(file_->data(), i).timestamp;
}
uint32_t TimeIndex::RelAt(uint32_t i) const {
  return ReadTimeIndexSlot(file_->data(), i).relative_offset;
}

Status TimeIndex::MaybeAppend(int64_t timestamp, RelativeOffset rel) {
  uint32_t n = entries_.load(std::memory_order_relaxed);
  if (n > 0 && timestamp <= last_ts_) return Status::OK();
  if (n >= max_entries_) return Status::Full(file_->path() + ": time index full");
  size_t end = (size_t{n} + 1) * kTimeIndexSlotBytes;
  SENTRY_RETURN_IF_ERROR(file_->Reserve(end));
  WriteTimeIndexSlot(file_->data(), n, {timestamp, rel.value});
  last_ts_ = timestamp;
  entries_.store(n + 1, std::memory_order_release);
  file_->PrepareAhead(end);
  return Status::OK();
}

std::optional<uint32_t> TimeIndex::Lookup(int64_t ts) const {
  const uint32_t n = entries();
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (TimestampAt(mid) < ts) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == n) return std::nullopt;
  return RelAt(lo);
}

int64_t TimeIndex::last_timestamp() const {
  uint32_t n = entries();
  return n == 0 ? -1 : TimestampAt(n - 1);
}

void TimeIndex::ResetEntries(uint32_t n) {
  entries_.store(n, std::memory_order_release);
  last_ts_ = n == 0 ? -1 : TimestampAt(n - 1);
}

uint32_t TimeIndex::EntriesBelow(RelativeOffset rel) const {
  uint32_t lo = 0, hi = entries();
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (RelAt(mid) < rel.value) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

Status TimeIndex::KeepEntries(uint32_t n) {
  const uint32_t had = entries();
  if (n >= had) return Status::OK();
  const size_t begin = size_t{n} * kTimeIndexSlotBytes;
  const size_t end = std::min(size_t{had} * kTimeIndexSlotBytes, file_->backed_size());
  ResetEntries(n);  // unpublished before the bytes change
  if (end <= begin) return Status::OK();
  std::memset(file_->data() + begin, 0, end - begin);
  return file_->SyncRange(begin, end);
}

Status TimeIndex::TrimTo(uint32_t entries) {
  return file_->TrimTo(size_t{entries} * kTimeIndexSlotBytes);
}

}  // namespace sentry
