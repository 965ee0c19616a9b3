// sentryd configuration: TOML file, flags overriding it, and bad settings
// refused at start with a message naming the key.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

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

// Names of the threads of `pid` under SCHED_FIFO (policy 1 in /proc/.../stat).
std::vector<std::string> FifoThreads(pid_t pid) {
  std::vector<std::string> out;
  for (auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream stat(e.path() / "stat");
    std::string line((std::istreambuf_iterator<char>(stat)), {});
    // Fields after the ")" that closes the name: state is field 3, policy 41.
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= 41 && rest >> field; i++) {
      if (i == 41 && field == "1") out.push_back(e.path().filename());
    }
  }
  return out;
}

// realtime.priority either takes effect on the network and writer threads
// (one of each by default) or, where the process may not use SCHED_FIFO,
// stops start-up with a message saying why. Never silently ignored.
TEST(ConfigTest, RealtimePriorityIsAppliedOrRefusedAtStart) {
  testing::TempDir dir;
  BrokerProcess broker(dir / "data", {"--realtime.priority", "1"});
  if (broker.Start()) {
    EXPECT_EQ(FifoThreads(broker.pid()).size(), 2u) << "network + writer thread under SCHED_FIFO";
    EXPECT_NE(broker.Output().find("SCHED_FIFO priority 1"), std::string::npos);
    auto c = broker.NewClient();
    ASSERT_EQ(c->CreateTopic("t", 1).value(), 0);
    EXPECT_EQ(c->Produce("t", 0, 1, testing::MakeBatch(3))->error, 0);
    c.reset();
    EXPECT_EQ(broker.Stop(), 0) << broker.Output();
  } else {
    EXPECT_NE(broker.Output().find("realtime.priority"), std::string::npos) << broker.Output();
    EXPECT_NE(broker.Stop(), 0);
  }
  BrokerProcess normal(dir / "data2", {});
  ASSERT_TRUE(normal.Start()) << normal.Output();
  EXPECT_TRUE(FifoThreads(normal.pid()).empty()) << "SCHED_FIFO without realtime.priority";
  EXPECT_EQ(normal.Stop(), 0);
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
                      BadSetting{{"--realtime.priority", "100"}, "", "realtime.priority"},
                      BadSetting{{"--storage.drop.behind.bytes", "4096"}, "",
                                 "storage.drop.behind.bytes"},
                      BadSetting{{"--shutdown.grace.ms", "-1"}, "", "shutdown.grace.ms"},
                      BadSetting{{}, "\"flush.ms\" = -5\n", "flush.ms"},
                      BadSetting{{}, "\"unknown.key\" = 1\n", "unknown.key"},
                      BadSetting{{}, "this is not toml", "bad.toml"},
                      BadSetting{{"--kafka.sasl", "optional"}, "", "kafka.sasl"},
                      BadSetting{{"--native.sasl", "yes"}, "", "native.sasl"},
                      BadSetting{{"--native.sasl", "required", "--cluster.etcd",
                                  "http://127.0.0.1:1"},
                                 "", "native.sasl=required is not supported in cluster mode"},
                      BadSetting{{"--sasl.mechanisms", "SCRAM-SHA-256,GSSAPI"}, "",
                                 "sasl.mechanisms"},
                      BadSetting{{"--kafka.tls.port", "0"}, "", "need tls.cert.file"},
                      BadSetting{{"--tls.client.auth", "sometimes"}, "", "tls.client.auth"},
                      BadSetting{{"--native.tls.port", "0", "--tls.cert.file", "c.pem",
                                  "--tls.key.file", "k.pem", "--tls.client.auth", "required"},
                                 "", "tls.client.auth=required needs tls.ca.file"},
                      BadSetting{{"--http.tls", "true"}, "", "http.tls"},
                      BadSetting{{"--kafka.tls.port", "0", "--tls.cert.file", "c.pem",
                                  "--tls.key.file", "k.pem", "--cluster.etcd",
                                  "http://127.0.0.1:1"},
                                 "", "not supported in cluster mode"},
                      BadSetting{{"--kafka.sasl", "required", "--cluster.etcd",
                                  "http://127.0.0.1:1"},
                                 "", "kafka.sasl=required is not supported in cluster mode"},
                      BadSetting{{"--authorizer.enabled", "yes"}, "", "authorizer.enabled"},
                      BadSetting{{"--super.users", "admin"}, "", "super.users: 'admin'"},
                      BadSetting{{"--authorizer.enabled", "true", "--cluster.etcd",
                                  "http://127.0.0.1:1"},
                                 "", "authorizer.enabled is not supported in cluster mode"}));

}  // namespace
}  // namespace sentry
