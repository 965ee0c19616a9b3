// sentryd's HTTP listener against a real sentryd: /metrics counts exactly
// what was produced and fetched, the admin API agrees with the logs, the
// probes answer, and bad or abusive HTTP clients get clear answers while the
// native listener keeps serving.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "integration/broker_fixture.h"
#include "integration/http_get.h"
#include "protocol/errors.h"
#include "storage/record_batch.h"

namespace sentry {
namespace {

using nlohmann::json;
using testing::HttpGet;
using testing::MakeBatch;
using testing::MetricValue;

class HttpTest : public testing::BrokerFixture {
 protected:
  void SetUp() override {
    BrokerFixture::SetUp();
    // The listeners are up (what Start() waits for) a moment before the
    // broker calls itself ready; these tests read the ready state.
    ASSERT_TRUE(broker_->WaitForOutput("Ready: recovery done")) << broker_->Output();
  }
  int http() const { return broker_->http_port(); }
  std::string Metrics() {
    auto r = HttpGet(http(), "/metrics");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    return r.body;
  }
  // Fetches a whole partition; returns (records, batch bytes).
  std::pair<int64_t, int64_t> FetchAll(const std::string& topic, int32_t partition) {
    int64_t offset = 0, records = 0, bytes = 0;
    while (true) {
      auto r = client_->Fetch(topic, partition, offset, 4096);
      EXPECT_TRUE(r.ok() && r->ok());
      if (!r.ok() || r->body.records.empty()) break;
      bytes += static_cast<int64_t>(r->body.records.size());
      size_t pos = 0;
      const auto& b = r->body.records;
      while (pos < b.size()) {
        RecordBatchView v;
        EXPECT_TRUE(RecordBatchView::Parse(b.data() + pos, b.size() - pos, &v).ok());
        records += v.records_count();
        offset = v.last_offset() + 1;
        pos += v.TotalSize();
      }
    }
    return {records, bytes};
  }
};

TEST_F(HttpTest, MetricsAndAdminApiCountExactlyWhatWasProducedAndFetched) {
  ASSERT_EQ(client_->CreateTopic("m", 2).value(), 0);
  int64_t bytes_in = 0;
  constexpr int kBatches = 7, kRecords = 13;
  for (int i = 0; i < kBatches; i++) {
    for (int32_t p = 0; p < 2; p++) {
      auto batch = MakeBatch(kRecords, 40);
      bytes_in += static_cast<int64_t>(batch.size());
      auto r = client_->Produce("m", p, p == 0 ? -1 : 1, batch);
      ASSERT_TRUE(r.ok() && r->ok());
    }
  }
  auto [records0, bytes0] = FetchAll("m", 0);
  auto [records1, bytes1] = FetchAll("m", 1);
  ASSERT_EQ(records0 + records1, 2 * kBatches * kRecords);
  // One refused produce: counted as an error of its API.
  auto bad = client_->Produce("nope", 0, 1, MakeBatch(1));
  ASSERT_TRUE(bad.ok());
  ASSERT_EQ(bad->error, static_cast<int16_t>(protocol::ErrorCode::kUnknownTopicOrPartition));

  // A network thread counts a request just after it has sent the answer, so
  // the last one may be counted a moment after the client has it: scrape
  // until it is (or 5 s).
  std::string m;
  for (int i = 0; i < 500; i++) {
    m = Metrics();
    if (MetricValue(m, "sentry_requests_total{listener=\"native\",api=\"produce_acks_1\"}") ==
        kBatches + 1) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(MetricValue(m, "sentry_records_in_total{topic=\"m\"}"), 2 * kBatches * kRecords);
  EXPECT_EQ(MetricValue(m, "sentry_bytes_in_total{topic=\"m\"}"), bytes_in);
  EXPECT_EQ(MetricValue(m, "sentry_records_out_total{topic=\"m\"}"), records0 + records1);
  EXPECT_EQ(MetricValue(m, "sentry_bytes_out_total{topic=\"m\"}"), bytes0 + bytes1);
  EXPECT_EQ(MetricValue(m, "sentry_requests_total{listener=\"native\",api=\"produce_acks_all\"}"),
            kBatches);
  // The refused one is answered too.
  EXPECT_EQ(MetricValue(m, "sentry_requests_total{listener=\"native\",api=\"produce_acks_1\"}"),
            kBatches + 1);
  EXPECT_EQ(MetricValue(m, "sentry_request_duration_seconds_count{listener=\"native\","
                           "api=\"produce_acks_all\"}"),
            kBatches);
  EXPECT_EQ(MetricValue(m, "sentry_request_errors_total{listener=\"native\",api=\"produce_acks_1\","
                           "error=\"UNKNOWN_TOPIC_OR_PARTITION\"}"),
            1);
  EXPECT_EQ(MetricValue(m, "sentry_partition_high_watermark{topic=\"m\",partition=\"0\"}"),
            kBatches * kRecords);
  // acks=-1 answered only once synced: nothing of partition 0 is unsynced.
  EXPECT_EQ(MetricValue(m, "sentry_partition_durable_lag_records{topic=\"m\",partition=\"0\"}"), 0);
  EXPECT_GE(MetricValue(m, "sentry_msync_duration_seconds_count"), 1);
  EXPECT_EQ(MetricValue(m, "sentry_partitions{state=\"online\"}"), 2);
  EXPECT_EQ(MetricValue(m, "sentry_partitions{state=\"offline\"}"), 0);
  EXPECT_EQ(MetricValue(m, "sentry_connections{listener=\"native\"}"), 1);
  EXPECT_GT(MetricValue(m, "sentry_thread_busy_seconds_total{thread=\"network\",index=\"0\"}"), 0);
  EXPECT_EQ(MetricValue(m, "sentry_ready"), 1);
  EXPECT_GT(MetricValue(m, "sentry_disk_total_bytes{dir=\"" + (dir_ / "data") + "\"}"),
            0);

  auto topics = json::parse(HttpGet(http(), "/v1/topics").body);
  ASSERT_EQ(topics.size(), 1u);
  EXPECT_EQ(topics[0]["name"], "m");
  EXPECT_EQ(topics[0]["partitions"], 2);
  EXPECT_EQ(topics[0]["high_watermark_sum"], 2 * kBatches * kRecords);
  EXPECT_EQ(topics[0]["size_bytes"], bytes_in);
  auto topic = json::parse(HttpGet(http(), "/v1/topics/m").body);
  ASSERT_EQ(topic["partitions"].size(), 2u);
  for (const auto& p : topic["partitions"]) {
    EXPECT_EQ(p["high_watermark"], kBatches * kRecords);
    EXPECT_EQ(p["log_start_offset"], 0);
    EXPECT_EQ(p["offline"], false);
  }
  EXPECT_EQ(topic["partitions"][0]["durable_offset"], kBatches * kRecords);
  EXPECT_EQ(topic["config"]["cleanup.policy"], "delete");
  auto status = json::parse(HttpGet(http(), "/v1/status").body);
  EXPECT_EQ(status["partitions"]["online"], 2);
  EXPECT_EQ(status["topics"], 1);
  EXPECT_EQ(status["ready"], true);
  EXPECT_EQ(status["listeners"].size(), 3u);  // native, kafka, http
}

TEST_F(HttpTest, GroupsShowMembersCommittedOffsetsAndLag) {
  ASSERT_EQ(client_->CreateTopic("g", 1).value(), 0);
  for (int i = 0; i < 4; i++) ASSERT_TRUE(client_->Produce("g", 0, 1, MakeBatch(10)).ok());
  ASSERT_EQ(client_->CommitOffset("readers", "g", 0, 15).value(), 0);
  auto groups = json::parse(HttpGet(http(), "/v1/groups").body);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0]["group_id"], "readers");
  auto g = json::parse(HttpGet(http(), "/v1/groups/readers").body);
  ASSERT_EQ(g["offsets"].size(), 1u);
  EXPECT_EQ(g["offsets"][0]["committed_offset"], 15);
  EXPECT_EQ(g["offsets"][0]["high_watermark"], 40);
  EXPECT_EQ(g["offsets"][0]["lag"], 25);
  const std::string m = Metrics();
  EXPECT_EQ(MetricValue(m, "sentry_consumer_group_lag{group=\"readers\",topic=\"g\",partition=\"0\"}"),
            25);
  EXPECT_EQ(HttpGet(http(), "/v1/groups/nobody").status, 404);
}

TEST_F(HttpTest, ProbesAndBadRequestsGetClearAnswers) {
  EXPECT_EQ(HttpGet(http(), "/health/live").status, 200);
  EXPECT_EQ(HttpGet(http(), "/health/ready").status, 200);
  auto page = HttpGet(http(), "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<html"), std::string::npos);
  EXPECT_EQ(HttpGet(http(), "/chart.js").status, 200);
  auto missing = HttpGet(http(), "/no/such/page");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(json::parse(missing.body)["error"].get<std::string>().find("/no/such/page"),
            std::string::npos);
  EXPECT_EQ(HttpGet(http(), "/v1/topics/none").status, 404);
  EXPECT_EQ(HttpGet(http(), "/v1/groups/%zz").status, 400);
  EXPECT_EQ(HttpGet(http(), "/metrics", "POST").status, 405);
  EXPECT_EQ(HttpGet(http(), "/metrics", "DELETE").status, 405);

  // A 20 KB header: 431, and the connection is closed.
  const int fd = testing::ConnectRaw(http());
  ASSERT_GE(fd, 0);
  const std::string big = "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') +
                          "\r\n\r\n";
  ASSERT_EQ(::write(fd, big.data(), big.size()), static_cast<ssize_t>(big.size()));
  std::string got;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) got.append(buf, static_cast<size_t>(n));
  ::close(fd);
  EXPECT_EQ(got.rfind("HTTP/1.1 431", 0), 0u) << got;
  // Not HTTP at all: 400.
  const int fd2 = testing::ConnectRaw(http());
  ASSERT_GE(fd2, 0);
  const std::string junk = "\x16\x03\x01 hello there\r\n\r\n";
  ASSERT_EQ(::write(fd2, junk.data(), junk.size()), static_cast<ssize_t>(junk.size()));
  got.clear();
  while ((n = ::read(fd2, buf, sizeof(buf))) > 0) got.append(buf, static_cast<size_t>(n));
  ::close(fd2);
  EXPECT_EQ(got.rfind("HTTP/1.1 400", 0), 0u) << got;
  // Every one of those was counted by status code.
  const std::string m = Metrics();
  EXPECT_GE(MetricValue(m, "sentry_http_requests_total{code=\"404\"}"), 2);
  EXPECT_EQ(MetricValue(m, "sentry_http_requests_total{code=\"431\"}"), 1);
  EXPECT_EQ(MetricValue(m, "sentry_http_requests_total{code=\"405\"}"), 2);
}

int64_t RssKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

class HttpAbuseTest : public HttpTest {
 protected:
  std::vector<std::string> ExtraArgs() override {
    return {"--http.max.connections", "50", "--http.request.timeout.ms", "1000"};
  }
};

// 1,000 connections that send half a request and stall (slowloris): 50 are
// held until their time is up, the rest are told 503 at once; memory stays
// put; the native listener answers every produce and fetch meanwhile.
TEST_F(HttpAbuseTest, SlowAndManyClientsAreBoundedAndTheBrokerKeepsServing) {
  rlimit rl{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &rl), 0);
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < 1200) GTEST_SKIP() << "needs 1,200 descriptors, has " << rl.rlim_cur;
  ASSERT_EQ(client_->CreateTopic("a", 1).value(), 0);
  const int64_t rss_before = RssKiB(broker_->pid());

  constexpr int kClients = 1000;
  const std::string half = "GET /metrics HTTP/1.1\r\nHost: x\r\n";  // never finished
  std::vector<int> fds;
  for (int i = 0; i < kClients; i++) {
    const int fd = testing::ConnectRaw(http());
    ASSERT_GE(fd, 0) << "connection " << i;
    (void)!::write(fd, half.data(), half.size());
    fds.push_back(fd);
  }
  // Meanwhile the native listener serves as usual.
  std::vector<double> ms;
  for (int i = 0; i < 200; i++) {
    const auto t0 = std::chrono::steady_clock::now();
    auto p = client_->Produce("a", 0, 1, MakeBatch(5));
    ASSERT_TRUE(p.ok() && p->ok());
    auto f = client_->Fetch("a", 0, p->body.base_offset);
    ASSERT_TRUE(f.ok() && f->ok());
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("produce+fetch round trip during the attack: p50 %.3f ms, p99 %.3f ms\n",
              ms[ms.size() / 2], ms[ms.size() * 99 / 100]);
  const int64_t rss_during = RssKiB(broker_->pid());

  // Every stalled connection ends: 503 at once, or closed at its deadline.
  int busy = 0, closed = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (int fd : fds) {
    std::string got;
    char buf[512];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{fd, POLLIN, 0};
      if (::poll(&pfd, 1, 100) <= 0) continue;
      const ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    if (got.rfind("HTTP/1.1 503", 0) == 0) {
      busy++;
    } else if (got.empty()) {
      closed++;
    }
    ::close(fd);
  }
  EXPECT_EQ(busy + closed, kClients);
  EXPECT_LE(closed, 50);
  EXPECT_GE(busy, kClients - 50);
  // The listener is free again and its gauge says so.
  EXPECT_EQ(HttpGet(http(), "/health/live").status, 200);
  const std::string m = Metrics();
  EXPECT_LE(MetricValue(m, "sentry_connections{listener=\"http\"}"), 1);
  EXPECT_GE(MetricValue(m, "sentry_http_requests_total{code=\"503\"}"), kClients - 50);
  // Bounded memory: far less than a megabyte per connection.
  EXPECT_LT(rss_during - rss_before, 64 * 1024) << rss_before << " -> " << rss_during << " KiB";
}

}  // namespace
}  // namespace sentry

namespace sentry {
namespace {

class JsonLogTest : public testing::BrokerFixture {
 protected:
  std::vector<std::string> ExtraArgs() override { return {"--log.format", "json"}; }
};

// log.format=json: every line, from start-up to the clean stop, is one JSON
// object a log shipper can read.
TEST_F(JsonLogTest, EveryLineIsOneJsonObject) {
  ASSERT_EQ(client_->CreateTopic("q\\\"t", 1).value(),
            static_cast<int16_t>(protocol::ErrorCode::kInvalidTopic));
  ASSERT_EQ(client_->CreateTopic("fine", 1).value(), 0);
  client_.reset();
  ASSERT_EQ(broker_->Stop(), 0);
  const std::string out = broker_->Output();
  std::istringstream in(out);
  std::string line;
  int lines = 0;
  bool saw_ready = false, saw_first_start = false;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json j;
    ASSERT_NO_THROW(j = json::parse(line)) << line;
    ASSERT_TRUE(j.contains("time") && j.contains("level") && j.contains("message")) << line;
    const std::string msg = j["message"];
    saw_ready |= msg.rfind("Ready:", 0) == 0;
    saw_first_start |= msg.find("(first start)") != std::string::npos;
    lines++;
  }
  EXPECT_GE(lines, 8);
  EXPECT_TRUE(saw_ready);
  EXPECT_TRUE(saw_first_start);
}

}  // namespace
}  // namespace sentry
