#include "kafka/wire.h"

#include <bit>
#include <cstring>
#include <limits>

namespace sentry::kafka {

// --- Reader ---

bool Reader::Bool(bool* v) {
  int8_t b = 0;
  if (!Int8(&b)) return false;
  *v = b != 0;
  return true;
}

bool Reader::Float64(double* v) {
  int64_t bits = 0;
  if (!Int64(&bits)) return false;
  *v = std::bit_cast<double>(bits);
  return true;
}

bool Reader::UuidValue(Uuid* v) {
  if (!Fixed(16)) return false;
  std::memcpy(v->bytes.data(), p_ - 16, 16);
  return true;
}

bool Reader::UnsignedVarint(uint32_t* v) {
  uint32_t value = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (!Fixed(1)) return false;
    const uint8_t b = p_[-1];
    if (shift == 28 && (b & 0xF0) != 0) return Fail();  // more than 32 bits
    value |= static_cast<uint32_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) {
      *v = value;
      return true;
    }
  }
  return Fail();
}

bool Reader::Length(bool flex, bool wide, int32_t* n) {
  if (flex) {
    uint32_t u = 0;
    if (!UnsignedVarint(&u)) return false;
    if (u > static_cast<uint32_t>(std::numeric_limits<int32_t>::max())) return Fail();
    *n = static_cast<int32_t>(u) - 1;
    return true;
  }
  if (wide) return Int32(n);
  int16_t s = 0;
  if (!Int16(&s)) return false;
  *n = s;
  return true;
}

bool Reader::Take(int32_t n, std::span<const uint8_t>* out) {
  if (n < 0) return Fail();
  if (!Fixed(static_cast<size_t>(n))) return false;
  *out = {p_ - n, static_cast<size_t>(n)};
  return true;
}

bool Reader::String(bool flex, std::string_view* v) {
  std::optional<std::string_view> s;
  if (!NullableString(flex, &s)) return false;
  if (!s) return Fail();
  *v = *s;
  return true;
}

bool Reader::String(bool flex, std::string* v) {
  std::string_view s;
  if (!String(flex, &s)) return false;
  v->assign(s);
  return true;
}

bool Reader::NullableString(bool flex, std::optional<std::string_view>* v) {
  int32_t n = 0;
  if (!Length(flex, /*wide=*/false, &n)) return false;
  if (n == -1) {
    v->reset();
    return true;
  }
  std::span<const uint8_t> b;
  if (!Take(n, &b)) return false;
  *v = std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
  return true;
}

bool Reader::NullableString(bool flex, std::optional<std::string>* v) {
  std::optional<std::string_view> s;
  if (!NullableString(flex, &s)) return false;
  if (s) {
    *v = std::string(*s);
  } else {
    v->reset();
  }
  return true;
}

bool Reader::NullableBytes(bool flex, std::optional<std::span<const uint8_t>>* v) {
  int32_t n = 0;
  if (!Length(flex, /*wide=*/true, &n)) return false;
  if (n == -1) {
    v->reset();
    return true;
  }
  std::span<const uint8_t> b;
  if (!Take(n, &b)) return false;
  *v = b;
  return true;
}

bool Reader::NullableBytes(bool flex, std::optional<std::vector<uint8_t>>* v) {
  std::optional<std::span<const uint8_t>> b;
  if (!NullableBytes(flex, &b)) return false;
  if (b) {
    *v = std::vector<uint8_t>(b->begin(), b->end());
  } else {
    v->reset();
  }
  return true;
}

bool Reader::Bytes(bool flex, std::span<const uint8_t>* v) {
  std::optional<std::span<const uint8_t>> b;
  if (!NullableBytes(flex, &b)) return false;
  if (!b) return Fail();
  *v = *b;
  return true;
}

bool Reader::Bytes(bool flex, std::vector<uint8_t>* v) {
  std::span<const uint8_t> b;
  if (!Bytes(flex, &b)) return false;
  v->assign(b.begin(), b.end());
  return true;
}

bool Reader::NullableRecords(bool flex, std::optional<Records>* v) {
  std::optional<std::span<const uint8_t>> b;
  if (!NullableBytes(flex, &b)) return false;
  if (b) {
    *v = Records{*b, nullptr};
  } else {
    v->reset();
  }
  return true;
}

bool Reader::ArrayLength(bool flex, bool nullable, int32_t* n) {
  if (!Length(flex, /*wide=*/true, n)) return false;
  if (*n == -1) return nullable || Fail();
  if (*n < 0 || static_cast<size_t>(*n) > remaining()) return Fail();
  return true;
}

bool Reader::SkipTaggedFields() {
  uint32_t count = 0;
  if (!UnsignedVarint(&count)) return false;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t tag = 0;
    uint32_t size = 0;
    if (!UnsignedVarint(&tag) || !UnsignedVarint(&size)) return false;
    if (!Fixed(size)) return false;
  }
  return true;
}

// --- Writer ---

void Writer::Float64(double v) { Int64(std::bit_cast<int64_t>(v)); }

void Writer::UuidValue(const Uuid& v) { Raw(v.bytes); }

void Writer::UnsignedVarint(uint32_t v) {
  while (v >= 0x80) {
    out_->push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out_->push_back(static_cast<uint8_t>(v));
}

void Writer::Raw(std::span<const uint8_t> b) {
  if (!b.empty()) std::memcpy(Grow(b.size()), b.data(), b.size());
}

void Writer::Length(bool flex, bool wide, int32_t n) {
  if (flex) {
    UnsignedVarint(static_cast<uint32_t>(n + 1));
  } else if (wide) {
    Int32(n);
  } else {
    Int16(static_cast<int16_t>(n));
  }
}

void Writer::String(bool flex, std::string_view s) {
  Length(flex, /*wide=*/false, static_cast<int32_t>(s.size()));
  Raw({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

void Writer::NullableString(bool flex, const std::optional<std::string_view>& s) {
  if (!s) {
    Length(flex, /*wide=*/false, -1);
    return;
  }
  String(flex, *s);
}

void Writer::NullableString(bool flex, const std::optional<std::string>& s) {
  if (!s) {
    Length(flex, /*wide=*/false, -1);
    return;
  }
  String(flex, *s);
}

void Writer::Bytes(bool flex, std::span<const uint8_t> b) {
  Length(flex, /*wide=*/true, static_cast<int32_t>(b.size()));
  Raw(b);
}

void Writer::NullableBytes(bool flex, const std::optional<std::span<const uint8_t>>& b) {
  if (!b) {
    Length(flex, /*wide=*/true, -1);
    return;
  }
  Bytes(flex, *b);
}

void Writer::NullableBytes(bool flex, const std::optional<std::vector<uint8_t>>& b) {
  if (!b) {
    Length(flex, /*wide=*/true, -1);
    return;
  }
  Bytes(flex, *b);
}

void Writer::NullableRecords(bool flex, const std::optional<Records>& r) {
  if (!r) {
    Length(flex, /*wide=*/true, -1);
    return;
  }
  Length(flex, /*wide=*/true, static_cast<int32_t>(r->data.size()));
  if (payload_ && !r->data.empty()) {
    payload_(r->data, r->hold);
    payload_bytes_ += r->data.size();
  } else {
    Raw(r->data);
  }
}

void Writer::ArrayLength(bool flex, int32_t n) { Length(flex, /*wide=*/true, n); }

}  // namespace sentry::kafka
