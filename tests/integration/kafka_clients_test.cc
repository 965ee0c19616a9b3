// Real Kafka clients from Debian against a real sentryd, each started by the
// test: kcat, kafka-python, confluent-kafka (librdkafka) and sarama (Go),
// without and with consumer groups.
// The client programs live in tests/kafka_clients/ (README there); each
// asserts content, keys, order and that nothing is duplicated or missing, and
// exits non-zero naming what it expected. A missing client is a failure:
// scripts/install-deps.sh installs them all.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "integration/broker_fixture.h"

namespace sentry::testing {
namespace {

const std::string kClients = std::string(SENTRY_SOURCE_DIR) + "/tests/kafka_clients";

// Runs `cmd`, returns (exit code, output).
std::pair<int, std::string> RunCommand(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return {-1, "popen failed"};
  std::array<char, 4096> buf;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class KafkaClientsTest : public BrokerFixture {
 protected:
  void SetUp() override {
    BrokerFixture::SetUp();
    ASSERT_GT(broker_->kafka_port(), 0);
    bootstrap_ = "127.0.0.1:" + std::to_string(broker_->kafka_port());
  }
  void RunPython(const std::string& script) {
    // Debian's interpreter: the client modules are Debian packages.
    auto [code, out] = RunCommand("/usr/bin/python3 " + kClients + "/" + script + " " + bootstrap_ +
                           " " + (dir_ / "client"));
    EXPECT_EQ(code, 0) << out << "\n--- broker log ---\n" << broker_->Output();
  }
  std::string bootstrap_;
};

TEST_F(KafkaClientsTest, Kcat) { RunPython("kcat_test.py"); }
TEST_F(KafkaClientsTest, KafkaPython) { RunPython("kafka_python_test.py"); }
TEST_F(KafkaClientsTest, ConfluentKafka) { RunPython("confluent_kafka_test.py"); }

// Consumer groups (JoinGroup/SyncGroup/Heartbeat/LeaveGroup, rebalance
// callbacks, cooperative-sticky, static membership, kcat -G). A short
// initial rebalance delay keeps the tests quick; everything else is default.
class KafkaGroupClientsTest : public KafkaClientsTest {
 protected:
  std::vector<std::string> ExtraArgs() override {
    return {"--group.initial.rebalance.delay.ms", "300"};
  }
};

TEST_F(KafkaGroupClientsTest, KafkaPythonGroups) { RunPython("groups_kafka_python_test.py"); }
TEST_F(KafkaGroupClientsTest, ConfluentKafkaGroups) { RunPython("groups_confluent_test.py"); }
TEST_F(KafkaGroupClientsTest, KcatBalancedConsumer) { RunPython("groups_kcat_test.py"); }

// A compacted topic: the cleaner runs every 50 ms, rolled segments are
// synced promptly, so the test sees compaction within seconds.
class KafkaCompactionClientsTest : public KafkaClientsTest {
 protected:
  std::vector<std::string> ExtraArgs() override {
    return {"--log.cleaner.backoff.ms", "50", "--log.flush.offset.checkpoint.interval.ms",
            "100"};
  }
};

TEST_F(KafkaCompactionClientsTest, CompactedTopicReadByKcatAndKafkaPython) {
  RunPython("compacted_topic_test.py");
}

TEST_F(KafkaClientsTest, Sarama) {
  // Built offline from Debian's golang-go and golang-github-shopify-sarama-dev.
  const std::string bin = dir_ / "sarama-test";
  auto [bcode, bout] = RunCommand("cd " + kClients + "/sarama && HOME=" + dir_.path() +
                           " GOCACHE=" + dir_.path() + "/gocache GOPATH=/usr/share/gocode" +
                           " GO111MODULE=off CGO_ENABLED=0 go build -o " + bin + " main.go");
  ASSERT_EQ(bcode, 0) << bout;
  auto [code, out] = RunCommand(bin + " " + bootstrap_ + " " + dir_.path());
  EXPECT_EQ(code, 0) << out << "\n--- broker log ---\n" << broker_->Output();
}

}  // namespace
}  // namespace sentry::testing
