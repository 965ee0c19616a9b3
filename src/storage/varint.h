// Zigzag varints as in protobuf / Kafka records. Any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sentry {

inline void AppendVarlong(std::vector<uint8_t>* out, int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (z >= 0x80) {
    out->push_back(static_cast<uint8_t>(z | 0x80));
    z >>= 7;
  }
  out->push_back(static_cast<uint8_t>(z));
}
inline void AppendVarint(std::vector<uint8_t>* out, int32_t v) { AppendVarlong(out, v); }

inline size_t VarlongSize(int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  size_t n = 1;
  while (z >= 0x80) {
    z >>= 7;
    n++;
  }
  return n;
}

// Reads a zigzag varlong from [*p, end). Returns false on truncation or on
// more than 10 bytes; *p advances past the value on success.
inline bool ReadVarlong(const uint8_t** p, const uint8_t* end, int64_t* out) {
  uint64_t z = 0;
  int shift = 0;
  const uint8_t* q = *p;
  while (q < end && shift < 70) {
    uint8_t b = *q++;
    z |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) {
      *out = static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
      *p = q;
      return true;
    }
    shift += 7;
  }
  return false;
}

}  // namespace sentry
