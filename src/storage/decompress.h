// Decompression of Kafka record batches, for consumers and the log cleaner
// (which reads the keys of compressed batches): Kafka clients may
// produce gzip (1), snappy (2), lz4 (3) or zstd (4) batches, and the broker
// stores them as sent. Uses Debian's zlib, libsnappy, liblz4 and libzstd.
//
//  gzip:   a gzip stream (RFC 1952)
//  snappy: raw snappy, or the "xerial" framing of the Java client (magic
//          82 'SNAPPY' 00, two int32 versions, then int32-length blocks)
//  lz4:    an LZ4 frame
//  zstd:   a zstd frame (its content size may be absent)
//
// Any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "common/status.h"
#include "storage/record_batch_builder.h"

namespace sentry {

// Decompressed bytes are capped (a hostile batch cannot exhaust memory).
constexpr size_t kMaxDecompressedBytes = 256 << 20;

Status Decompress(int codec, std::span<const uint8_t> in, std::vector<uint8_t>* out);

// Every record of a batch, compressed or not. For a compressed batch the
// records' views point into *scratch, which must outlive them.
Status DecodeBatchRecords(const uint8_t* batch, size_t size, std::vector<DecodedRecord>* out,
                          std::vector<uint8_t>* scratch);

}  // namespace sentry
