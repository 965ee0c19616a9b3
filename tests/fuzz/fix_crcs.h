// Fuzz helper: rewrites the CRC of each batch-shaped chunk of `bytes`, so the
// fuzzer reaches the checks behind the CRC (record decoding, offset
// continuity) instead of stopping at a mismatch almost every time.
#pragma once

#include <cstdint>
#include <vector>

#include "common/crc32c.h"
#include "common/endian.h"
#include "storage/record_batch.h"

inline void FixCrcs(std::vector<uint8_t>* bytes) {
  using namespace sentry::batch_layout;
  size_t pos = 0;
  while (pos + kHeaderSize <= bytes->size()) {
    int32_t len = sentry::GetI32(bytes->data() + pos + kBatchLength);
    if (len < static_cast<int32_t>(kHeaderSize - kLogOverhead)) return;
    size_t total = kLogOverhead + static_cast<size_t>(len);
    if (total > bytes->size() - pos) return;
    uint8_t* b = bytes->data() + pos;
    sentry::PutU32(b + kCrc, sentry::Crc32c(b + kCrcStart, total - kCrcStart));
    pos += total;
  }
}
