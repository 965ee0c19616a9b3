#include "kafka/header.h"

#include "common/endian.h"
#include "kafka/messages.h"

namespace sentry::kafka {

bool ReadHeaderStart(Reader& r, RequestHeader* h) {
  return r.Int16(&h->api_key) && r.Int16(&h->api_version) && r.Int32(&h->correlation_id);
}

bool ReadHeaderRest(Reader& r, bool flexible, RequestHeader* h) {
  if (!r.NullableString(/*flex=*/false, &h->client_id)) return false;
  return !flexible || r.SkipTaggedFields();
}

bool IsFlexible(int16_t api_key, int16_t version) {
  const ApiRange* a = FindApi(api_key);
  return a && version >= a->first_flexible_version;
}

size_t BeginResponse(Writer& w, int32_t correlation_id, bool flexible_header) {
  const size_t start = w.buffer()->size();
  w.Int32(0);  // length, patched by FinishResponse
  w.Int32(correlation_id);
  if (flexible_header) w.EmptyTaggedFields();
  return start;
}

void FinishResponse(Writer& w, size_t start, size_t payload_bytes_before) {
  const size_t payload = w.payload_bytes() - payload_bytes_before;
  const size_t len = w.buffer()->size() - start - 4 + payload;
  PutU32(w.buffer()->data() + start, static_cast<uint32_t>(len));
}

}  // namespace sentry::kafka
