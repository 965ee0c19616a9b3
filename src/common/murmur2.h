// Kafka's murmur2 (seed 0x9747b28c), used by its default partitioner:
// partition = (murmur2(key) & 0x7fffffff) % partitions. Any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sentry {

inline int32_t Murmur2(const uint8_t* data, size_t length) {
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  uint32_t h = 0x9747b28cu ^ static_cast<uint32_t>(length);
  const size_t length4 = length / 4;
  for (size_t i = 0; i < length4; i++) {
    const size_t i4 = i * 4;
    uint32_t k = data[i4] | (uint32_t{data[i4 + 1]} << 8) | (uint32_t{data[i4 + 2]} << 16) |
                 (uint32_t{data[i4 + 3]} << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const size_t tail = length & ~size_t{3};
  switch (length % 4) {
    case 3: h ^= uint32_t{data[tail + 2]} << 16; [[fallthrough]];
    case 2: h ^= uint32_t{data[tail + 1]} << 8; [[fallthrough]];
    case 1:
      h ^= data[tail];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

inline int32_t KafkaPartitionForKey(const uint8_t* key, size_t n, int32_t partitions) {
  return static_cast<int32_t>((Murmur2(key, n) & 0x7fffffff) % partitions);
}

}  // namespace sentry
