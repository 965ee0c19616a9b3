// Kafka request and response headers, and the framing of a response.
//
//  request header v1: api_key i16, api_version i16, correlation_id i32,
//                     client_id nullable string (i16 length, never compact)
//  request header v2: v1 + tagged fields          (flexible API versions)
//  response header v0: correlation_id i32
//  response header v1: v0 + tagged fields         (flexible API versions,
//                                                   except ApiVersions: v0)
//
// Any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "kafka/wire.h"

namespace sentry::kafka {

constexpr int16_t kApiVersionsKey = 18;

struct RequestHeader {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::optional<std::string_view> client_id;
};

// Reads the fixed part (api key, version, correlation id): 8 bytes.
bool ReadHeaderStart(Reader& r, RequestHeader* h);
// Reads the rest: the client id and, for a flexible request, its tags.
bool ReadHeaderRest(Reader& r, bool flexible, RequestHeader* h);

// Whether `version` of `api_key` uses the flexible (v2/v1) headers; false for
// an API this broker does not serve.
bool IsFlexible(int16_t api_key, int16_t version);

// Starts a response frame: a length placeholder and the response header.
// Returns the frame's start, for FinishResponse.
size_t BeginResponse(Writer& w, int32_t correlation_id, bool flexible_header);
// Patches the frame length (payload bytes handed off included).
void FinishResponse(Writer& w, size_t start, size_t payload_bytes_before);

}  // namespace sentry::kafka
