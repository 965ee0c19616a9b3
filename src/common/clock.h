// Clocks: steady milliseconds for deadlines, wall-clock milliseconds for
// record timestamps. Any thread.
#pragma once

#include <time.h>

#include <chrono>
#include <cstdint>

namespace sentry {

inline int64_t SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Steady milliseconds at the kernel tick's resolution (1-10 ms) for a fifth
// of the cost: for checks that run per request but only care about seconds
// (segment.ms). Never mix its values with SteadyMillis's.
inline int64_t CoarseSteadyMillis() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

inline int64_t SteadyMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline int64_t WallMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace sentry
