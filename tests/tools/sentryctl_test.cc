// sentryctl against a real sentryd: every command, its errors (unknown topic,
// bad arguments, broker down), and dump / verify on segments the test damages.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "common/murmur2.h"
#include "integration/broker_process.h"
#include "storage/offset_index.h"
#include "storage/record_batch.h"
#include "test_util.h"
#include "tools/tool_runner.h"

namespace sentry {
namespace {

using testing::BrokerProcess;
using testing::RunTool;
using testing::ToolResult;

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string line;
  while (std::getline(ss, line)) out.push_back(line);
  return out;
}

std::vector<std::string> Words(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

class SentryctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    broker_ = std::make_unique<BrokerProcess>(data_dir(), std::vector<std::string>{});
    ASSERT_TRUE(broker_->Start()) << broker_->Output();
  }
  void TearDown() override {
    if (broker_->running()) {
      EXPECT_EQ(broker_->Stop(), 0) << broker_->Output();
    }
  }
  std::string data_dir() const { return dir_ / "data"; }
  std::string broker() const { return "127.0.0.1:" + std::to_string(broker_->port()); }

  // sentryctl --broker <this broker> args...
  ToolResult Ctl(std::vector<std::string> args, const std::string& in = "") {
    args.insert(args.begin(), {"--broker", broker()});
    return RunTool(SENTRYCTL_PATH, args, in);
  }
  void CtlOk(std::vector<std::string> args, const std::string& in = "") {
    auto r = Ctl(args, in);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  testing::TempDir dir_;
  std::unique_ptr<BrokerProcess> broker_;
};

TEST_F(SentryctlTest, TopicCreateListDescribeDelete) {
  auto r = Ctl({"topic", "create", "orders", "--partitions", "3", "--config",
                "segment.bytes=1048576"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Created topic orders with 3 partitions.\n");
  r = Ctl({"topic", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("orders"), std::string::npos) << r.out;
  r = Ctl({"topic", "describe", "orders"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;  // title, header, 3 partitions
  EXPECT_EQ(lines[0], "topic orders: 3 partitions");
  EXPECT_NE(lines[1].find("SIZE_BYTES"), std::string::npos) << lines[1];
  // An empty partition: offsets 0, no bytes, one segment, never cleaned, online.
  EXPECT_EQ(Words(lines[2]),
            (std::vector<std::string>{"0", "0", "0", "0", "0", "1", "0", "-", "online"}));
  // After 10 records (and a topic alter), partition 1 holds them.
  r = Ctl({"topic", "alter", "orders", "--config", "retention.ms=3600000"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Altered topic orders (1 setting).\n");
  r = Ctl({"topic", "alter", "orders", "--config", "segment.bytes=100"});  // below 1024
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("INVALID_CONFIG"), std::string::npos) << r.err;
  auto c = broker_->NewClient();
  auto b = testing::MakeBatch(10, 20);
  ASSERT_EQ(c->Produce("orders", 1, -1, b)->error, 0);
  r = Ctl({"topic", "describe", "orders"});
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 5u) << r.out;
  auto w = Words(lines[3]);
  ASSERT_EQ(w.size(), 9u) << lines[3];
  EXPECT_EQ(w[2], "10");                           // log end
  EXPECT_EQ(w[4], std::to_string(b.size()));       // the batch's bytes
  EXPECT_EQ(w[8], "online");
  r = Ctl({"topic", "delete", "orders"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Ctl({"topic", "describe", "orders"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("UNKNOWN_TOPIC_OR_PARTITION: Create the topic first"), std::string::npos)
      << r.err;
}

TEST_F(SentryctlTest, TopicErrorsNameTheProtocolErrorAndAdvice) {
  CtlOk({"topic", "create", "t"});
  auto r = Ctl({"topic", "create", "t"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("TOPIC_ALREADY_EXISTS: Pick another name"), std::string::npos) << r.err;
  r = Ctl({"topic", "create", "u", "--config", "no.such.key=1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("INVALID_CONFIG"), std::string::npos) << r.err;
  r = Ctl({"topic", "create", "bad/name"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("INVALID_TOPIC_EXCEPTION"), std::string::npos) << r.err;
  r = Ctl({"topic", "delete", "missing"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("UNKNOWN_TOPIC_OR_PARTITION"), std::string::npos) << r.err;
}

TEST_F(SentryctlTest, BadArgumentsExitTwo) {
  EXPECT_EQ(Ctl({}).exit_code, 2);
  EXPECT_EQ(Ctl({"topic", "create"}).exit_code, 2);             // NAME missing
  EXPECT_EQ(Ctl({"topic", "create", "x", "--partitions", "0"}).exit_code, 2);
  EXPECT_EQ(Ctl({"topic", "create", "x", "--config", "novalue"}).exit_code, 2);
  EXPECT_EQ(Ctl({"produce", "t", "--acks", "5"}).exit_code, 2);
  EXPECT_EQ(Ctl({"consume", "t", "--from", "yesterday"}).exit_code, 2);
  EXPECT_EQ(Ctl({"group", "commit", "g", "t", "0"}).exit_code, 2);  // OFFSET missing
  EXPECT_EQ(Ctl({"frobnicate"}).exit_code, 2);
  auto r = RunTool(SENTRYCTL_PATH, {"--broker", "no-port-here", "topic", "list"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("HOST:PORT"), std::string::npos) << r.err;
}

TEST_F(SentryctlTest, HelpOnEveryCommand) {
  const std::vector<std::vector<std::string>> cmds = {
      {}, {"topic"}, {"topic", "create"}, {"topic", "delete"}, {"topic", "list"},
      {"topic", "describe"}, {"produce"}, {"consume"}, {"offsets"}, {"group"},
      {"group", "commit"}, {"group", "fetch"}, {"dump"}, {"verify"}};
  for (auto args : cmds) {
    args.push_back("--help");
    auto r = RunTool(SENTRYCTL_PATH, args);
    EXPECT_EQ(r.exit_code, 0) << args[0];
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << r.out;
  }
}

TEST_F(SentryctlTest, BrokerDownExitsOneWithClearMessage) {
  const std::string addr = broker();
  ASSERT_EQ(broker_->Stop(), 0);
  for (std::vector<std::string> args :
       {std::vector<std::string>{"topic", "list"}, {"produce", "t"}, {"consume", "t"},
        {"offsets", "t"}, {"group", "fetch", "g", "t", "0"}}) {
    args.insert(args.begin(), {"--broker", addr});
    auto r = RunTool(SENTRYCTL_PATH, args, "x\n");
    EXPECT_EQ(r.exit_code, 1) << args[2];
    EXPECT_NE(r.err.find("cannot connect to " + addr), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("is sentryd running"), std::string::npos) << r.err;
  }
}

TEST_F(SentryctlTest, ProduceAndConsumeRoundTripWithKeys) {
  CtlOk({"topic", "create", "kv", "--partitions", "3"});
  std::string in;
  std::multiset<std::string> want;
  for (int i = 0; i < 1000; i++) {
    std::string line = "key" + std::to_string(i % 17) + "\t" + "value" + std::to_string(i);
    in += line + "\n";
    want.insert(line);
  }
  auto r = Ctl({"produce", "kv", "--key-separator", "\t", "--acks", "1"}, in);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Produced 1000 records to kv."), std::string::npos) << r.err;
  r = Ctl({"consume", "kv", "--format", "%k\\t%v"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = Lines(r.out);
  EXPECT_EQ(std::multiset<std::string>(lines.begin(), lines.end()), want);
  // Each key sits on the partition Kafka's murmur2 partitioner picks.
  for (int p = 0; p < 3; p++) {
    r = Ctl({"consume", "kv", "--partition", std::to_string(p), "--format", "%p %k"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (auto& line : Lines(r.out)) {
      std::string key = line.substr(2);
      EXPECT_EQ(KafkaPartitionForKey(reinterpret_cast<const uint8_t*>(key.data()), key.size(), 3),
                p) << line;
    }
  }
}

TEST_F(SentryctlTest, ProduceToUnknownTopicOrPartitionFails) {
  auto r = Ctl({"produce", "nope"}, "x\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("UNKNOWN_TOPIC_OR_PARTITION"), std::string::npos) << r.err;
  CtlOk({"topic", "create", "one"});
  r = Ctl({"produce", "one", "--partition", "4"}, "x\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("UNKNOWN_TOPIC_OR_PARTITION"), std::string::npos) << r.err;
  r = Ctl({"consume", "nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("UNKNOWN_TOPIC_OR_PARTITION"), std::string::npos) << r.err;
}

TEST_F(SentryctlTest, ConsumeFromOffsetTimestampLatestWithCount) {
  CtlOk({"topic", "create", "seq"});
  CtlOk({"produce", "seq", "--partition", "0"}, "a\nb\nc\nd\ne\n");
  auto r = Ctl({"consume", "seq", "--from", "2", "--format", "%o:%v"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "2:c\n3:d\n4:e\n");
  r = Ctl({"consume", "seq", "--count", "2"});
  EXPECT_EQ(r.out, "a\nb\n");
  r = Ctl({"consume", "seq", "--from", "latest"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  r = Ctl({"consume", "seq", "--from", "@0", "--count", "1"});
  EXPECT_EQ(r.out, "a\n");
  r = Ctl({"consume", "seq", "--from", "@99999999999999"});  // after every record
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(SentryctlTest, ConsumeFollowWaitsForNewRecords) {
  CtlOk({"topic", "create", "live"});
  ToolResult follower;
  std::thread t([&] { follower = Ctl({"consume", "live", "--follow", "--count", "3"}); });
  // The follower long-polls; whether it starts before or after this produce,
  // --from earliest gives it all three records.
  CtlOk({"produce", "live"}, "x\ny\nz\n");
  t.join();
  EXPECT_EQ(follower.exit_code, 0) << follower.err;
  EXPECT_EQ(follower.out, "x\ny\nz\n");
}

TEST_F(SentryctlTest, OffsetsShowLogStartAndEnd) {
  CtlOk({"topic", "create", "o", "--partitions", "2"});
  CtlOk({"produce", "o", "--partition", "1"}, "a\nb\nc\n");
  auto r = Ctl({"offsets", "o"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[1], "        0                0                0");
  EXPECT_EQ(lines[2], "        1                0                3");
  r = Ctl({"offsets", "o", "--partition", "1"});
  EXPECT_EQ(Lines(r.out).size(), 2u);
  r = Ctl({"offsets", "o", "--partition", "7"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("UNKNOWN_TOPIC_OR_PARTITION"), std::string::npos) << r.err;
}

TEST_F(SentryctlTest, GroupCommitFetchAndConsumeWithGroup) {
  CtlOk({"topic", "create", "g"});
  CtlOk({"produce", "g"}, "a\nb\nc\nd\n");
  auto r = Ctl({"group", "fetch", "readers", "g", "0"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "-1\n");
  CtlOk({"group", "commit", "readers", "g", "0", "1"});
  r = Ctl({"group", "fetch", "readers", "g", "0"});
  EXPECT_EQ(r.out, "1\n");
  // A group consumer starts at the committed offset and commits where it stopped.
  r = Ctl({"consume", "g", "--group", "readers", "--count", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "b\nc\n");
  r = Ctl({"group", "fetch", "readers", "g", "0"});
  EXPECT_EQ(r.out, "3\n");
  r = Ctl({"consume", "g", "--group", "readers"});
  EXPECT_EQ(r.out, "d\n");
  r = Ctl({"group", "commit", "readers", "nope", "0", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("UNKNOWN_TOPIC_OR_PARTITION"), std::string::npos) << r.err;
}

// dump and verify work on the files of a stopped broker.
class OfflineToolsTest : public SentryctlTest {
 protected:
  // Three PRODUCE requests of one batch each to d-0; returns the .log path.
  std::string MakeSegment() {
    auto c = broker_->NewClient();
    EXPECT_EQ(c->CreateTopic("d", 1).value(), 0);
    for (int i = 0; i < 3; i++) {
      auto b = testing::MakeBatch(4, 20, 1700000000000 + i);
      batch_sizes_.push_back(b.size());
      auto r = c->Produce("d", 0, 1, b);
      EXPECT_TRUE(r.ok() && r->ok());
    }
    c.reset();
    EXPECT_EQ(broker_->Stop(), 0) << broker_->Output();
    return data_dir() + "/d-0/00000000000000000000";
  }
  static void Patch(const std::string& path, size_t pos, uint8_t xor_mask) {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(pos));
    char c;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(pos));
    f.put(static_cast<char>(c ^ xor_mask));
  }
  std::vector<size_t> batch_sizes_;
};

TEST_F(OfflineToolsTest, VerifyIntactDataDirExitsZero) {
  MakeSegment();
  auto r = RunTool(SENTRYCTL_PATH, {"verify", data_dir()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("3 batches, 12 records: intact"), std::string::npos) << r.out;
}

TEST_F(OfflineToolsTest, DumpDecodesLogIndexAndTimeIndex) {
  const std::string seg = MakeSegment();
  auto r = RunTool(SENTRYCTL_PATH, {"dump", seg + ".log", seg + ".index", seg + ".timeindex"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("log segment, 3 batches, 12 records"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("offsets          0-3          -> position 0"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("-> position " + std::to_string(batch_sizes_[0])), std::string::npos);
  EXPECT_NE(r.out.find("timestamp  1700000000002"), std::string::npos) << r.out;
  r = RunTool(SENTRYCTL_PATH, {"dump", "--json", seg + ".log"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("\"position\":" + std::to_string(batch_sizes_[0]) +
                       ",\"size\":" + std::to_string(batch_sizes_[1]) +
                       ",\"base_offset\":4,\"last_offset\":7,\"records\":4"),
            std::string::npos)
      << r.out;
  r = RunTool(SENTRYCTL_PATH, {"dump", data_dir() + "/nope.log"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nope.log"), std::string::npos);
}

TEST_F(OfflineToolsTest, VerifyNamesFileAndPositionOfACorruptBatch) {
  const std::string seg = MakeSegment();
  const size_t second = batch_sizes_[0];
  Patch(seg + ".log", second + batch_layout::kHeaderSize + 5, 0x40);  // a record byte
  auto r = RunTool(SENTRYCTL_PATH, {"verify", data_dir()});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("PROBLEM " + seg + ".log: position " + std::to_string(second) +
                       ": batch with offsets 4-7: crc mismatch"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("1 problem"), std::string::npos) << r.out;
  r = RunTool(SENTRYCTL_PATH, {"dump", seg + ".log"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("BAD: crc mismatch"), std::string::npos) << r.out;
}

TEST_F(OfflineToolsTest, VerifyReportsBrokenOffsetContinuity) {
  const std::string seg = MakeSegment();
  Patch(seg + ".log", batch_sizes_[0] + 7, 0x10);  // base_offset of batch 2 (not CRC-covered)
  auto r = RunTool(SENTRYCTL_PATH, {"verify", data_dir()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("position " + std::to_string(batch_sizes_[0]) +
                       ": batch base_offset 20 does not continue the log (expected 4)"),
            std::string::npos)
      << r.out;
}

TEST_F(OfflineToolsTest, VerifyReportsABadIndexSlot) {
  const std::string seg = MakeSegment();
  Patch(seg + ".index", 5 * kIndexSlotBytes + 7, 0x01);  // slot 5's position
  auto r = RunTool(SENTRYCTL_PATH, {"verify", data_dir()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find(seg + ".index: slot 5 at byte 40 (offset 5): reads (relative_offset 5, "
                             "position " +
                       std::to_string(batch_sizes_[0] ^ 1) + "), expected (5, " +
                       std::to_string(batch_sizes_[0]) + ")"),
            std::string::npos)
      << r.out;
}

TEST_F(OfflineToolsTest, VerifyReportsATornTail) {
  const std::string seg = MakeSegment();
  const size_t size = batch_sizes_[0] + batch_sizes_[1] + batch_sizes_[2];
  std::filesystem::resize_file(seg + ".log", size - 10);
  auto r = RunTool(SENTRYCTL_PATH, {"verify", "--json", data_dir()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("\"intact\":false"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(seg + ".log: position " + std::to_string(batch_sizes_[0] + batch_sizes_[1]) +
                       ": batch_length"),
            std::string::npos)
      << r.out;
}

TEST_F(OfflineToolsTest, VerifyMissingDirectoryFails) {
  auto r = RunTool(SENTRYCTL_PATH, {"verify", dir_ / "nowhere"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("not a directory"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace sentry
