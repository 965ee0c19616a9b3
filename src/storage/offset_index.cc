#include "storage/offset_index.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>


namespace sentry {

Result<std::unique_ptr<OffsetIndex>> OffsetIndex::Open(const std::string& path,
                                                       uint32_t max_entries, bool create,
                                                       const MappedFileOptions& opt) {
  MappedFileOptions o = opt;
  o.min_alloc_step = 4u << 10;  // 512 offsets; doubles with use
  o.alloc_step = 1u << 20;
  o.prefault_ahead = 64u << 10;
  SENTRY_ASSIGN_OR_RETURN(auto f, MappedFile::Open(path, size_t{max_entries} * kIndexSlotBytes, create, o));
  return std::unique_ptr<OffsetIndex>(new OffsetIndex(std::move(f), max_entries));
}

Status OffsetIndex::Append(RelativeOffset first, uint32_t count, LogPosition position) {
  const uint32_t first_rel = first.value;
  size_t end = (size_t{first_rel} + count) * kIndexSlotBytes;
  SENTRY_RETURN_IF_ERROR(file_->Reserve(end));
  // The compiler turns this into one 64-bit store per slot (the loop was
  // hand-written as such before; bench_append shows no difference).
  uint8_t* base = file_->data();
  for (uint32_t i = 0; i < count; i++) {
    WriteIndexSlot(base, size_t{first_rel} + i, {first_rel + i, position.value});
  }
  file_->PrepareAhead(end);
  return Status::OK();
}

Result<LogPosition> OffsetIndex::Lookup(RelativeOffset r) const {
  const uint32_t rel = r.value;
  if (rel >= max_entries_ || size_t{rel + 1} * kIndexSlotBytes > file_->backed_size()) {
    return Status::Corruption(fmt::format("{}: slot {} outside the index", file_->path(), rel));
  }
  const IndexSlot slot = ReadIndexSlot(file_->data(), rel);
  if (slot.relative_offset != rel) {
    return Status::Corruption(fmt::format("{}: slot {} holds relative offset {}", file_->path(),
                                          rel, slot.relative_offset));
  }
  return LogPosition(slot.position);
}

bool OffsetIndex::SlotValid(RelativeOffset r, uint32_t log_size, bool gaps) const {
  const uint32_t rel = r.value;
  if (rel >= max_entries_ || size_t{rel + 1} * kIndexSlotBytes > file_->backed_size()) {
    return false;
  }
  const IndexSlot slot = ReadIndexSlot(file_->data(), rel);
  return slot.relative_offset == rel &&
         (slot.position < log_size || (gaps && slot.position == log_size));
}

uint32_t OffsetIndex::FirstSlotAtOrAfter(uint32_t n, uint32_t pos) const {
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (ReadIndexSlot(file_->data(), mid).position < pos) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

Status OffsetIndex::CheckSlots(uint32_t n, size_t log_size, uint32_t* last_pos,
                               bool gaps) const {
  if (file_->backed_size() < size_t{n} * kIndexSlotBytes) {
    return Status::Corruption(fmt::format("{}: shorter than its {} offsets", file_->path(), n));
  }
  uint32_t prev = 0;
  for (uint32_t i = 0; i < n; i++) {
    const IndexSlot slot = ReadIndexSlot(file_->data(), i);
    const bool past = gaps ? slot.position > log_size : slot.position >= log_size;
    if (slot.relative_offset != i || slot.position < prev || past) {
      return Status::Corruption(fmt::format("{}: slot {} is ({}, {})", file_->path(), i,
                                            slot.relative_offset, slot.position));
    }
    prev = slot.position;
  }
  if (last_pos) *last_pos = prev;
  return Status::OK();
}

Status OffsetIndex::ClearSlots(RelativeOffset from, uint32_t to) {
  const size_t begin = size_t{from.value} * kIndexSlotBytes;
  const size_t end = std::min(size_t{to} * kIndexSlotBytes, file_->backed_size());
  if (end <= begin) return Status::OK();
  std::memset(file_->data() + begin, 0, end - begin);
  return file_->SyncRange(begin, end);
}

Status OffsetIndex::TrimTo(uint32_t entries) {
  return file_->TrimTo(size_t{entries} * kIndexSlotBytes);
}

}  // namespace sentry
