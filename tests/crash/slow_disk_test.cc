// A slow disk (issue 18): sentryd's data dir on cutfs with every fsync/msync
// taking 300 ms (and the whole file system stalled meanwhile, like a disk
// whose queue is stuck behind a cache flush). acks=1 and acks=-1 producers
// run side by side for a few seconds, each keeping 8 requests in flight on
// its own connection, then stop sending and collect every answer:
//   - every request is answered, none fails, none waits past its timeout;
//   - acks=-1 answers wait for the slow syncs (median >= 300 ms), acks=1
//     answers do not queue behind them (many times more are answered);
//   - nothing queues without bound: the broker's peak RSS stays small;
//   - the stall shows in /metrics (sentry_msync_duration_seconds).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "cutfs/cutfs_process.h"
#include "integration/broker_process.h"
#include "integration/http_get.h"
#include "protocol/messages.h"
#include "test_util.h"

namespace sentry {
namespace {

using Clock = std::chrono::steady_clock;

struct ProducerRun {
  int answered = 0;
  int failed = 0;       // an error code, or no answer within the receive timeout
  std::vector<double> latency_ms;
};

// Keeps 8 produce requests in flight on one connection until `stop`, then
// waits for the answer to every request it sent.
ProducerRun Produce(int port, const std::string& topic, int16_t acks,
                    const std::atomic<bool>* stop) {
  ProducerRun run;
  auto conn = client::Connection::Connect("127.0.0.1", port);
  if (!conn.ok()) {
    run.failed = -1;
    return run;
  }
  std::map<uint32_t, Clock::time_point> in_flight;
  auto batch = testing::MakeBatch(10, 100);
  while (true) {
    while (!stop->load() && in_flight.size() < 8) {
      auto corr = (*conn)->Send(1, client::Client::EncodeProduce(topic, 0, acks, batch, 10000));
      if (!corr.ok()) {
        run.failed++;
        return run;
      }
      in_flight[corr.value()] = Clock::now();
    }
    if (in_flight.empty()) return run;
    // The request timeout is 10 s: an answer later than 12 s never came.
    auto r = (*conn)->Receive(12000);
    if (!r.ok()) {
      run.failed += static_cast<int>(in_flight.size());
      return run;
    }
    auto it = in_flight.find(r->header.correlation_id);
    if (it == in_flight.end()) {
      run.failed++;
      return run;
    }
    run.latency_ms.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - it->second).count());
    in_flight.erase(it);
    if (r->error_code == 0) {
      run.answered++;
    } else {
      run.failed++;
    }
  }
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

// The value of a metric line "name value" in a Prometheus exposition.
double MetricValue(const std::string& body, const std::string& name) {
  auto at = body.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(body.substr(at + name.size() + 2));
}

TEST(SlowDiskTest, SlowSyncsDelayOnlyAcksAllAndEveryRequestIsAnswered) {
  constexpr int kSyncDelayMs = 300;
  testing::TempDir dir;
  testing::CutFs disk(dir / "disk", 5, {"--sync-delay-ms", std::to_string(kSyncDelayMs)});
  std::string why;
  ASSERT_TRUE(disk.Mount(&why)) << why;
  testing::BrokerProcess broker(dir / "disk/data", {});
  ASSERT_TRUE(broker.Start()) << broker.Output();
  {
    auto c = broker.NewClient();
    ASSERT_EQ(c->CreateTopic("fast", 1).value(), 0);
    ASSERT_EQ(c->CreateTopic("durable", 1).value(), 0);
  }
  std::atomic<bool> stop{false};
  ProducerRun fast, durable;
  std::thread t1([&] { fast = Produce(broker.port(), "fast", 1, &stop); });
  std::thread t2([&] { durable = Produce(broker.port(), "durable", -1, &stop); });
  std::this_thread::sleep_for(std::chrono::seconds(4));  // the load's duration
  stop = true;
  t1.join();
  t2.join();
  auto metrics = testing::HttpGet(broker.http_port(), "/metrics");
  const long rss_kb = broker.PeakRssKb();
  std::printf("sync delay %d ms: acks=1 %d answered (median %.1f ms), acks=-1 %d answered "
              "(median %.1f ms, max %.1f ms); peak RSS %ld KiB\n",
              kSyncDelayMs, fast.answered, Median(fast.latency_ms), durable.answered,
              Median(durable.latency_ms),
              durable.latency_ms.empty() ? 0.0
                                         : *std::max_element(durable.latency_ms.begin(),
                                                             durable.latency_ms.end()),
              rss_kb);
  EXPECT_EQ(fast.failed, 0);
  EXPECT_EQ(durable.failed, 0);
  EXPECT_GT(durable.answered, 0);
  EXPECT_GE(Median(durable.latency_ms), kSyncDelayMs) << "acks=-1 waited for no sync";
  EXPECT_GE(fast.answered, 5 * durable.answered) << "acks=1 queued behind the syncs";
  EXPECT_LT(rss_kb, 256 * 1024);
  ASSERT_EQ(metrics.status, 200);
  double count = MetricValue(metrics.body, "sentry_msync_duration_seconds_count");
  double sum = MetricValue(metrics.body, "sentry_msync_duration_seconds_sum");
  ASSERT_GT(count, 0) << metrics.body;
  EXPECT_GE(sum / count, kSyncDelayMs / 1000.0 * 0.9) << "the stall does not show in /metrics";
  EXPECT_EQ(broker.Stop(), 0) << broker.Output();
}

}  // namespace
}  // namespace sentry
