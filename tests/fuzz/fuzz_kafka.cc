// Fuzz target: the Kafka request path before any broker logic: the request
// header, then the body decoder of whatever API key and version it names
// (every served API and version). A decoder must never read out of bounds
// or allocate without bound, and what it accepts must encode to a fixed
// point: encode(decode(encode(decode(x)))) == encode(decode(x)) (exact
// equality with the input does not hold, tagged fields are dropped).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "kafka/header.h"
#include "kafka/messages.h"

using namespace sentry::kafka;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Reader r(std::span<const uint8_t>(data, size));
  RequestHeader h;
  if (!ReadHeaderStart(r, &h)) return 0;
  if (!ReadHeaderRest(r, IsFlexible(h.api_key, h.api_version), &h)) return 0;
  const size_t header = r.consumed_from(data);
  std::vector<uint8_t> once;
  if (!DecodeAnyRequest(h.api_key, h.api_version, {data + header, size - header}, &once)) {
    return 0;
  }
  std::vector<uint8_t> twice;
  if (!DecodeAnyRequest(h.api_key, h.api_version, once, &twice) || twice != once) std::abort();
  return 0;
}
