// sentryd configuration: TOML file, flags overriding it, and bad settings
// refused at start with a message naming the key.
#include <gtest/gtest.h>

#include <fstream>

#include "integration/broker_process.h"
#include "test_util.h"

namespace sentry {
namespace {

using testing::BrokerProcess;

TEST(ConfigTest, TomlFileIsReadAndFlagsOverrideIt) {
  testing::TempDir dir;
  std::ofstream(dir / "sentry.toml") << "\"max.message.bytes\" = 3000\n"
                                        "\"num.writer.threads\" = 2\n"
                                        "[segment]\nbytes = 65536\n";
  BrokerProcess broker(dir / "data", {"--config", dir / "sentry.toml", "--num.writer.threads", "1"});
  ASSERT_TRUE(broker.Start()) << broker.Output();
  auto c = broker.NewClient();
  ASSERT_EQ(c->CreateTopic("t", 1).value(), 0);
  auto small = testing::MakeBatch(1, 2000), big = testing::MakeBatch(1, 4000);
  EXPECT_EQ(c->Produce("t", 0, 1, small)->error, 0);
  EXPECT_EQ(c->Produce("t", 0, 1, big)->error, 10);  // MESSAGE_TOO_LARGE: from the file
  c.reset();
  EXPECT_EQ(broker.Stop(), 0);
  // segment.bytes from the [segment] table was stored as the topic's config.
  std::ifstream meta(dir / "data/__topics/t.toml");
  std::string text((std::istreambuf_iterator<char>(meta)), {});
  EXPECT_NE(text.find("\"segment.bytes\" = \"65536\""), std::string::npos) << text;
}

struct BadSetting {
  std::vector<std::string> args;
  std::string toml;
  std::string named;  // must appear in the message
};

class BadConfigTest : public ::testing::TestWithParam<BadSetting> {};

TEST_P(BadConfigTest, StopsStartupNamingTheSetting) {
  testing::TempDir dir;
  std::vector<std::string> args = GetParam().args;
  if (!GetParam().toml.empty()) {
    std::ofstream(dir / "bad.toml") << GetParam().toml;
    args.push_back("--config");
    args.push_back(dir / "bad.toml");
  }
  BrokerProcess broker(dir / "data", args);
  EXPECT_FALSE(broker.Start());
  EXPECT_NE(broker.Output().find(GetParam().named), std::string::npos) << broker.Output();
  EXPECT_EQ(broker.Stop(), 2) << broker.Output();
}

INSTANTIATE_TEST_SUITE_P(
    Settings, BadConfigTest,
    ::testing::Values(BadSetting{{"--segment.bytes", "12"}, "", "segment.bytes"},
                      BadSetting{{"--num.network.threads", "zero"}, "", "num.network.threads"},
                      BadSetting{{"--no.such.flag", "1"}, "", "no.such.flag"},
                      BadSetting{{"--storage.drop.behind.bytes", "4096"}, "",
                                 "storage.drop.behind.bytes"},
                      BadSetting{{}, "\"flush.ms\" = -5\n", "flush.ms"},
                      BadSetting{{}, "\"unknown.key\" = 1\n", "unknown.key"},
                      BadSetting{{}, "this is not toml", "bad.toml"}));

}  // namespace
}  // namespace sentry
