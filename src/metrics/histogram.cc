#include "metrics/histogram.h"

#include <algorithm>

namespace sentry::metrics {

uint64_t HistogramSnapshot::count() const {
  uint64_t n = 0;
  for (uint64_t c : counts) n += c;
  return n;
}

void HistogramSnapshot::Add(const HistogramSnapshot& o) {
  for (size_t i = 0; i < kBuckets; i++) counts[i] += o.counts[i];
  sum_nanos += o.sum_nanos;
}

double HistogramSnapshot::QuantileSeconds(double q) const {
  const uint64_t total = count();
  if (total == 0) return 0;
  q = std::clamp(q, 0.0, 1.0);
  const double rank = q * static_cast<double>(total);
  uint64_t below = 0;
  for (size_t i = 0; i < kBuckets; i++) {
    if (counts[i] == 0) continue;
    const uint64_t upto = below + counts[i];
    if (static_cast<double>(upto) >= rank) {
      if (i == kBuckets - 1) return static_cast<double>(kBoundsNanos.back()) / 1e9;
      const double lo = i == 0 ? 0.0 : static_cast<double>(kBoundsNanos[i - 1]);
      const double hi = static_cast<double>(kBoundsNanos[i]);
      const double frac = (rank - static_cast<double>(below)) / static_cast<double>(counts[i]);
      return (lo + (hi - lo) * frac) / 1e9;
    }
    below = upto;
  }
  return static_cast<double>(kBoundsNanos.back()) / 1e9;
}

size_t LocalHistogram::BucketOf(int64_t nanos) {
  // Prometheus buckets are "less than or equal to the bound".
  return static_cast<size_t>(std::lower_bound(kBoundsNanos.begin(), kBoundsNanos.end(), nanos) -
                             kBoundsNanos.begin());
}

void LocalHistogram::Observe(int64_t nanos) {
  if (nanos < 0) nanos = 0;
  Bump(counts_[BucketOf(nanos)]);
  Bump(sum_nanos_, static_cast<uint64_t>(nanos));
}

void LocalHistogram::AddTo(HistogramSnapshot* out) const {
  for (size_t i = 0; i < kBuckets; i++) {
    out->counts[i] += counts_[i].load(std::memory_order_relaxed);
  }
  out->sum_nanos += sum_nanos_.load(std::memory_order_relaxed);
}

}  // namespace sentry::metrics
