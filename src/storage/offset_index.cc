#include "storage/offset_index.h"

#include <fmt/format.h>

#include "common/endian.h"

namespace sentry {

Result<std::unique_ptr<OffsetIndex>> OffsetIndex::Open(const std::string& path,
                                                       uint32_t max_entries, bool create,
                                                       const MappedFileOptions& opt) {
  MappedFileOptions o = opt;
  o.alloc_step = 1u << 20;
  o.prefault_ahead = 64u << 10;
  auto f = MappedFile::Open(path, size_t{max_entries} * kIndexSlotBytes, create, o);
  if (!f.ok()) return f.status();
  return std::unique_ptr<OffsetIndex>(new OffsetIndex(std::move(f).value(), max_entries));
}

Status OffsetIndex::Append(uint32_t first_rel, uint32_t count, uint32_t position) {
  size_t end = (size_t{first_rel} + count) * kIndexSlotBytes;
  SENTRY_RETURN_IF_ERROR(file_->Reserve(end));
  uint8_t* p = file_->data() + size_t{first_rel} * kIndexSlotBytes;
  // Build both halves as one 64-bit big-endian word per slot.
  uint64_t pos_be = __builtin_bswap32(position);
  for (uint32_t i = 0; i < count; i++, p += kIndexSlotBytes) {
    uint64_t slot = static_cast<uint64_t>(__builtin_bswap32(first_rel + i)) | (pos_be << 32);
    std::memcpy(p, &slot, 8);
  }
  file_->PrepareAhead(end);
  return Status::OK();
}

Result<uint32_t> OffsetIndex::Lookup(uint32_t rel) const {
  if (rel >= max_entries_ || size_t{rel + 1} * kIndexSlotBytes > file_->backed_size()) {
    return Status::Corruption(fmt::format("{}: slot {} outside the index", file_->path(), rel));
  }
  const uint8_t* p = file_->data() + size_t{rel} * kIndexSlotBytes;
  if (GetU32(p) != rel) {
    return Status::Corruption(
        fmt::format("{}: slot {} holds relative offset {}", file_->path(), rel, GetU32(p)));
  }
  return GetU32(p + 4);
}

bool OffsetIndex::SlotValid(uint32_t rel, uint32_t log_size) const {
  if (rel >= max_entries_ || size_t{rel + 1} * kIndexSlotBytes > file_->backed_size()) {
    return false;
  }
  const uint8_t* p = file_->data() + size_t{rel} * kIndexSlotBytes;
  return GetU32(p) == rel && GetU32(p + 4) < log_size;
}

Status OffsetIndex::TrimTo(uint32_t entries) {
  return file_->TrimTo(size_t{entries} * kIndexSlotBytes);
}

}  // namespace sentry
