// The native protocol's frame layout, byte for byte (docs/protocol.md,
// "Framing"). Every reader and writer of a frame header uses these offsets;
// the static_asserts tie them to the diagram.
//
//   frame           = | length u32 | header | body |   length = bytes after itself
//   request header  = | api_key u16 | api_version u16 | correlation_id u32 |
//   response header = | api_key u16 | api_version u16 | correlation_id u32 | error_code i16 |
//
// The 4-byte big-endian length prefix is shared with the Kafka protocol, so
// the network layer (which knows no wire format) uses only that part.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/endian.h"

namespace sentry::protocol::frame_layout {

constexpr size_t kLengthOffset = 0;
constexpr size_t kLengthBytes = 4;

// Offsets inside a header, counted from the first byte after the length.
constexpr size_t kApiKeyOffset = 0;
constexpr size_t kApiVersionOffset = 2;
constexpr size_t kCorrelationIdOffset = 4;
constexpr size_t kRequestHeaderBytes = 8;
constexpr size_t kErrorCodeOffset = 8;  // response only
constexpr size_t kResponseHeaderBytes = 10;

static_assert(kApiVersionOffset == kApiKeyOffset + sizeof(uint16_t));
static_assert(kCorrelationIdOffset == kApiVersionOffset + sizeof(uint16_t));
static_assert(kRequestHeaderBytes == kCorrelationIdOffset + sizeof(uint32_t));
static_assert(kErrorCodeOffset == kRequestHeaderBytes);
static_assert(kResponseHeaderBytes == kErrorCodeOffset + sizeof(int16_t));

// `p` points at the length prefix.
inline uint32_t FrameLength(const uint8_t* p) { return GetU32(p + kLengthOffset); }

}  // namespace sentry::protocol::frame_layout

namespace sentry::protocol {
// The fields every request header carries (and a response header echoes).
struct RequestHeader {
  uint16_t api_key = 0;
  uint16_t api_version = 0;
  uint32_t correlation_id = 0;
};
}  // namespace sentry::protocol

namespace sentry::protocol::frame_layout {

// `h` points at the header (just after the length).
inline RequestHeader ReadHeader(const uint8_t* h) {
  return {GetU16(h + kApiKeyOffset), GetU16(h + kApiVersionOffset),
          GetU32(h + kCorrelationIdOffset)};
}
inline int16_t ReadErrorCode(const uint8_t* h) { return GetI16(h + kErrorCodeOffset); }

}  // namespace sentry::protocol::frame_layout
