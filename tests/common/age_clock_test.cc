#include "common/age_clock.h"

#include <gtest/gtest.h>

namespace sentry {
namespace {

struct FakeClocks {
  int64_t wall = 1'700'000'000'000;
  int64_t steady = 5'000;
  AgeClock clock{[this] { return wall; }, [this] { return steady; }, 60'000};
  void Pass(int64_t ms) {  // time passes: both clocks move
    wall += ms;
    steady += ms;
  }
};

constexpr int64_t kHour = 3'600'000;

TEST(AgeClockTest, FollowsTheWallClockWhileItKeepsPace) {
  FakeClocks c;
  c.Pass(1000);
  EXPECT_EQ(c.clock.Now(), c.wall);
  c.wall += 30'000;  // NTP slews and small steps stay within the tolerance
  c.Pass(1000);
  EXPECT_EQ(c.clock.Now(), c.wall);
  EXPECT_EQ(c.clock.ahead_ms(), 0);
}

TEST(AgeClockTest, AForwardJumpIsNotFollowedSoNothingAgesEarly) {
  FakeClocks c;
  c.Pass(1000);
  const int64_t before = c.clock.Now();
  c.wall += 5 * kHour;  // the jump
  c.Pass(2000);
  EXPECT_EQ(c.clock.Now(), before + 2000) << "advances at the monotonic rate";
  EXPECT_EQ(c.clock.ahead_ms(), 5 * kHour);
  c.Pass(10'000);
  EXPECT_EQ(c.clock.Now(), before + 12'000);
  // The wall clock set right again: followed from there on.
  c.wall -= 5 * kHour;
  c.Pass(1000);
  EXPECT_EQ(c.clock.Now(), c.wall);
  EXPECT_EQ(c.clock.ahead_ms(), 0);
}

TEST(AgeClockTest, ABackwardJumpIsFollowedAtOnce) {
  FakeClocks c;
  c.Pass(1000);
  c.wall -= 3 * kHour;
  c.Pass(1000);
  EXPECT_EQ(c.clock.Now(), c.wall) << "aging less is safe";
  c.Pass(1000);
  EXPECT_EQ(c.clock.Now(), c.wall);
}

}  // namespace
}  // namespace sentry
