// clock_shift: an LD_PRELOAD library that shifts a process's wall clock by
// an amount another process changes while it runs (tests/crash/
// clock_jump_test.py). CLOCK_MONOTONIC and the other clocks stay real, as
// on a machine whose clock is stepped by hand or by NTP.
//
//   SENTRY_CLOCK_SHIFT_FILE=F LD_PRELOAD=libclock_shift.so sentryd ...
//
// F holds one little-endian int64: the shift in milliseconds. It is mapped
// shared, so a write to it reaches every thread of the process at its next
// clock read, at the cost of one load. (Debian's libfaketime does this from
// a file too, but either caches the file for seconds or, with
// FAKETIME_NO_CACHE, opens and reads it on every clock read: a broker reads
// clocks on every request.) An 8-byte aligned load cannot tear on x86-64.
//
// Shifted: clock_gettime(CLOCK_REALTIME, CLOCK_REALTIME_COARSE), which
// std::chrono::system_clock::now() calls, gettimeofday() and time().
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>

namespace {

using ClockGettime = int (*)(clockid_t, struct timespec*);
using GetTimeOfDay = int (*)(struct timeval*, void*);

// Maps the shift file once; without the variable or the file, no shift.
const std::atomic<int64_t>* Shift() {
  static const std::atomic<int64_t>* shift = [] () -> const std::atomic<int64_t>* {
    const char* path = std::getenv("SENTRY_CLOCK_SHIFT_FILE");
    if (path == nullptr) return nullptr;
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nullptr;
    void* p = ::mmap(nullptr, sizeof(int64_t), PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    return p == MAP_FAILED ? nullptr : static_cast<const std::atomic<int64_t>*>(p);
  }();
  return shift;
}

int64_t ShiftMs() {
  const std::atomic<int64_t>* shift = Shift();
  return shift == nullptr ? 0 : shift->load(std::memory_order_relaxed);
}

void AddMs(struct timespec* ts, int64_t ms) {
  int64_t ns = ts->tv_nsec + (ms % 1000) * 1000000;
  int64_t s = ts->tv_sec + ms / 1000;
  if (ns < 0) {
    ns += 1000000000;
    s--;
  } else if (ns >= 1000000000) {
    ns -= 1000000000;
    s++;
  }
  ts->tv_sec = static_cast<time_t>(s);
  ts->tv_nsec = static_cast<long>(ns);
}

}  // namespace

extern "C" {

int clock_gettime(clockid_t clock, struct timespec* ts) {
  static const auto real = reinterpret_cast<ClockGettime>(dlsym(RTLD_NEXT, "clock_gettime"));
  const int rc = real(clock, ts);
  if (rc == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) {
    AddMs(ts, ShiftMs());
  }
  return rc;
}

int gettimeofday(struct timeval* tv, void* tz) {
  static const auto real = reinterpret_cast<GetTimeOfDay>(dlsym(RTLD_NEXT, "gettimeofday"));
  const int rc = real(tv, tz);
  if (rc == 0) {  // glibc declares tv non-null
    struct timespec ts{tv->tv_sec, tv->tv_usec * 1000};
    AddMs(&ts, ShiftMs());
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;
  }
  return rc;
}

time_t time(time_t* out) {
  struct timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  if (out != nullptr) *out = ts.tv_sec;
  return ts.tv_sec;
}

}  // extern "C"
