#include "storage/offset_map.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <algorithm>

namespace sentry {

OffsetMap::OffsetMap(size_t memory_bytes)
    : max_slots_(std::max<size_t>(memory_bytes / kEntryBytes, 16)) {}

void OffsetMap::Reset(size_t max_keys) {
  const size_t want = std::clamp<size_t>(max_keys + max_keys / 8 + 16, 16, max_slots_);
  slots_.assign(want, Entry{});
  max_used_ = want * 9 / 10;
  used_ = 0;
}

size_t OffsetMap::Find(uint64_t lo, uint64_t hi) const {
  const size_t n = slots_.size();
  size_t i = static_cast<size_t>(lo % n);
  // Never endless: at most 90% of the slots are used.
  while (slots_[i].offset >= 0 && (slots_[i].lo != lo || slots_[i].hi != hi)) {
    i = i + 1 == n ? 0 : i + 1;
  }
  return i;
}

bool OffsetMap::Put(std::string_view key, int64_t offset) {
  if (slots_.empty()) return false;  // never Reset
  const XXH128_hash_t h = XXH3_128bits(key.data(), key.size());
  const size_t i = Find(h.low64, h.high64);
  Entry& e = slots_[i];
  if (e.offset < 0) {
    if (used_ >= max_used_) return false;
    e.lo = h.low64;
    e.hi = h.high64;
    used_++;
  }
  e.offset = offset;
  return true;
}

int64_t OffsetMap::Get(std::string_view key) const {
  if (slots_.empty()) return -1;
  const XXH128_hash_t h = XXH3_128bits(key.data(), key.size());
  return slots_[Find(h.low64, h.high64)].offset;
}

}  // namespace sentry
