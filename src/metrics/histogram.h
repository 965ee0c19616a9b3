// Histograms of durations, Prometheus style (cumulative buckets, sum,
// count), built for a hot path that must pay almost nothing.
//
// LocalHistogram is written by one thread at a time (its owner, or whoever
// holds the lock that serialises the writes): a plain load and store per
// field, no read-modify-write, no lock prefix. Any thread may read it at
// the same time (a scrape); it then sees each field as of some recent
// moment, which is what a scrape needs.
// HistogramSnapshot is a plain copy: scrapes merge the threads' histograms
// into one and compute quantiles from it.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace sentry::metrics {

// Upper bounds of the buckets, in nanoseconds: 50 us to 30 s, roughly 1-2.5-5
// per decade (Prometheus' usual spacing). Everything above lands in +Inf.
inline constexpr std::array<int64_t, 19> kBoundsNanos = {
    50'000,        100'000,       250'000,       500'000,        1'000'000,
    2'500'000,     5'000'000,     10'000'000,    25'000'000,     50'000'000,
    100'000'000,   250'000'000,   500'000'000,   1'000'000'000,  2'500'000'000,
    5'000'000'000, 10'000'000'000, 20'000'000'000, 30'000'000'000};
inline constexpr size_t kBuckets = kBoundsNanos.size() + 1;  // the last one is +Inf

// Adds `d` to a counter that only one thread writes at a time.
inline void Bump(std::atomic<uint64_t>& a, uint64_t d = 1) {
  a.store(a.load(std::memory_order_relaxed) + d, std::memory_order_relaxed);
}

struct HistogramSnapshot {
  std::array<uint64_t, kBuckets> counts{};  // per bucket, not cumulative
  uint64_t sum_nanos = 0;

  uint64_t count() const;
  void Add(const HistogramSnapshot& o);
  // The q-quantile (0..1) in seconds, interpolated linearly inside its
  // bucket as Prometheus' histogram_quantile does; 0 when empty. A quantile
  // in +Inf is reported as the highest finite bound.
  double QuantileSeconds(double q) const;
};

class LocalHistogram {
 public:
  void Observe(int64_t nanos);  // the writer
  void AddTo(HistogramSnapshot* out) const;  // any thread

  // The bucket `nanos` falls in (exposed for tests).
  static size_t BucketOf(int64_t nanos);

 private:
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<uint64_t> sum_nanos_{0};
};

}  // namespace sentry::metrics
