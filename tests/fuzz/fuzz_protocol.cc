// Fuzz target: every request and response body decoder. The first input byte
// picks the message type; the rest is the body. A decoder must never read out
// of bounds, and a body it accepts must re-encode to the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "protocol/group_messages.h"
#include "protocol/messages.h"

using namespace sentry::protocol;

namespace {
template <typename M>
void RoundTrip(const uint8_t* data, size_t size) {
  M m;
  ByteReader r(data, size);
  if (!Decode(&r, &m)) return;
  std::vector<uint8_t> out;
  ByteWriter w(&out);
  Encode(&w, m);
  if (out.size() != size || std::memcmp(out.data(), data, size) != 0) std::abort();
}
template <typename M>
void DecodeOnly(const uint8_t* data, size_t size) {
  M m;
  ByteReader r(data, size);
  (void)Decode(&r, &m);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t kind = data[0] % 22;
  ++data;
  --size;
  switch (kind) {
    case 0: RoundTrip<ProduceRequest>(data, size); break;
    case 1: RoundTrip<FetchRequest>(data, size); break;
    case 2: RoundTrip<ListOffsetsRequest>(data, size); break;
    case 3: RoundTrip<MetadataRequest>(data, size); break;
    case 4: RoundTrip<CreateTopicRequest>(data, size); break;
    case 5: RoundTrip<DeleteTopicRequest>(data, size); break;
    case 6: RoundTrip<OffsetCommitRequest>(data, size); break;
    case 7: RoundTrip<OffsetFetchRequest>(data, size); break;
    case 8: DecodeOnly<ApiVersionsResponse>(data, size); break;
    case 9: DecodeOnly<ProduceResponse>(data, size); break;
    case 10: DecodeOnly<FetchResponse>(data, size); break;
    case 11: DecodeOnly<ListOffsetsResponse>(data, size); break;
    case 12: DecodeOnly<MetadataResponse>(data, size); break;
    case 13: DecodeOnly<OffsetFetchResponse>(data, size); break;
    case 14: RoundTrip<ConsumerGroupHeartbeatRequest>(data, size); break;
    case 15: RoundTrip<DescribeGroupRequest>(data, size); break;
    case 16: DecodeOnly<ConsumerGroupHeartbeatResponse>(data, size); break;
    case 17: DecodeOnly<ListGroupsResponse>(data, size); break;
    case 18: DecodeOnly<DescribeGroupResponse>(data, size); break;
    case 19: RoundTrip<AuthenticateRequest>(data, size); break;
    case 20: DecodeOnly<AuthenticateResponse>(data, size); break;
    case 21: DecodeOnly<SaslMechanisms>(data, size); break;
  }
  return 0;
}
