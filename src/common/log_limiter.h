// LogLimiter: at most one log line per interval for an event a peer can
// repeat at will (a client retrying a request we refuse), so the log stays
// readable; the lines not written are counted and reported with the next.
// Any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "common/clock.h"

namespace sentry {

class LogLimiter {
 public:
  explicit LogLimiter(int64_t interval_ms = 10000) : interval_ms_(interval_ms) {}

  // True: write the line now. False: it was counted instead.
  bool Allow() {
    const int64_t now = SteadyMillis();
    int64_t next = next_ms_.load(std::memory_order_relaxed);
    if (now >= next &&
        next_ms_.compare_exchange_strong(next, now + interval_ms_, std::memory_order_relaxed)) {
      return true;
    }
    suppressed_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  // Text to append to an allowed line: how many were not written before it.
  std::string Suppressed() {
    const uint64_t n = suppressed_.exchange(0, std::memory_order_relaxed);
    return n == 0 ? std::string() : " (" + std::to_string(n) + " similar lines not logged)";
  }

 private:
  const int64_t interval_ms_;
  std::atomic<int64_t> next_ms_{0};
  std::atomic<uint64_t> suppressed_{0};
};

}  // namespace sentry
