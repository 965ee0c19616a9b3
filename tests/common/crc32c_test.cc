#include "common/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace sentry {
namespace {

TEST(Crc32cTest, PortableMatchesStandardCheckValue) {
  EXPECT_EQ(Crc32cPortable("123456789", 9), 0xE3069283u);
}

TEST(Crc32cTest, HardwareMatchesStandardCheckValue) {
  if (!Crc32cHardwareAvailable()) GTEST_SKIP() << "CPU has no SSE4.2";
  EXPECT_EQ(Crc32cHardware("123456789", 9), 0xE3069283u);
}

TEST(Crc32cTest, DispatchMatchesCheckValue) { EXPECT_EQ(Crc32c("123456789", 9), 0xE3069283u); }

TEST(Crc32cTest, EmptyInputIsZero) { EXPECT_EQ(Crc32c("", 0), 0u); }

TEST(Crc32cTest, HardwareAndPortableAgreeOnRandomData) {
  if (!Crc32cHardwareAvailable()) GTEST_SKIP() << "CPU has no SSE4.2";
  std::mt19937_64 rng(42);
  std::vector<uint8_t> buf(10000);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (int trial = 0; trial < 500; trial++) {
    size_t off = rng() % 64;
    size_t len = rng() % (buf.size() - off);
    ASSERT_EQ(Crc32cHardware(buf.data() + off, len), Crc32cPortable(buf.data() + off, len))
        << "off=" << off << " len=" << len;
  }
}

TEST(Crc32cTest, ExtendingInPiecesEqualsWhole) {
  std::string s = "The quick brown fox jumps over the lazy dog";
  uint32_t whole = Crc32c(s.data(), s.size());
  uint32_t part = Crc32c(s.data(), 10);
  part = Crc32c(s.data() + 10, s.size() - 10, part);
  EXPECT_EQ(whole, part);
  EXPECT_EQ(Crc32cPortable(s.data() + 10, s.size() - 10, Crc32cPortable(s.data(), 10)), whole);
}

TEST(Crc32cTest, SingleBitFlipChangesCrc) {
  std::string s(100, 'a');
  uint32_t before = Crc32c(s.data(), s.size());
  s[50] ^= 1;
  EXPECT_NE(before, Crc32c(s.data(), s.size()));
}

}  // namespace
}  // namespace sentry
