#include "storage/decompress.h"

#include <lz4frame.h>
#include <snappy.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <string>

#include "common/endian.h"
#include "storage/record_batch.h"

namespace sentry {

namespace {

constexpr int kGzip = 1, kSnappy = 2, kLz4 = 3, kZstd = 4;
constexpr uint8_t kXerialMagic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
constexpr size_t kXerialHeader = 16;  // magic + version + compatible version
constexpr size_t kChunk = 64 << 10;

Status TooBig() {
  return Status::Corruption("decompressed batch is larger than " +
                            std::to_string(kMaxDecompressedBytes) + " bytes");
}

Status Gunzip(std::span<const uint8_t> in, std::vector<uint8_t>* out) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) return Status::Corruption("gzip: inflateInit failed");
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (out->size() >= kMaxDecompressedBytes) {
      inflateEnd(&z);
      return TooBig();
    }
    const size_t at = out->size();
    out->resize(at + kChunk);
    z.next_out = out->data() + at;
    z.avail_out = kChunk;
    rc = inflate(&z, Z_NO_FLUSH);
    out->resize(at + kChunk - z.avail_out);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      return Status::Corruption(std::string("gzip: ") + (z.msg ? z.msg : "bad stream"));
    }
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
      inflateEnd(&z);
      return Status::Corruption("gzip: truncated stream");
    }
  }
  inflateEnd(&z);
  return Status::OK();
}

Status SnappyRaw(std::span<const uint8_t> in, std::vector<uint8_t>* out) {
  size_t n = 0;
  const char* p = reinterpret_cast<const char*>(in.data());
  if (!snappy::GetUncompressedLength(p, in.size(), &n)) return Status::Corruption("snappy: bad block");
  if (out->size() + n > kMaxDecompressedBytes) return TooBig();
  const size_t at = out->size();
  out->resize(at + n);
  if (!snappy::RawUncompress(p, in.size(), reinterpret_cast<char*>(out->data() + at))) {
    return Status::Corruption("snappy: bad block");
  }
  return Status::OK();
}

Status Unsnappy(std::span<const uint8_t> in, std::vector<uint8_t>* out) {
  if (in.size() < kXerialHeader || std::memcmp(in.data(), kXerialMagic, sizeof(kXerialMagic)) != 0) {
    return SnappyRaw(in, out);
  }
  size_t pos = kXerialHeader;
  while (pos < in.size()) {
    if (in.size() - pos < 4) return Status::Corruption("snappy: truncated block length");
    const uint32_t len = GetU32(in.data() + pos);
    pos += 4;
    if (len > in.size() - pos) return Status::Corruption("snappy: truncated block");
    SENTRY_RETURN_IF_ERROR(SnappyRaw(in.subspan(pos, len), out));
    pos += len;
  }
  return Status::OK();
}

Status Unlz4(std::span<const uint8_t> in, std::vector<uint8_t>* out) {
  LZ4F_dctx* ctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&ctx, LZ4F_VERSION))) {
    return Status::Corruption("lz4: cannot create a context");
  }
  size_t pos = 0;
  size_t hint = 1;
  Status s;
  while (hint != 0) {
    if (out->size() >= kMaxDecompressedBytes) {
      s = TooBig();
      break;
    }
    if (pos == in.size()) {
      s = Status::Corruption("lz4: truncated frame");
      break;
    }
    const size_t at = out->size();
    out->resize(at + kChunk);
    size_t dst = kChunk;
    size_t src = in.size() - pos;
    hint = LZ4F_decompress(ctx, out->data() + at, &dst, in.data() + pos, &src, nullptr);
    out->resize(at + dst);
    pos += src;
    if (LZ4F_isError(hint)) {
      s = Status::Corruption(std::string("lz4: ") + LZ4F_getErrorName(hint));
      break;
    }
  }
  LZ4F_freeDecompressionContext(ctx);
  return s;
}

Status Unzstd(std::span<const uint8_t> in, std::vector<uint8_t>* out) {
  ZSTD_DStream* ds = ZSTD_createDStream();
  if (!ds) return Status::Corruption("zstd: cannot create a context");
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  size_t rc = 1;
  Status s;
  while (rc != 0) {
    if (out->size() >= kMaxDecompressedBytes) {
      s = TooBig();
      break;
    }
    const size_t at = out->size();
    out->resize(at + kChunk);
    ZSTD_outBuffer ob{out->data() + at, kChunk, 0};
    const size_t before = ib.pos;
    rc = ZSTD_decompressStream(ds, &ob, &ib);
    out->resize(at + ob.pos);
    if (ZSTD_isError(rc)) {
      s = Status::Corruption(std::string("zstd: ") + ZSTD_getErrorName(rc));
      break;
    }
    if (rc != 0 && ib.pos == in.size() && ib.pos == before && ob.pos == 0) {
      s = Status::Corruption("zstd: truncated frame");
      break;
    }
  }
  ZSTD_freeDStream(ds);
  return s;
}

}  // namespace

Status Decompress(int codec, std::span<const uint8_t> in, std::vector<uint8_t>* out) {
  out->clear();
  switch (codec) {
    case kGzip: return Gunzip(in, out);
    case kSnappy: return Unsnappy(in, out);
    case kLz4: return Unlz4(in, out);
    case kZstd: return Unzstd(in, out);
    default: return Status::NotSupported("compression type " + std::to_string(codec));
  }
}

Status DecodeBatchRecords(const uint8_t* batch, size_t size, std::vector<DecodedRecord>* out,
                          std::vector<uint8_t>* scratch) {
  RecordBatchView view;
  SENTRY_RETURN_IF_ERROR(RecordBatchView::Parse(batch, size, &view, /*verify_crc=*/false));
  if (view.compression() == 0) return DecodeRecords(batch, size, out);
  const std::span<const uint8_t> body(batch + batch_layout::kHeaderSize,
                                      view.TotalSize() - batch_layout::kHeaderSize);
  SENTRY_RETURN_IF_ERROR(Decompress(view.compression(), body, scratch));
  return DecodeRecordsBody(view, *scratch, out);
}

}  // namespace sentry
