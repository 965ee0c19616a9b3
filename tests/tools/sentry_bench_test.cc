// sentry-bench against a real sentryd: each mode runs to completion and its
// --json summary counts exactly the records asked for.
#include <gtest/gtest.h>

#include <regex>

#include "integration/broker_process.h"
#include "test_util.h"
#include "tools/tool_runner.h"

namespace sentry {
namespace {

using testing::RunTool;

// The number after "key": in a flat JSON summary.
double JsonNumber(const std::string& json, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(json, m, std::regex("\"" + key + "\":(-?[0-9.]+)"))) return -1;
  return std::stod(m[1]);
}

class SentryBenchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<testing::BrokerProcess>(dir_ / "data");
    ASSERT_TRUE(broker_->Start()) << broker_->Output();
  }
  void TearDown() override {
    if (broker_->running()) {
      EXPECT_EQ(broker_->Stop(), 0) << broker_->Output();
    }
  }
  testing::ToolResult Bench(std::vector<std::string> args) {
    args.insert(args.begin() + 1,
                {"--broker", "127.0.0.1:" + std::to_string(broker_->port()), "--json"});
    return RunTool(SENTRY_BENCH_PATH, args);
  }
  testing::TempDir dir_;
  std::unique_ptr<testing::BrokerProcess> broker_;
};

TEST_F(SentryBenchTest, ProduceThenConsumeCountEveryRecord) {
  auto r = Bench({"produce", "--records", "20000", "--batch", "50", "--connections", "2",
                  "--partitions", "4", "--acks", "-1"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(JsonNumber(r.out, "records"), 20000) << r.out;
  EXPECT_EQ(JsonNumber(r.out, "partitions"), 4);
  EXPECT_EQ(JsonNumber(r.out, "count"), 400) << "one latency sample per request";
  EXPECT_GT(JsonNumber(r.out, "records_per_sec"), 0);
  EXPECT_GT(JsonNumber(r.out, "p99"), 0);
  EXPECT_EQ(JsonNumber(r.out, "errors"), 0);
  r = Bench({"consume", "--records", "20000", "--connections", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(JsonNumber(r.out, "records"), 20000) << r.out;
}

TEST_F(SentryBenchTest, FixedRateEndToEnd) {
  auto r = Bench({"e2e", "--records", "5000", "--batch", "10", "--rate", "20000"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(JsonNumber(r.out, "records"), 5000) << r.out;
  // 5000 records at 20000/s take at least 0.25 s: the rate is honoured.
  EXPECT_GE(JsonNumber(r.out, "seconds"), 0.24) << r.out;
  EXPECT_EQ(JsonNumber(r.out, "count"), 500) << r.out;
  EXPECT_EQ(JsonNumber(r.out, "errors"), 0) << r.out;
}

// Unpaced, many batches: e2e once carried its send time in producer_id, which
// the broker (idempotence) checks; after ~100 batches every produce failed.
TEST_F(SentryBenchTest, UnpacedEndToEndHasNoErrors) {
  auto r = Bench({"e2e", "--topic", "e2e-fast", "--records", "40000", "--batch", "16",
                  "--record-size", "64"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(JsonNumber(r.out, "records"), 40000) << r.out;
  EXPECT_EQ(JsonNumber(r.out, "errors"), 0) << r.out;
  EXPECT_EQ(JsonNumber(r.out, "count"), 2500) << "one latency sample per batch: " << r.out;
}

TEST_F(SentryBenchTest, PingTimesApiVersionsAndWritesNothing) {
  auto r = Bench({"produce", "--topic", "pinged", "--ping", "--records", "2000", "--rate", "20000"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(JsonNumber(r.out, "count"), 2000) << "one latency sample per request: " << r.out;
  EXPECT_EQ(JsonNumber(r.out, "errors"), 0) << r.out;
  EXPECT_GE(JsonNumber(r.out, "seconds"), 0.09) << "2000 requests at 20000/s: " << r.out;
  r = Bench({"consume", "--topic", "pinged"});
  EXPECT_EQ(r.exit_code, 1) << "--ping must not produce: " << r.out;
  EXPECT_NE(r.err.find("is empty"), std::string::npos) << r.err;
}

TEST_F(SentryBenchTest, BadArgumentsAndMissingBroker) {
  EXPECT_EQ(RunTool(SENTRY_BENCH_PATH, {}).exit_code, 2);
  EXPECT_EQ(RunTool(SENTRY_BENCH_PATH, {"produce", "--acks", "2"}).exit_code, 2);
  EXPECT_EQ(RunTool(SENTRY_BENCH_PATH, {"produce", "--help"}).exit_code, 0);
  auto r = Bench({"consume", "--topic", "empty-topic"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is empty"), std::string::npos) << r.err;
  const int port = broker_->port();
  ASSERT_EQ(broker_->Stop(), 0);
  r = RunTool(SENTRY_BENCH_PATH, {"produce", "--broker", "127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot connect"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sentry
