// Histograms, the per-thread maps and the Prometheus text format.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "metrics/exposition.h"
#include "metrics/histogram.h"
#include "metrics/thread_metrics.h"

namespace sentry::metrics {
namespace {

TEST(HistogramTest, ValuesOnABoundGoInThatBucketAboveInTheNext) {
  EXPECT_EQ(LocalHistogram::BucketOf(0), 0u);
  EXPECT_EQ(LocalHistogram::BucketOf(50'000), 0u);  // le="5e-05" includes 50 us
  EXPECT_EQ(LocalHistogram::BucketOf(50'001), 1u);
  EXPECT_EQ(LocalHistogram::BucketOf(1'000'000), 4u);
  EXPECT_EQ(LocalHistogram::BucketOf(30'000'000'000), kBoundsNanos.size() - 1);
  EXPECT_EQ(LocalHistogram::BucketOf(30'000'000'001), kBoundsNanos.size());  // +Inf
}

TEST(HistogramTest, SnapshotCountsSumsAndMerges) {
  LocalHistogram a, b;
  a.Observe(1'000);        // 1 us
  a.Observe(2'000'000);    // 2 ms
  b.Observe(-5);           // clock oddity: counted as 0
  HistogramSnapshot s;
  a.AddTo(&s);
  b.AddTo(&s);
  EXPECT_EQ(s.count(), 3u);
  EXPECT_EQ(s.sum_nanos, 2'001'000u);
  EXPECT_EQ(s.counts[0], 2u);
  EXPECT_EQ(s.counts[LocalHistogram::BucketOf(2'000'000)], 1u);
}

TEST(HistogramTest, QuantilesInterpolateInsideTheirBucketAsPrometheusDoes) {
  HistogramSnapshot s;
  EXPECT_EQ(s.QuantileSeconds(0.5), 0.0);  // empty
  // 100 values in (1 ms, 2.5 ms]: the median is halfway through the bucket.
  s.counts[LocalHistogram::BucketOf(2'000'000)] = 100;
  EXPECT_NEAR(s.QuantileSeconds(0.5), 0.00175, 1e-9);
  EXPECT_NEAR(s.QuantileSeconds(1.0), 0.0025, 1e-9);
  // Everything in +Inf: the highest finite bound.
  HistogramSnapshot inf;
  inf.counts[kBuckets - 1] = 3;
  EXPECT_EQ(inf.QuantileSeconds(0.99), 30.0);
}

TEST(ExpositionTest, FamiliesSamplesAndEscapedLabels) {
  Exposition e;
  e.Family("sentry_x_total", Exposition::Type::kCounter, "A \\ help\nline.");
  e.Sample("sentry_x_total", {{"topic", "a\"b\\c\nd"}}, 3);
  e.Sample("sentry_x_total", {}, 0.25);
  EXPECT_EQ(e.text(),
            "# HELP sentry_x_total A \\\\ help\\nline.\n"
            "# TYPE sentry_x_total counter\n"
            "sentry_x_total{topic=\"a\\\"b\\\\c\\nd\"} 3\n"
            "sentry_x_total 0.25\n");
}

TEST(ExpositionTest, HistogramBucketsAreCumulativeAndEndWithInf) {
  LocalHistogram h;
  h.Observe(10'000);         // bucket 0
  h.Observe(3'000'000);      // 5 ms bucket
  h.Observe(60'000'000'000); // +Inf
  HistogramSnapshot s;
  h.AddTo(&s);
  Exposition e;
  e.Histogram("sentry_d_seconds", {{"api", "fetch"}}, s);
  const std::string& t = e.text();
  EXPECT_NE(t.find("sentry_d_seconds_bucket{api=\"fetch\",le=\"5e-05\"} 1\n"), std::string::npos);
  EXPECT_NE(t.find("sentry_d_seconds_bucket{api=\"fetch\",le=\"0.005\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("sentry_d_seconds_bucket{api=\"fetch\",le=\"30\"} 2\n"), std::string::npos);
  EXPECT_NE(t.find("sentry_d_seconds_bucket{api=\"fetch\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(t.find("sentry_d_seconds_count{api=\"fetch\"} 3\n"), std::string::npos);
  EXPECT_NE(t.find("sentry_d_seconds_sum{api=\"fetch\"} 60.00301\n"), std::string::npos);
}

TEST(ThreadMetricsTest, ApiNamesBecomeSnakeCase) {
  EXPECT_EQ(MetricApiName("ListOffsets"), "list_offsets");
  EXPECT_EQ(MetricApiName("LIST_OFFSETS"), "list_offsets");
  EXPECT_EQ(MetricApiName("Produce"), "produce");
  EXPECT_EQ(MetricApiName("ConsumerGroupHeartbeat"), "consumer_group_heartbeat");
}

TEST(ThreadMetricsTest, ErrorsCountUnderTheCurrentRequestOnlyWithMetricsInstalled) {
  ThreadMetrics m;
  ThreadMetrics::SetCurrent(nullptr);
  ThreadMetrics::BeginRequest(Listener::kKafka, "fetch", SteadyNanos());
  ThreadMetrics::ErrorInRequest(3);  // no metrics on this thread: nothing, no crash
  ThreadMetrics::SetCurrent(&m);
  ThreadMetrics::ErrorInRequest(0);  // not an error
  ThreadMetrics::ErrorInRequest(3);
  ThreadMetrics::ErrorInRequest(3);
  ThreadMetrics::EndRequest();
  ThreadMetrics::SetCurrent(nullptr);
  int errors = 0;
  m.ForEachError([&](const RequestKey& k, const std::atomic<uint64_t>& n) {
    EXPECT_EQ(k.api, "fetch");
    EXPECT_EQ(k.listener, Listener::kKafka);
    EXPECT_EQ(k.error, 3);
    errors += static_cast<int>(n.load());
  });
  EXPECT_EQ(errors, 2);
  uint64_t requests = 0;
  m.ForEachRequest([&](const RequestKey&, const ThreadMetrics::RequestCell& c) {
    HistogramSnapshot s;
    c.latency.AddTo(&s);
    requests += s.count();
  });
  EXPECT_EQ(requests, 1u);
}

// The owner grows its maps while a scraper iterates: no lost or torn counts
// (and a clean ThreadSanitizer run).
TEST(ThreadMetricsTest, ScrapesRunWhileTheOwnerAddsKeys) {
  ThreadMetrics m;
  std::atomic<bool> done{false};
  std::thread owner([&] {
    for (int i = 0; i < 2000; i++) {
      m.Out("topic-" + std::to_string(i % 97), i % 5, 2, 100);
      m.Request(Listener::kNative, i % 2 ? "fetch" : "produce_acks_1", 1000);
    }
    done = true;
  });
  uint64_t last = 0;
  while (!done.load()) {
    uint64_t records = 0;
    m.ForEachOut([&](const TopicPartition&, const ThreadMetrics::OutCell& c) {
      records += c.records.load(std::memory_order_relaxed);
    });
    EXPECT_GE(records, last);  // counters never go back
    last = records;
  }
  owner.join();
  uint64_t records = 0, bytes = 0;
  size_t keys = 0;
  m.ForEachOut([&](const TopicPartition&, const ThreadMetrics::OutCell& c) {
    records += c.records.load();
    bytes += c.bytes.load();
    keys++;
  });
  EXPECT_EQ(records, 4000u);
  EXPECT_EQ(bytes, 200000u);
  EXPECT_EQ(keys, 485u);  // 97 x 5 pairs (coprime periods: every pair is met)
}

}  // namespace
}  // namespace sentry::metrics
