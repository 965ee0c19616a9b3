#include "common/endian.h"

#include <gtest/gtest.h>

namespace sentry {
namespace {

TEST(EndianTest, WritesBigEndianBytes) {
  uint8_t b[8];
  PutU32(b, 0x01020304);
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[3], 4);
  PutU16(b, 0xABCD);
  EXPECT_EQ(b[0], 0xAB);
  EXPECT_EQ(b[1], 0xCD);
  PutU64(b, 0x0102030405060708ull);
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[7], 8);
}

TEST(EndianTest, RoundTripsNegativeValues) {
  uint8_t b[8];
  PutI16(b, -2);
  EXPECT_EQ(GetI16(b), -2);
  PutI32(b, -123456789);
  EXPECT_EQ(GetI32(b), -123456789);
  PutI64(b, -1);
  EXPECT_EQ(GetI64(b), -1);
  EXPECT_EQ(b[0], 0xFF);
}

}  // namespace
}  // namespace sentry
