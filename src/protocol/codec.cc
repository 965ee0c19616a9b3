#include "protocol/codec.h"

#include <cstring>

namespace sentry::protocol {

bool ByteReader::String(std::string_view* v) {
  uint16_t n;
  if (!U16(&n) || !Fixed(n)) return false;
  *v = std::string_view(reinterpret_cast<const char*>(p_ - n), n);
  return true;
}

bool ByteReader::String(std::string* v) {
  std::string_view sv;
  if (!String(&sv)) return false;
  v->assign(sv);
  return true;
}

bool ByteReader::Bytes(std::optional<std::span<const uint8_t>>* v) {
  int32_t n;
  if (!I32(&n)) return false;
  if (n == -1) {
    *v = std::nullopt;
    return true;
  }
  if (n < 0 || !Fixed(static_cast<size_t>(n))) return ok_ = false;
  *v = std::span<const uint8_t>(p_ - n, static_cast<size_t>(n));
  return true;
}

bool ByteReader::ArrayCount(int32_t* n, size_t min_elem_bytes) {
  if (!I32(n)) return false;
  if (*n < 0 || (min_elem_bytes && static_cast<size_t>(*n) > remaining() / min_elem_bytes)) {
    return ok_ = false;
  }
  return true;
}

void ByteWriter::String(std::string_view s) {
  U16(static_cast<uint16_t>(s.size()));
  Raw(s.data(), s.size());
}

void ByteWriter::Bytes(std::optional<std::span<const uint8_t>> b) {
  if (!b) {
    I32(-1);
    return;
  }
  I32(static_cast<int32_t>(b->size()));
  Raw(b->data(), b->size());
}

void ByteWriter::Raw(const void* p, size_t n) {
  if (n) std::memcpy(Grow(n), p, n);
}

size_t BeginResponse(ByteWriter* w, const RequestHeader& h, int16_t error_code) {
  size_t start = w->size();
  w->U32(0);
  w->U16(h.api_key);
  w->U16(h.api_version);
  w->U32(h.correlation_id);
  w->I16(error_code);
  return start;
}

size_t BeginRequest(ByteWriter* w, const RequestHeader& h) {
  size_t start = w->size();
  w->U32(0);
  w->U16(h.api_key);
  w->U16(h.api_version);
  w->U32(h.correlation_id);
  return start;
}

void FinishFrame(ByteWriter* w, size_t start, size_t extra) {
  PutU32(w->buffer()->data() + start,
         static_cast<uint32_t>(w->size() - start - kLengthBytes + extra));
}

}  // namespace sentry::protocol
