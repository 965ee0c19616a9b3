// The Kafka wire primitives and the generated message codecs: encodings of
// each primitive, hostile input, round trips of every served API at every
// version, and real clients' captured requests (tests/kafka/golden).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "kafka/header.h"
#include "kafka/messages.h"
#include "kafka/wire.h"

namespace sentry::kafka {
namespace {

std::vector<uint8_t> Bytes(std::initializer_list<int> v) {
  std::vector<uint8_t> out;
  for (int b : v) out.push_back(static_cast<uint8_t>(b));
  return out;
}

TEST(KafkaWireTest, UnsignedVarintEncodings) {
  for (uint32_t v : {0u, 1u, 127u, 128u, 300u, 16383u, 16384u, 0xFFFFFFFFu}) {
    std::vector<uint8_t> buf;
    Writer w(&buf);
    w.UnsignedVarint(v);
    Reader r(buf);
    uint32_t got = 0;
    ASSERT_TRUE(r.UnsignedVarint(&got));
    EXPECT_EQ(got, v);
    EXPECT_TRUE(r.Done());
  }
  std::vector<uint8_t> buf;
  Writer w(&buf);
  w.UnsignedVarint(300);
  EXPECT_EQ(buf, Bytes({0xAC, 0x02}));
}

TEST(KafkaWireTest, VarintLongerThan32BitsIsRefused) {
  auto b = Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x7F});
  Reader r(b);
  uint32_t v = 0;
  EXPECT_FALSE(r.UnsignedVarint(&v));
  auto endless = Bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80});
  Reader r2(endless);
  EXPECT_FALSE(r2.UnsignedVarint(&v));
}

TEST(KafkaWireTest, StringsClassicAndCompact) {
  std::vector<uint8_t> buf;
  Writer w(&buf);
  w.String(false, "ab");
  w.String(true, "ab");
  w.NullableString(false, std::optional<std::string_view>());
  w.NullableString(true, std::optional<std::string_view>());
  EXPECT_EQ(buf, Bytes({0, 2, 'a', 'b', 3, 'a', 'b', 0xFF, 0xFF, 0}));
  Reader r(buf);
  std::string_view s;
  std::optional<std::string_view> n;
  ASSERT_TRUE(r.String(false, &s));
  EXPECT_EQ(s, "ab");
  ASSERT_TRUE(r.String(true, &s));
  EXPECT_EQ(s, "ab");
  ASSERT_TRUE(r.NullableString(false, &n));
  EXPECT_FALSE(n);
  // A null where the field is not nullable is malformed.
  EXPECT_FALSE(r.String(true, &s));
}

TEST(KafkaWireTest, LengthsPastTheEndAndHostileArrayCountsFail) {
  auto b = Bytes({0, 9, 'a'});  // string claims 9 bytes, has 1
  Reader r(b);
  std::string_view s;
  EXPECT_FALSE(r.String(false, &s));
  EXPECT_FALSE(r.ok());
  auto a = Bytes({0x7F, 0xFF, 0xFF, 0xFF});  // 2^31-1 elements in 0 bytes
  Reader ra(a);
  int32_t n = 0;
  EXPECT_FALSE(ra.ArrayLength(false, false, &n));
  auto null_array = Bytes({0xFF, 0xFF, 0xFF, 0xFF});
  Reader rn(null_array);
  EXPECT_FALSE(rn.ArrayLength(false, /*nullable=*/false, &n));
  Reader rn2(null_array);
  ASSERT_TRUE(rn2.ArrayLength(false, /*nullable=*/true, &n));
  EXPECT_EQ(n, -1);
}

TEST(KafkaWireTest, TaggedFieldsAreSkipped) {
  // Two tagged fields (tag 0: 2 bytes, tag 5: 1 byte), then an int16.
  auto b = Bytes({2, 0, 2, 0xAA, 0xBB, 5, 1, 0xCC, 0x01, 0x02});
  Reader r(b);
  ASSERT_TRUE(r.SkipTaggedFields());
  int16_t v = 0;
  ASSERT_TRUE(r.Int16(&v));
  EXPECT_EQ(v, 0x0102);
  auto short_tag = Bytes({1, 0, 5, 0xAA});
  Reader rs(short_tag);
  EXPECT_FALSE(rs.SkipTaggedFields());
}

TEST(KafkaHeaderTest, FlexibleRequestHeaderHasTagsAfterTheClassicClientId) {
  // Metadata v12 (flexible): header v2. The client id stays an int16 string.
  auto b = Bytes({0, 3, 0, 12, 0, 0, 0, 7, 0, 1, 'c', 0});
  Reader r(b);
  RequestHeader h;
  ASSERT_TRUE(ReadHeaderStart(r, &h));
  EXPECT_EQ(h.api_key, 3);
  EXPECT_EQ(h.api_version, 12);
  EXPECT_EQ(h.correlation_id, 7);
  ASSERT_TRUE(ReadHeaderRest(r, IsFlexible(h.api_key, h.api_version), &h));
  EXPECT_EQ(h.client_id, "c");
  EXPECT_TRUE(r.Done());
  EXPECT_FALSE(IsFlexible(3, 8));
  EXPECT_TRUE(IsFlexible(18, 3));
  EXPECT_FALSE(IsFlexible(57, 0));  // not served
}

TEST(KafkaHeaderTest, ResponseFrameLengthCountsPayloadsHandedOff) {
  std::vector<uint8_t> buf;
  std::vector<uint8_t> payload_sink;
  Writer w(&buf, [&](std::span<const uint8_t> d, const std::shared_ptr<const void>&) {
    payload_sink.insert(payload_sink.end(), d.begin(), d.end());
  });
  const size_t start = BeginResponse(w, 42, /*flexible_header=*/true);
  const std::vector<uint8_t> records(100, 7);
  w.NullableRecords(true, Records{records, nullptr});
  FinishResponse(w, start, 0);
  // length(4) corr(4) tags(1) compact length(1) + 100 bytes elsewhere
  EXPECT_EQ(buf.size(), 10u);
  EXPECT_EQ(payload_sink.size(), 100u);
  EXPECT_EQ(GetU32(buf.data()), 6u + 100u);
}

// --- round trips -----------------------------------------------------------

template <typename M>
std::vector<uint8_t> EncodeAt(const M& m, int16_t v) {
  std::vector<uint8_t> out;
  Writer w(&out);
  Encode(w, v, m);
  return out;
}

// Encodes at every version, decodes, re-encodes: the bytes must agree and
// the decoder must consume exactly what the encoder wrote.
template <typename M>
void RoundTripAllVersions(const M& m) {
  for (int16_t v = M::kMinVersion; v <= M::kMaxVersion; v++) {
    const auto first = EncodeAt(m, v);
    Reader r(first);
    M back;
    ASSERT_TRUE(Decode(r, v, &back)) << "version " << v;
    EXPECT_TRUE(r.Done()) << "version " << v;
    EXPECT_EQ(EncodeAt(back, v), first) << "version " << v;
    // Every strict prefix is malformed, never a crash or a success.
    for (size_t cut = 0; cut < first.size(); cut += std::max<size_t>(1, first.size() / 16)) {
      std::vector<uint8_t> prefix(first.begin(), first.begin() + static_cast<long>(cut));
      Reader rp(prefix);
      M partial;
      EXPECT_FALSE(Decode(rp, v, &partial) && rp.Done()) << "version " << v << " cut " << cut;
    }
  }
}

TEST(KafkaCodecTest, ProduceRoundTrips) {
  const std::vector<uint8_t> records(64, 0x5A);
  ProduceRequest req;
  req.transactional_id = std::nullopt;
  req.acks = -1;
  req.timeout_ms = 1500;
  req.topic_data.push_back({"orders", {{0, Records{records, nullptr}}, {3, std::nullopt}}});
  RoundTripAllVersions(req);
  ProduceResponse resp;
  resp.throttle_time_ms = 5;
  ProduceResponse::PartitionProduceResponse p;
  p.index = 2;
  p.base_offset = 1000;
  p.log_start_offset = 10;
  p.record_errors.push_back({1, std::string("bad")});
  p.error_message = "oops";
  resp.responses.push_back({"orders", {p}});
  RoundTripAllVersions(resp);
}

TEST(KafkaCodecTest, FetchRoundTrips) {
  FetchRequest req;
  req.max_wait_ms = 500;
  req.min_bytes = 1;
  req.isolation_level = 1;
  req.session_epoch = -1;
  req.topics.push_back({"t", {{0, 5, 100, -1, 0, 1 << 20}, {1, 5, 7, -1, 0, 4096}}});
  req.forgotten_topics_data.push_back({"u", {1, 2}});
  req.rack_id = "rack";
  RoundTripAllVersions(req);
  const std::vector<uint8_t> records(33, 1);
  FetchResponse resp;
  FetchResponse::PartitionData pd;
  pd.partition_index = 1;
  pd.high_watermark = 99;
  pd.aborted_transactions.emplace();
  pd.aborted_transactions->push_back({7, 8});
  pd.records = Records{records, nullptr};
  resp.responses.push_back({"t", {pd}});
  RoundTripAllVersions(resp);
}

TEST(KafkaCodecTest, MetadataRoundTrips) {
  MetadataRequest req;
  req.topics.emplace();
  MetadataRequest::MetadataRequestTopic t;
  t.name = "a";
  req.topics->push_back(t);
  RoundTripAllVersions(req);
  MetadataResponse resp;
  resp.brokers.push_back({0, "localhost", 9092, std::nullopt});
  resp.cluster_id = "c";
  resp.controller_id = 0;
  MetadataResponse::MetadataResponseTopic mt;
  mt.name = "a";
  mt.topic_id.bytes[0] = 9;
  mt.partitions.push_back({0, 0, 0, 0, {0}, {0}, {}});
  resp.topics.push_back(mt);
  RoundTripAllVersions(resp);
}

TEST(KafkaCodecTest, AdminAndOffsetsRoundTrip) {
  CreateTopicsRequest ct;
  CreateTopicsRequest::CreatableTopic topic;
  topic.name = "n";
  topic.num_partitions = 3;
  topic.replication_factor = 1;
  topic.configs.push_back({"retention.ms", std::string_view("5")});
  ct.topics.push_back(topic);
  RoundTripAllVersions(ct);
  DeleteTopicsRequest dt;
  dt.topic_names = {"x", "y"};
  dt.topics.push_back({std::string_view("x"), Uuid{}});
  RoundTripAllVersions(dt);
  ListOffsetsRequest lo;
  lo.topics.push_back({"t", {{0, -1, -2}}});
  RoundTripAllVersions(lo);
  OffsetCommitRequest oc;
  oc.group_id = "g";
  oc.member_id = "m";
  oc.topics.push_back({"t", {{0, 5, -1, -1, std::string_view("md")}}});
  RoundTripAllVersions(oc);
  OffsetFetchRequest of;
  of.group_id = "g";
  of.topics.emplace();
  of.topics->push_back({"t", {0, 1}});
  of.groups.push_back({"g", std::nullopt});
  RoundTripAllVersions(of);
  FindCoordinatorRequest fc;
  fc.key = "g";
  fc.coordinator_keys = {"g"};
  RoundTripAllVersions(fc);
  InitProducerIdRequest ip;
  ip.transaction_timeout_ms = 1;
  RoundTripAllVersions(ip);
  DescribeConfigsRequest dc;
  dc.resources.push_back({2, "t", std::vector<std::string_view>{"a"}});
  RoundTripAllVersions(dc);
  ApiVersionsRequest av;
  av.client_software_name = "x";
  av.client_software_version = "1";
  RoundTripAllVersions(av);
}

TEST(KafkaCodecTest, AdvertisedRangesMatchTheIssue) {
  // What docs/kafka.md promises; a change here is a change of the contract.
  struct Want {
    int16_t key, lo, hi;
  };
  const Want want[] = {{0, 0, 9},  {1, 4, 12}, {2, 1, 7},  {3, 0, 12}, {8, 0, 8},
                       {9, 0, 8},  {10, 0, 4}, {11, 0, 7}, {12, 0, 4}, {13, 0, 4},
                       {14, 0, 5}, {15, 0, 5}, {16, 0, 4}, {17, 0, 1}, {18, 0, 3},
                       {19, 0, 7}, {20, 0, 6}, {21, 0, 2}, {22, 0, 4}, {23, 2, 4}, {29, 0, 3},
                       {30, 0, 3}, {31, 0, 3}, {32, 0, 4},
                       {33, 0, 2}, {36, 0, 2}, {44, 0, 1}, {47, 0, 0}, {50, 0, 0},
                       {51, 0, 0}};
  ASSERT_EQ(std::size(kApiRanges), std::size(want));
  for (size_t i = 0; i < std::size(want); i++) {
    EXPECT_EQ(kApiRanges[i].key, want[i].key);
    EXPECT_EQ(kApiRanges[i].min_version, want[i].lo);
    EXPECT_EQ(kApiRanges[i].max_version, want[i].hi);
  }
}

// --- real clients' requests -------------------------------------------------

std::vector<uint8_t> FromHex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

TEST(KafkaGoldenTest, CapturedClientRequestsDecodeAndReencodeExactly) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(SENTRY_SOURCE_DIR) / "tests/kafka/golden";
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".hex") continue;
    std::ifstream in(entry.path());
    std::stringstream ss;
    ss << in.rdbuf();
    std::string hex = ss.str();
    hex.erase(std::remove_if(hex.begin(), hex.end(), ::isspace), hex.end());
    const std::vector<uint8_t> frame = FromHex(hex);
    Reader r(frame);
    RequestHeader h;
    ASSERT_TRUE(ReadHeaderStart(r, &h)) << entry.path();
    ASSERT_TRUE(ReadHeaderRest(r, IsFlexible(h.api_key, h.api_version), &h)) << entry.path();
    const size_t header_bytes = r.consumed_from(frame.data());
    std::span<const uint8_t> body(frame.data() + header_bytes, frame.size() - header_bytes);
    std::vector<uint8_t> again;
    ASSERT_TRUE(DecodeAnyRequest(h.api_key, h.api_version, body, &again)) << entry.path();
    EXPECT_EQ(again, std::vector<uint8_t>(body.begin(), body.end())) << entry.path();
    checked++;
  }
  EXPECT_GE(checked, 10) << "golden captures missing from " << dir;
}

}  // namespace
}  // namespace sentry::kafka
