// sentryd::Broker in process: the object main() runs, started and stopped by
// the test itself. Start recovers and serves, Stop leaves a clean marker and
// a data directory the next Broker serves again; a second Broker on the same
// directory is refused while the first holds it.
#include "sentryd/broker.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "client/client.h"
#include "test_util.h"

namespace sentry::sentryd {
namespace {

BrokerConfig ConfigFor(const std::string& dir) {
  BrokerConfig cfg;
  cfg.data_dir = dir;
  cfg.host = "127.0.0.1";
  cfg.port = 0;
  // Free ports for every listener: the Kafka default (9092) clashed when two
  // of these tests ran at once (ctest -j2).
  cfg.kafka_port = 0;
  cfg.http_port = 0;
  cfg.stats_interval_ms = 0;
  return cfg;
}

TEST(SentrydBrokerTest, StartServeStopRestartKeepsWhatWasWritten) {
  testing::TempDir dir;
  const std::string data = dir / "data";
  int64_t end = 0;
  {
    Broker b(ConfigFor(data));
    ASSERT_TRUE(b.Start().ok());
    ASSERT_GT(b.port(), 0);
    auto c = client::Client::Connect("127.0.0.1", b.port());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ASSERT_EQ((*c)->CreateTopic("t", 2).value(), 0);
    for (int i = 0; i < 10; i++) {
      auto r = (*c)->Produce("t", i % 2, -1, testing::MakeBatch(3));
      ASSERT_TRUE(r.ok() && r->error == 0);
    }
    end = (*c)->ListOffsets("t", 0, -1)->body.offset;
    EXPECT_EQ(end, 15);
    ASSERT_TRUE(b.Stop().ok());
  }
  EXPECT_TRUE(std::filesystem::exists(data + "/.clean_shutdown"));
  Broker again(ConfigFor(data));
  ASSERT_TRUE(again.Start().ok());
  auto c = client::Client::Connect("127.0.0.1", again.port());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->ListOffsets("t", 0, -1)->body.offset, end);
  EXPECT_EQ((*c)->ListOffsets("t", 1, -1)->body.offset, 15);
  EXPECT_TRUE(again.Stop().ok());
}

TEST(SentrydBrokerTest, ASecondBrokerOnTheSameDirectoryIsRefused) {
  testing::TempDir dir;
  Broker first(ConfigFor(dir / "data"));
  ASSERT_TRUE(first.Start().ok());
  Broker second(ConfigFor(dir / "data"));
  Status s = second.Start();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("in use by another sentryd"), std::string::npos) << s.ToString();
  EXPECT_TRUE(first.Stop().ok());
}

}  // namespace
}  // namespace sentry::sentryd
