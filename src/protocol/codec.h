// Bounds-checked big-endian readers and writers for protocol bodies.
//
//  frame and header layout: protocol/frame_layout.h
//  string   = u16 length, UTF-8 bytes     bytes = i32 length (-1 = null), raw bytes
//  array[T] = i32 count, T...
//
// ByteReader never reads past its end: every getter returns false once the
// body ended early, and the reader stays failed. Any thread; not shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/endian.h"
#include "protocol/frame_layout.h"

namespace sentry::protocol {

constexpr size_t kLengthBytes = frame_layout::kLengthBytes;
constexpr size_t kRequestHeaderBytes = frame_layout::kRequestHeaderBytes;
constexpr size_t kResponseHeaderBytes = frame_layout::kResponseHeaderBytes;

// RequestHeader: frame_layout.h.

class ByteReader {
 public:
  ByteReader(const uint8_t* p, size_t n) : p_(p), end_(p + n) {}
  explicit ByteReader(std::span<const uint8_t> s) : ByteReader(s.data(), s.size()) {}

  bool ok() const { return ok_; }
  size_t remaining() const { return ok_ ? static_cast<size_t>(end_ - p_) : 0; }
  // True when everything was read and nothing is left over.
  bool Done() const { return ok_ && p_ == end_; }

  bool I8(int8_t* v) { return Fixed(1) && (*v = static_cast<int8_t>(p_[-1]), true); }
  bool U16(uint16_t* v) { return Fixed(2) && (*v = GetU16(p_ - 2), true); }
  bool I16(int16_t* v) { return Fixed(2) && (*v = GetI16(p_ - 2), true); }
  bool U32(uint32_t* v) { return Fixed(4) && (*v = GetU32(p_ - 4), true); }
  bool I32(int32_t* v) { return Fixed(4) && (*v = GetI32(p_ - 4), true); }
  bool I64(int64_t* v) { return Fixed(8) && (*v = GetI64(p_ - 8), true); }
  bool String(std::string_view* v);
  bool String(std::string* v);
  // bytes; nullopt for length -1.
  bool Bytes(std::optional<std::span<const uint8_t>>* v);
  // Array count, checked against the bytes left (each element >= min_elem_bytes).
  bool ArrayCount(int32_t* n, size_t min_elem_bytes);

 private:
  bool Fixed(size_t n) {
    if (!ok_ || static_cast<size_t>(end_ - p_) < n) return ok_ = false;
    p_ += n;
    return true;
  }
  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
};

class ByteWriter {
 public:
  explicit ByteWriter(std::vector<uint8_t>* out) : out_(out) {}
  void I8(int8_t v) { out_->push_back(static_cast<uint8_t>(v)); }
  void U16(uint16_t v) { PutU16(Grow(2), v); }
  void I16(int16_t v) { PutI16(Grow(2), v); }
  void U32(uint32_t v) { PutU32(Grow(4), v); }
  void I32(int32_t v) { PutI32(Grow(4), v); }
  void I64(int64_t v) { PutI64(Grow(8), v); }
  void String(std::string_view s);
  void Bytes(std::optional<std::span<const uint8_t>> b);
  // Length prefix of a bytes field whose payload is sent separately (writev).
  void BytesLength(int32_t n) { I32(n); }
  void Raw(const void* p, size_t n);
  size_t size() const { return out_->size(); }
  std::vector<uint8_t>* buffer() { return out_; }

 private:
  uint8_t* Grow(size_t n) {
    size_t at = out_->size();
    out_->resize(at + n);
    return out_->data() + at;
  }
  std::vector<uint8_t>* out_;
};

// Starts a frame (length placeholder + response header); returns its start.
size_t BeginResponse(ByteWriter* w, const RequestHeader& h, int16_t error_code);
size_t BeginRequest(ByteWriter* w, const RequestHeader& h);
// Patches the length of the frame started at `start`; `extra` counts payload
// bytes that follow in separate buffers (writev).
void FinishFrame(ByteWriter* w, size_t start, size_t extra = 0);

}  // namespace sentry::protocol
