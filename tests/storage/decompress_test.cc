// Consumers decode batches compressed by Kafka clients: every codec, in the
// framings real clients use, built here with the codec libraries themselves.
#include "storage/decompress.h"

#include <gtest/gtest.h>
#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <string>

#include "common/crc32c.h"
#include "common/endian.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

namespace sentry {
namespace {

std::vector<uint8_t> Gzip(std::span<const uint8_t> in) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<uint8_t> out(deflateBound(&z, in.size()) + 32);
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::vector<uint8_t> SnappyRaw(std::span<const uint8_t> in) {
  std::string s;
  snappy::Compress(reinterpret_cast<const char*>(in.data()), in.size(), &s);
  return {s.begin(), s.end()};
}

// The Java client's framing: magic, two versions, then length-prefixed blocks.
std::vector<uint8_t> SnappyXerial(std::span<const uint8_t> in) {
  std::vector<uint8_t> out = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1};
  const size_t half = in.size() / 2;
  for (auto part : {in.subspan(0, half), in.subspan(half)}) {
    auto block = SnappyRaw(part);
    uint8_t len[4];
    PutU32(len, static_cast<uint32_t>(block.size()));
    out.insert(out.end(), len, len + 4);
    out.insert(out.end(), block.begin(), block.end());
  }
  return out;
}

std::vector<uint8_t> Lz4(std::span<const uint8_t> in) {
  std::vector<uint8_t> out(LZ4F_compressFrameBound(in.size(), nullptr));
  const size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), nullptr);
  EXPECT_FALSE(LZ4F_isError(n));
  out.resize(n);
  return out;
}

std::vector<uint8_t> Zstd(std::span<const uint8_t> in) {
  std::vector<uint8_t> out(ZSTD_compressBound(in.size()));
  const size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// A batch of `n` records whose records section is `compress`ed with `codec`.
std::vector<uint8_t> CompressedBatch(int codec, int n,
                                     std::vector<uint8_t> (*compress)(std::span<const uint8_t>)) {
  RecordBatchBuilder b(1000);
  for (int i = 0; i < n; i++) {
    b.Add("key-" + std::to_string(i), std::string(50, static_cast<char>('a' + i % 26)) +
                                          std::to_string(i));
  }
  std::vector<uint8_t> plain = b.Build(0);
  using namespace batch_layout;
  std::vector<uint8_t> body = compress({plain.data() + kHeaderSize, plain.size() - kHeaderSize});
  std::vector<uint8_t> out(plain.begin(), plain.begin() + kHeaderSize);
  out.insert(out.end(), body.begin(), body.end());
  PutI32(out.data() + kBatchLength, static_cast<int32_t>(out.size() - kLogOverhead));
  PutI16(out.data() + kAttributes, static_cast<int16_t>(codec));
  PutU32(out.data() + kCrc, Crc32c(out.data() + kCrcStart, out.size() - kCrcStart));
  return out;
}

void ExpectRecords(const std::vector<uint8_t>& batch, int n) {
  RecordBatchView view;
  ASSERT_TRUE(RecordBatchView::Parse(batch.data(), batch.size(), &view).ok());
  std::vector<DecodedRecord> recs;
  std::vector<uint8_t> scratch;
  ASSERT_TRUE(DecodeBatchRecords(batch.data(), batch.size(), &recs, &scratch).ok());
  ASSERT_EQ(recs.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; i++) {
    EXPECT_EQ(recs[i].offset, i);
    EXPECT_EQ(*recs[i].key, "key-" + std::to_string(i));
    EXPECT_EQ(*recs[i].value,
              std::string(50, static_cast<char>('a' + i % 26)) + std::to_string(i));
  }
}

TEST(DecompressTest, EveryCodecAndFraming) {
  ExpectRecords(CompressedBatch(1, 40, Gzip), 40);
  ExpectRecords(CompressedBatch(2, 40, SnappyRaw), 40);
  ExpectRecords(CompressedBatch(2, 40, SnappyXerial), 40);
  ExpectRecords(CompressedBatch(3, 40, Lz4), 40);
  ExpectRecords(CompressedBatch(4, 40, Zstd), 40);
}

TEST(DecompressTest, DamagedStreamsAreCorruptionNotCrashes) {
  for (auto [codec, fn] : std::initializer_list<std::pair<int, std::vector<uint8_t> (*)(std::span<const uint8_t>)>>{
           {1, Gzip}, {2, SnappyRaw}, {2, SnappyXerial}, {3, Lz4}, {4, Zstd}}) {
    std::vector<uint8_t> data(5000, 'x');
    auto packed = fn(data);
    std::vector<uint8_t> out;
    ASSERT_TRUE(Decompress(codec, packed, &out).ok()) << codec;
    EXPECT_EQ(out, data);
    auto cut = std::vector<uint8_t>(packed.begin(), packed.begin() + packed.size() / 2);
    EXPECT_FALSE(Decompress(codec, cut, &out).ok()) << codec;
  }
  std::vector<uint8_t> out;
  EXPECT_EQ(Decompress(7, {}, &out).code(), Status::Code::kNotSupported);
}

TEST(DecompressTest, BombsAreCapped) {
  std::vector<uint8_t> zeros(kMaxDecompressedBytes + (1 << 20), 0);
  std::vector<uint8_t> out;
  EXPECT_EQ(Decompress(4, Zstd(zeros), &out).code(), Status::Code::kCorruption);
  EXPECT_LE(out.size(), kMaxDecompressedBytes + (64 << 10));
}

}  // namespace
}  // namespace sentry
