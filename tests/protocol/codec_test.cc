#include "protocol/codec.h"

#include <gtest/gtest.h>

#include "protocol/messages.h"

namespace sentry::protocol {
namespace {

TEST(CodecTest, ReaderFailsOnShortInputAndStaysFailed) {
  uint8_t b[3] = {0, 1, 2};
  ByteReader r(b, 3);
  int32_t v;
  EXPECT_FALSE(r.I32(&v));
  EXPECT_FALSE(r.ok());
  int8_t x;
  EXPECT_FALSE(r.I8(&x));
}

TEST(CodecTest, StringLengthPastEndFails) {
  uint8_t b[4] = {0, 10, 'a', 'b'};
  ByteReader r(b, 4);
  std::string_view s;
  EXPECT_FALSE(r.String(&s));
}

TEST(CodecTest, NullBytesAndNegativeLength) {
  uint8_t null_bytes[4] = {0xff, 0xff, 0xff, 0xff};
  ByteReader r(null_bytes, 4);
  std::optional<std::span<const uint8_t>> v;
  ASSERT_TRUE(r.Bytes(&v));
  EXPECT_FALSE(v.has_value());
  uint8_t neg[4] = {0xff, 0xff, 0xff, 0xfe};
  ByteReader r2(neg, 4);
  EXPECT_FALSE(r2.Bytes(&v));
}

TEST(CodecTest, ArrayCountLargerThanRemainingBytesFails) {
  uint8_t b[6] = {0, 0, 0, 100, 0, 0};
  ByteReader r(b, 6);
  int32_t n;
  EXPECT_FALSE(r.ArrayCount(&n, 2));
}

TEST(CodecTest, ProduceRequestRoundTripsAndRejectsTrailingBytes) {
  std::vector<uint8_t> records = {1, 2, 3};
  ProduceRequest in{"topic", 3, -1, 500, records};
  std::vector<uint8_t> buf;
  ByteWriter w(&buf);
  Encode(&w, in);
  ProduceRequest out;
  ByteReader r(buf.data(), buf.size());
  ASSERT_TRUE(Decode(&r, &out));
  EXPECT_EQ(out.topic, "topic");
  EXPECT_EQ(out.partition, 3);
  EXPECT_EQ(out.acks, -1);
  EXPECT_EQ(out.timeout_ms, 500);
  EXPECT_EQ(out.records->size(), 3u);
  buf.push_back(0);
  ByteReader r2(buf.data(), buf.size());
  EXPECT_FALSE(Decode(&r2, &out));
}

TEST(CodecTest, EveryRequestTruncatedAtEveryByteIsRejected) {
  std::vector<uint8_t> buf;
  ByteWriter w(&buf);
  Encode(&w, CreateTopicRequest{"name", 2, {{"segment.bytes", "4096"}}});
  for (size_t cut = 0; cut < buf.size(); cut++) {
    CreateTopicRequest out;
    ByteReader r(buf.data(), cut);
    EXPECT_FALSE(Decode(&r, &out)) << cut;
  }
  CreateTopicRequest out;
  ByteReader r(buf.data(), buf.size());
  ASSERT_TRUE(Decode(&r, &out));
  EXPECT_EQ(out.configs[0].second, "4096");
}

TEST(CodecTest, AuthenticateRoundTripsAndRejectsCutsAndNullBytes) {
  std::vector<uint8_t> buf;
  ByteWriter w(&buf);
  Encode(&w, AuthenticateRequest{"SCRAM-SHA-512", std::string("n,,n=a\0b", 9)});
  for (size_t cut = 0; cut < buf.size(); cut++) {
    AuthenticateRequest out;
    ByteReader r(buf.data(), cut);
    EXPECT_FALSE(Decode(&r, &out)) << cut;
  }
  AuthenticateRequest req;
  ByteReader r(buf.data(), buf.size());
  ASSERT_TRUE(Decode(&r, &req));
  EXPECT_EQ(req.mechanism, "SCRAM-SHA-512");
  EXPECT_EQ(req.auth_bytes, std::string("n,,n=a\0b", 9));
  // auth_bytes may not be null.
  std::vector<uint8_t> null_bytes;
  ByteWriter nw(&null_bytes);
  nw.String("PLAIN");
  nw.I32(-1);
  ByteReader nr(null_bytes.data(), null_bytes.size());
  EXPECT_FALSE(Decode(&nr, &req));

  std::vector<uint8_t> resp_buf;
  ByteWriter rw(&resp_buf);
  Encode(&rw, AuthenticateResponse{"v=sig", 1, 1500});
  AuthenticateResponse resp;
  ByteReader rr(resp_buf.data(), resp_buf.size());
  ASSERT_TRUE(Decode(&rr, &resp));
  EXPECT_EQ(resp.auth_bytes, "v=sig");
  EXPECT_EQ(resp.authenticated, 1);
  EXPECT_EQ(resp.session_lifetime_ms, 1500);
  std::vector<uint8_t> list_buf;
  ByteWriter lw(&list_buf);
  Encode(&lw, SaslMechanisms{{"SCRAM-SHA-256", "SCRAM-SHA-512"}});
  SaslMechanisms list;
  ByteReader lr(list_buf.data(), list_buf.size());
  ASSERT_TRUE(Decode(&lr, &list));
  EXPECT_EQ(list.mechanisms, (std::vector<std::string>{"SCRAM-SHA-256", "SCRAM-SHA-512"}));
}

TEST(CodecTest, ResponseFrameLengthCountsExternalPayload) {
  std::vector<uint8_t> buf;
  ByteWriter w(&buf);
  size_t start = BeginResponse(&w, {2, 1, 9}, 0);
  FinishFrame(&w, start, 100);
  EXPECT_EQ(GetU32(buf.data()), 10u + 100u);
  EXPECT_EQ(GetU32(buf.data() + 8), 9u);
}

}  // namespace
}  // namespace sentry::protocol
