#include "common/age_clock.h"

#include <spdlog/spdlog.h>

namespace sentry {

AgeClock::AgeClock(Millis wall_ms, Millis steady_ms, int64_t tolerance_ms)
    : wall_ms_(std::move(wall_ms)), steady_ms_(std::move(steady_ms)), tolerance_ms_(tolerance_ms) {
  ref_wall_ = wall_ms_();
  ref_steady_ = steady_ms_();
}

int64_t AgeClock::Now() {
  std::lock_guard<std::mutex> l(mu_);
  const int64_t wall = wall_ms_();
  const int64_t steady = steady_ms_();
  const int64_t expected = ref_wall_ + (steady - ref_steady_);
  if (wall <= expected + tolerance_ms_) {
    if (warned_) {
      spdlog::info("The wall clock is back within {} ms of the monotonic clock: data is aged by "
                   "it again",
                   tolerance_ms_);
    }
    ref_wall_ = wall;
    ref_steady_ = steady;
    ahead_ms_ = 0;
    warned_ = false;
    return wall;
  }
  ahead_ms_ = wall - expected;
  if (!warned_) {
    spdlog::warn("The wall clock jumped {} ms ahead of the monotonic clock: retention and expiry "
                 "keep aging data by the monotonic clock (nothing is deleted early) until the "
                 "wall clock is back or the broker restarts",
                 ahead_ms_);
    warned_ = true;
  }
  return expected;
}

int64_t AgeClock::ahead_ms() const {
  std::lock_guard<std::mutex> l(mu_);
  return ahead_ms_;
}

}  // namespace sentry
