// AgeClock: the "now" that decisions to delete data by its age compare
// timestamps with (time retention, tombstone and offset expiry). It is the
// wall clock, except that it never runs ahead of where the monotonic clock
// says the wall clock should be. Record timestamps are wall-clock times, so
// a forward jump of the wall clock by hours (a mistyped `date`, an NTP step
// after a bad boot clock) would make every segment look hours older at once,
// and retention would delete them all in its next pass. Kafka does exactly
// that; we would rather keep data a while longer than lose it.
//
//  - Normally (the wall clock within `tolerance_ms` of its expected value,
//    or behind it): Now() is the wall clock, and becomes the new reference.
//    A backward jump is followed at once: deleting less is safe.
//  - After a forward jump past the tolerance: Now() keeps advancing from the
//    last reference at the monotonic clock's rate, one WARN line says so,
//    and the jump is ignored until the next restart (or until the wall clock
//    comes back within the tolerance). A correction that was right is thus
//    honoured at the next restart: retention lags by the jump, never leads.
//
// Thread-safe (a mutex; called once per retention or expiry pass).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>

namespace sentry {

class AgeClock {
 public:
  using Millis = std::function<int64_t()>;
  // `wall_ms` / `steady_ms`: WallMillis and SteadyMillis (tests pass fakes).
  AgeClock(Millis wall_ms, Millis steady_ms, int64_t tolerance_ms = 60000);

  int64_t Now();
  // How far the wall clock ran ahead of the monotonic clock at the last
  // Now() (0 when it did not), for metrics and tests.
  int64_t ahead_ms() const;

 private:
  const Millis wall_ms_, steady_ms_;
  const int64_t tolerance_ms_;
  mutable std::mutex mu_;
  int64_t ref_wall_ = 0, ref_steady_ = 0;  // the last wall reading trusted, and when
  int64_t ahead_ms_ = 0;
  bool warned_ = false;  // for the jump in progress
};

}  // namespace sentry
