// Kafka's primitive wire types: big-endian fixed-width integers, unsigned
// varints, strings/bytes/arrays in their classic (int16/int32 length) and
// compact (uvarint length + 1) forms, UUIDs and tagged-field sections.
// The generated message codecs (kafka/messages.h) are written in terms of
// these; docs/kafka.md describes the encodings.
//
// Reader never reads past its end: once anything is short or malformed every
// later call fails too. Writer appends to a vector; `records` fields can be
// diverted to a payload callback so fetched batches go out zero-copy.
// Any thread; neither is shared.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/endian.h"

namespace sentry::kafka {

struct Uuid {
  std::array<uint8_t, 16> bytes{};
  bool operator==(const Uuid&) const = default;
  bool IsZero() const { return *this == Uuid{}; }
};

// A records field: one or more RecordBatch v2, viewed in place. `hold`
// keeps the memory alive when it is a mapped segment (zero copy).
struct Records {
  std::span<const uint8_t> data;
  std::shared_ptr<const void> hold;
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> s) : p_(s.data()), end_(s.data() + s.size()) {}

  bool ok() const { return ok_; }
  size_t remaining() const { return ok_ ? static_cast<size_t>(end_ - p_) : 0; }
  bool Done() const { return ok_ && p_ == end_; }
  size_t consumed_from(const uint8_t* start) const { return static_cast<size_t>(p_ - start); }
  const uint8_t* position() const { return p_; }
  bool Fail() { return ok_ = false; }

  bool Int8(int8_t* v) { return Fixed(1) && (*v = static_cast<int8_t>(p_[-1]), true); }
  bool Int16(int16_t* v) { return Fixed(2) && (*v = GetI16(p_ - 2), true); }
  bool Uint16(uint16_t* v) { return Fixed(2) && (*v = GetU16(p_ - 2), true); }
  bool Int32(int32_t* v) { return Fixed(4) && (*v = GetI32(p_ - 4), true); }
  bool Int64(int64_t* v) { return Fixed(8) && (*v = GetI64(p_ - 8), true); }
  bool Bool(bool* v);
  bool Float64(double* v);
  bool UuidValue(Uuid* v);
  bool UnsignedVarint(uint32_t* v);

  // Strings and bytes: compact forms when `flex`. The nullable readers set
  // nullopt for a null; the others refuse one.
  bool String(bool flex, std::string_view* v);
  bool String(bool flex, std::string* v);
  bool NullableString(bool flex, std::optional<std::string_view>* v);
  bool NullableString(bool flex, std::optional<std::string>* v);
  bool Bytes(bool flex, std::span<const uint8_t>* v);
  bool Bytes(bool flex, std::vector<uint8_t>* v);
  bool NullableBytes(bool flex, std::optional<std::span<const uint8_t>>* v);
  bool NullableBytes(bool flex, std::optional<std::vector<uint8_t>>* v);
  bool NullableRecords(bool flex, std::optional<Records>* v);
  // An array's element count; -1 for null (only when `nullable`). Never more
  // than the bytes left, so a hostile count cannot make us allocate.
  bool ArrayLength(bool flex, bool nullable, int32_t* n);
  // A tagged-field section: every field skipped.
  bool SkipTaggedFields();

 private:
  bool Fixed(size_t n) {
    if (!ok_ || static_cast<size_t>(end_ - p_) < n) return ok_ = false;
    p_ += n;
    return true;
  }
  // Length of a string/bytes field: -1 = null.
  bool Length(bool flex, bool wide, int32_t* n);
  bool Take(int32_t n, std::span<const uint8_t>* out);

  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
};

class Writer {
 public:
  // Receives a records payload instead of copying it (zero copy): the
  // caller sends it after the bytes written so far.
  using PayloadFn =
      std::function<void(std::span<const uint8_t>, const std::shared_ptr<const void>&)>;

  explicit Writer(std::vector<uint8_t>* out, PayloadFn payload = nullptr)
      : out_(out), payload_(std::move(payload)) {}

  void Int8(int8_t v) { out_->push_back(static_cast<uint8_t>(v)); }
  void Int16(int16_t v) { PutI16(Grow(2), v); }
  void Uint16(uint16_t v) { PutU16(Grow(2), v); }
  void Int32(int32_t v) { PutI32(Grow(4), v); }
  void Int64(int64_t v) { PutI64(Grow(8), v); }
  void Bool(bool v) { Int8(v ? 1 : 0); }
  void Float64(double v);
  void UuidValue(const Uuid& v);
  void UnsignedVarint(uint32_t v);

  void String(bool flex, std::string_view s);
  void NullableString(bool flex, const std::optional<std::string_view>& s);
  void NullableString(bool flex, const std::optional<std::string>& s);
  void Bytes(bool flex, std::span<const uint8_t> b);
  void NullableBytes(bool flex, const std::optional<std::span<const uint8_t>>& b);
  void NullableBytes(bool flex, const std::optional<std::vector<uint8_t>>& b);
  void NullableRecords(bool flex, const std::optional<Records>& r);
  void ArrayLength(bool flex, int32_t n);  // -1 = null
  void EmptyTaggedFields() { UnsignedVarint(0); }

  // Bytes written to the vector plus payload bytes handed off.
  size_t size() const { return out_->size() + payload_bytes_; }
  size_t payload_bytes() const { return payload_bytes_; }
  std::vector<uint8_t>* buffer() { return out_; }

 private:
  uint8_t* Grow(size_t n) {
    const size_t at = out_->size();
    out_->resize(at + n);
    return out_->data() + at;
  }
  void Length(bool flex, bool wide, int32_t n);
  void Raw(std::span<const uint8_t> b);

  std::vector<uint8_t>* out_;
  PayloadFn payload_;
  size_t payload_bytes_ = 0;
};

}  // namespace sentry::kafka
