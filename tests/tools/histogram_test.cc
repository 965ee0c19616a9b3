#include "sentry-bench/histogram.h"

#include <gtest/gtest.h>

#include <random>

namespace sentry::bench {
namespace {

TEST(HistogramTest, SmallValuesAreExact) {
  Histogram h;
  for (uint64_t v = 0; v < 256; v++) {
    EXPECT_EQ(Histogram::IndexOf(v), v);
    EXPECT_EQ(Histogram::HighestInBucket(Histogram::IndexOf(v)), v);
  }
}

TEST(HistogramTest, BucketsAreContiguousAndWithinOnePercent) {
  // Every bucket starts right after the previous one ends, up to 2^63.
  uint64_t expected_low = 0;
  for (size_t i = 0; i < Histogram::kBuckets; i++) {
    const uint64_t high = Histogram::HighestInBucket(i);
    EXPECT_EQ(Histogram::IndexOf(expected_low), i) << "bucket " << i;
    EXPECT_EQ(Histogram::IndexOf(high), i) << "bucket " << i;
    if (expected_low > 0) {
      EXPECT_LE(static_cast<double>(high - expected_low) / static_cast<double>(expected_low),
                1.0 / 128) << "bucket " << i;
    }
    if (high == UINT64_MAX) break;
    expected_low = high + 1;
  }
  EXPECT_EQ(Histogram::IndexOf(UINT64_MAX), Histogram::kBuckets - 1);
}

TEST(HistogramTest, PercentilesOfUniformValues) {
  Histogram h;
  for (uint64_t v = 1; v <= 100000; v++) h.Record(v * 1000);  // 1 us .. 100 ms in ns
  EXPECT_EQ(h.count(), 100000u);
  EXPECT_NEAR(static_cast<double>(h.Percentile(50)), 50e6, 50e6 / 128);
  EXPECT_NEAR(static_cast<double>(h.Percentile(99)), 99e6, 99e6 / 128);
  EXPECT_NEAR(static_cast<double>(h.Percentile(99.9)), 99.9e6, 99.9e6 / 128);
  EXPECT_EQ(h.Percentile(100), 100000u * 1000);
  EXPECT_EQ(h.max(), 100000u * 1000);
  EXPECT_EQ(h.min(), 1000u);
}

TEST(HistogramTest, OneOutlierShowsAtTheTopPercentileOnly) {
  Histogram h;
  for (int i = 0; i < 999; i++) h.Record(100);
  h.Record(5'000'000);
  EXPECT_EQ(h.Percentile(50), 100u);
  EXPECT_EQ(h.Percentile(99), 100u);
  EXPECT_GE(h.Percentile(99.95), 5'000'000u - 5'000'000u / 128);
  EXPECT_EQ(h.max(), 5'000'000u);
}

TEST(HistogramTest, MergeAddsCounts) {
  Histogram a, b;
  for (int i = 0; i < 10; i++) a.Record(10);
  for (int i = 0; i < 30; i++) b.Record(1000);
  a.Merge(b);
  EXPECT_EQ(a.count(), 40u);
  EXPECT_EQ(a.Percentile(25), 10u);
  EXPECT_EQ(a.Percentile(50), 1000u);
  EXPECT_EQ(a.max(), 1000u);
}

TEST(HistogramTest, EmptyReportsZero) {
  Histogram h;
  EXPECT_EQ(h.Percentile(99), 0u);
  EXPECT_EQ(h.max(), 0u);
}

}  // namespace
}  // namespace sentry::bench
