// Byte layouts of the two index files of a segment (docs/storage-format.md).
// Every reader and writer of a slot goes through these functions; the
// static_asserts tie the offsets to the diagrams.
//
//  .index slot i, at byte 8*i (one slot per offset):
//   0  4  relative_offset u32   == i (a zeroed or torn slot is detectable)
//   4  4  position        u32   byte position in .log of the batch holding
//                               offset base_offset + i
//
//  .timeindex entry i, at byte 12*i (one per batch that raises the max):
//   0  8  timestamp       i64   max_timestamp of that batch
//   8  4  relative_offset u32   its first offset, relative to the base
//
// Big-endian, like every integer Sentry writes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/endian.h"

namespace sentry {

namespace index_layout {
constexpr size_t kRelativeOffset = 0;
constexpr size_t kPosition = 4;
constexpr size_t kSlotBytes = 8;
static_assert(kPosition == kRelativeOffset + sizeof(uint32_t));
static_assert(kSlotBytes == kPosition + sizeof(uint32_t));
}  // namespace index_layout

namespace time_index_layout {
constexpr size_t kTimestamp = 0;
constexpr size_t kRelativeOffset = 8;
constexpr size_t kSlotBytes = 12;
static_assert(kRelativeOffset == kTimestamp + sizeof(int64_t));
static_assert(kSlotBytes == kRelativeOffset + sizeof(uint32_t));
}  // namespace time_index_layout

constexpr size_t kIndexSlotBytes = index_layout::kSlotBytes;
constexpr size_t kTimeIndexSlotBytes = time_index_layout::kSlotBytes;

struct IndexSlot {
  uint32_t relative_offset = 0;
  uint32_t position = 0;
};

struct TimeIndexSlot {
  int64_t timestamp = 0;
  uint32_t relative_offset = 0;
};

// `base` is the start of the file's bytes; `i` the slot number.
inline IndexSlot ReadIndexSlot(const uint8_t* base, size_t i) {
  const uint8_t* p = base + i * index_layout::kSlotBytes;
  return {GetU32(p + index_layout::kRelativeOffset), GetU32(p + index_layout::kPosition)};
}
inline void WriteIndexSlot(uint8_t* base, size_t i, IndexSlot s) {
  uint8_t* p = base + i * index_layout::kSlotBytes;
  PutU32(p + index_layout::kRelativeOffset, s.relative_offset);
  PutU32(p + index_layout::kPosition, s.position);
}
inline TimeIndexSlot ReadTimeIndexSlot(const uint8_t* base, size_t i) {
  const uint8_t* p = base + i * time_index_layout::kSlotBytes;
  return {GetI64(p + time_index_layout::kTimestamp), GetU32(p + time_index_layout::kRelativeOffset)};
}
inline void WriteTimeIndexSlot(uint8_t* base, size_t i, TimeIndexSlot s) {
  uint8_t* p = base + i * time_index_layout::kSlotBytes;
  PutI64(p + time_index_layout::kTimestamp, s.timestamp);
  PutU32(p + time_index_layout::kRelativeOffset, s.relative_offset);
}

}  // namespace sentry
