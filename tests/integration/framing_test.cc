// Framing, limits and hostile clients against a real sentryd: split and
// coalesced frames, bad lengths, unknown APIs, half-open frames, garbage,
// many connections, and backpressure with bounded memory.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <random>
#include <thread>

#include "common/endian.h"
#include "integration/broker_process.h"
#include "integration/error_code.h"
#include "protocol/errors.h"
#include "test_util.h"

namespace sentry {
namespace {

using protocol::ErrorCode;
using testing::BrokerProcess;

using testing::E;

std::vector<uint8_t> Frame(uint16_t api_key, uint16_t version, uint32_t corr,
                           const std::vector<uint8_t>& body) {
  std::vector<uint8_t> f(12 + body.size());
  PutU32(f.data(), static_cast<uint32_t>(8 + body.size()));
  PutU16(f.data() + 4, api_key);
  PutU16(f.data() + 6, version);
  PutU32(f.data() + 8, corr);
  std::copy(body.begin(), body.end(), f.begin() + 12);
  return f;
}

class FramingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<BrokerProcess>(
        dir_ / "data", std::vector<std::string>{"--max.frame.bytes", "65536",
                                                "--queued.max.requests", "64"});
    ASSERT_TRUE(broker_->Start()) << broker_->Output();
  }
  void TearDown() override {
    if (broker_->running()) {
      EXPECT_EQ(broker_->Stop(), 0) << broker_->Output();
    }
  }
  std::unique_ptr<client::Connection> Raw() {
    auto c = client::Connection::Connect("127.0.0.1", broker_->port());
    EXPECT_TRUE(c.ok());
    return std::move(c).value();
  }
  // A quick request on a fresh connection answers promptly.
  void ExpectOthersServed() {
    auto c = broker_->NewClient();
    ASSERT_TRUE(c);
    auto start = std::chrono::steady_clock::now();
    auto r = c->ApiVersions();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->error, 0);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  }
  testing::TempDir dir_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(FramingTest, FrameSplitIntoSingleBytesIsReassembled) {
  auto c = Raw();
  auto f = Frame(0, 1, 77, {});
  for (uint8_t b : f) ASSERT_TRUE(c->SendRaw({&b, 1}).ok());
  auto r = c->Receive();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->header.correlation_id, 77u);
  EXPECT_EQ(r->error_code, 0);
}

TEST_F(FramingTest, ManyFramesInOneWriteAreAllAnswered) {
  auto c = Raw();
  std::vector<uint8_t> all;
  for (uint32_t i = 1; i <= 100; i++) {
    auto f = Frame(0, 1, i, {});
    all.insert(all.end(), f.begin(), f.end());
  }
  ASSERT_TRUE(c->SendRaw(all).ok());
  for (uint32_t i = 1; i <= 100; i++) {
    auto r = c->Receive();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->header.correlation_id, i);  // same connection, no partition: in order
  }
}

TEST_F(FramingTest, LengthBelowEightGetsInvalidRequestThenClose) {
  auto c = Raw();
  uint8_t bad[8] = {0, 0, 0, 4, 1, 2, 3, 4};
  ASSERT_TRUE(c->SendRaw(bad).ok());
  auto r = c->Receive();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->error_code, E(ErrorCode::kInvalidRequest));
  EXPECT_EQ(r->header.correlation_id, 0u);
  EXPECT_TRUE(c->WaitClosed(5000));
  ExpectOthersServed();
}

TEST_F(FramingTest, OversizedFrameGetsMessageTooLargeWithItsHeaderThenClose) {
  auto c = Raw();
  std::vector<uint8_t> head(12);
  PutU32(head.data(), 1 << 20);
  PutU16(head.data() + 4, 1);
  PutU16(head.data() + 6, 1);
  PutU32(head.data() + 8, 99);
  ASSERT_TRUE(c->SendRaw(head).ok());
  auto r = c->Receive();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->error_code, E(ErrorCode::kMessageTooLarge));
  EXPECT_EQ(r->header.correlation_id, 99u);
  EXPECT_EQ(r->header.api_key, 1);
  EXPECT_TRUE(c->WaitClosed(5000));
  ExpectOthersServed();
}

TEST_F(FramingTest, UnknownApiBadVersionAndMalformedBodiesKeepTheConnection) {
  auto c = Raw();
  ASSERT_TRUE(c->SendRaw(Frame(99, 1, 1, {})).ok());
  EXPECT_EQ(c->Receive()->error_code, E(ErrorCode::kInvalidRequest));
  ASSERT_TRUE(c->SendRaw(Frame(0, 7, 2, {})).ok());
  EXPECT_EQ(c->Receive()->error_code, E(ErrorCode::kUnsupportedVersion));
  ASSERT_TRUE(c->SendRaw(Frame(0, 1, 3, {1, 2, 3})).ok());  // bytes left over
  EXPECT_EQ(c->Receive()->error_code, E(ErrorCode::kInvalidRequest));
  ASSERT_TRUE(c->SendRaw(Frame(4, 1, 4, {0, 0})).ok());  // array count cut short
  EXPECT_EQ(c->Receive()->error_code, E(ErrorCode::kInvalidRequest));
  ASSERT_TRUE(c->SendRaw(Frame(4, 1, 5, {0x7f, 0xff, 0xff, 0xff})).ok());  // absurd count
  EXPECT_EQ(c->Receive()->error_code, E(ErrorCode::kInvalidRequest));
  ASSERT_TRUE(c->SendRaw(Frame(0, 1, 6, {})).ok());
  auto ok = c->Receive();
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->error_code, 0);
  EXPECT_EQ(ok->header.correlation_id, 6u);
}

TEST_F(FramingTest, HalfOpenFramesDoNotDelayOtherClients) {
  std::vector<std::unique_ptr<client::Connection>> stuck;
  for (int i = 0; i < 20; i++) {
    auto c = Raw();
    auto f = Frame(0, 1, 1, std::vector<uint8_t>(100, 0));
    ASSERT_TRUE(c->SendRaw({f.data(), 30}).ok());  // never completed
    stuck.push_back(std::move(c));
  }
  ExpectOthersServed();
}

TEST_F(FramingTest, GarbageFromOneClientDoesNotDisturbOthers) {
  auto good = broker_->NewClient();
  ASSERT_EQ(good->CreateTopic("t", 1).value(), 0);
  std::mt19937 rng(7);
  for (int round = 0; round < 20; round++) {
    auto c = Raw();
    std::vector<uint8_t> junk(1 + rng() % 4096);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    (void)c->SendRaw(junk);
    auto b = testing::MakeBatch(2);
    auto r = good->Produce("t", 0, 1, b);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->error, 0);
  }
  EXPECT_EQ(good->ListOffsets("t", 0, -1)->body.offset, 40);
}

TEST_F(FramingTest, AThousandSimultaneousConnections) {
  rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < 2100 && rl.rlim_max >= 2100) {
    rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 4096);
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur < 1100) GTEST_SKIP() << "descriptor limit " << rl.rlim_cur << " < 1100";
  // The broker was started before the limit was raised: restart it so it
  // inherits the higher limit.
  ASSERT_EQ(broker_->Stop(), 0);
  ASSERT_TRUE(broker_->Start());
  std::vector<std::unique_ptr<client::Connection>> conns;
  for (int i = 0; i < 1000; i++) {
    auto c = client::Connection::Connect("127.0.0.1", broker_->port());
    ASSERT_TRUE(c.ok()) << i << ": " << c.status().ToString();
    conns.push_back(std::move(c).value());
  }
  for (auto& c : conns) ASSERT_TRUE(c->Send(0, {}).ok());
  for (auto& c : conns) {
    auto r = c->Receive();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->error_code, 0);
  }
}

TEST_F(FramingTest, FloodedProducerIsSlowedNotFailedAndMemoryStaysBounded) {
  auto admin = broker_->NewClient();
  ASSERT_EQ(admin->CreateTopic("flood", 1).value(), 0);
  auto c = Raw();
  auto batch = testing::MakeBatch(50, 100);  // ~6 KB per request
  auto body = client::Client::EncodeProduce("flood", 0, 1, batch, 1000);
  constexpr int kRequests = 20000;            // ~120 MB offered without reading
  std::thread sender([&] {
    for (int i = 0; i < kRequests; i++) ASSERT_TRUE(c->Send(1, body).ok());
  });
  int ok = 0;
  for (int i = 0; i < kRequests; i++) {
    auto r = c->Receive(60000);
    ASSERT_TRUE(r.ok()) << i << ": " << r.status().ToString();
    ASSERT_EQ(r->error_code, 0);
    ok++;
  }
  sender.join();
  EXPECT_EQ(ok, kRequests);
  EXPECT_EQ(admin->ListOffsets("flood", 0, -1)->body.offset, int64_t{kRequests} * 50);
  long rss = broker_->PeakRssKb();
  // Bounded: the queue (64 requests), the per-connection caps and the page
  // cache of the mapping, not the ~120 MB offered.
#if defined(__SANITIZE_ADDRESS__)
  // Under ASan the freed request buffers stay in its quarantine (256 MB by
  // default): the peak measures the sanitizer (one run reached 430 MB), not
  // the broker. The normal build checks the bound (~135 MB here).
  (void)rss;
#else
  EXPECT_LT(rss, 400 * 1024) << "peak RSS " << rss << " KiB";
#endif
}

}  // namespace
}  // namespace sentry
