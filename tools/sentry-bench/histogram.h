// Histogram: HdrHistogram-style log-linear latency buckets.
//
// Values below 256 get exact buckets; above, every power of two [2^k, 2^(k+1))
// is split into 128 equal sub-buckets, so a reported value is within 1/128
// (< 0.8 %) of the true one at any magnitude, in a fixed 7,424-slot array:
// recording is a few instructions and never allocates.
//
//   e = max(0, msb(v) - 7);   index = e * 128 + (v >> e)
//
// Threads: one thread records; Merge() combines per-thread histograms after
// those threads are done.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace sentry::bench {

class Histogram {
 public:
  static constexpr int kSubBits = 7;
  static constexpr uint64_t kSub = uint64_t{1} << kSubBits;  // 128
  static constexpr size_t kBuckets = (64 - kSubBits) * kSub + kSub;  // covers any uint64

  static size_t IndexOf(uint64_t v) {
    const int msb = v == 0 ? 0 : 63 - std::countl_zero(v);
    const int e = std::max(0, msb - kSubBits);
    return static_cast<size_t>(e) * kSub + (v >> e);
  }
  // Largest value that falls in bucket `i` (what percentiles report).
  static uint64_t HighestInBucket(size_t i) {
    if (i < 2 * kSub) return i;
    const int e = static_cast<int>(i / kSub) - 1;
    const uint64_t m = i - static_cast<uint64_t>(e) * kSub;  // in [128, 256)
    return ((m + 1) << e) - 1;
  }

  void Record(uint64_t v) {
    counts_[IndexOf(v)]++;
    total_++;
    max_ = std::max(max_, v);
    min_ = std::min(min_, v);
  }
  void Merge(const Histogram& o) {
    for (size_t i = 0; i < kBuckets; i++) counts_[i] += o.counts_[i];
    total_ += o.total_;
    max_ = std::max(max_, o.max_);
    min_ = std::min(min_, o.min_);
  }
  void Reset() { *this = Histogram(); }

  uint64_t count() const { return total_; }
  uint64_t max() const { return total_ ? max_ : 0; }
  uint64_t min() const { return total_ ? min_ : 0; }
  // Smallest bucket bound with at least `p` percent of the values at or below
  // it (capped at the exact max). 0 when empty.
  uint64_t Percentile(double p) const {
    if (total_ == 0) return 0;
    uint64_t want = static_cast<uint64_t>(p / 100.0 * static_cast<double>(total_) + 0.5);
    want = std::clamp<uint64_t>(want, 1, total_);
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; i++) {
      seen += counts_[i];
      if (seen >= want) return std::min(HighestInBucket(i), max_);
    }
    return max_;
  }

 private:
  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
  uint64_t max_ = 0;
  uint64_t min_ = UINT64_MAX;
};

}  // namespace sentry::bench
