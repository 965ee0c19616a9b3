// OffsetMap: the log cleaner's dedupe map, key -> offset of its latest record,
// in a fixed amount of memory (log.cleaner.dedupe.buffer.size), like Kafka's
// SkimpyOffsetMap. A key is stored as its 128-bit XXH3 digest, never its
// bytes: 24 bytes per entry whatever the key's size. Two different keys
// sharing a digest would make the older one's latest record look superseded;
// with 128 bits that takes about 2^64 keys (Kafka stores 128-bit MD5
// digests and accepts the same odds).
//
// Open addressing with linear probing; at most 90% of the slots are used
// (Put reports full instead). One thread (the cleaner that owns it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace sentry {

class OffsetMap {
 public:
  // At most memory_bytes / 24 slots (at least 16); nothing is allocated
  // before the first Reset.
  explicit OffsetMap(size_t memory_bytes);

  // Empties the map, sized for `max_keys` keys within its memory limit (a
  // small partition does not clear a large table).
  void Reset(size_t max_keys);
  // Records that `key`'s latest record is at `offset`. False when the map
  // is full and the key is not already in it (nothing changed).
  bool Put(std::string_view key, int64_t offset);
  // The offset Put last recorded for `key`, or -1.
  int64_t Get(std::string_view key) const;

  size_t size() const { return used_; }
  size_t capacity() const { return max_used_; }  // entries it accepts
  static constexpr size_t kEntryBytes = 24;

 private:
  struct Entry {
    uint64_t lo = 0;
    uint64_t hi = 0;
    int64_t offset = -1;  // -1: empty slot
  };
  static_assert(sizeof(Entry) == kEntryBytes);
  size_t Find(uint64_t lo, uint64_t hi) const;  // its slot, or the empty slot to use

  const size_t max_slots_;
  std::vector<Entry> slots_;
  size_t used_ = 0;
  size_t max_used_ = 0;
};

}  // namespace sentry
