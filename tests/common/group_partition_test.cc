#include "common/group_partition.h"

#include <gtest/gtest.h>

#include <string>

namespace sentry {
namespace {

// Expected values are Java's String.hashCode and Kafka's
// Utils.abs(hash) % 50, worked out from their definitions (UTF-16 units).
TEST(GroupPartitionTest, HashIsJavasStringHashCode) {
  EXPECT_EQ(JavaStringHash(""), 0);
  EXPECT_EQ(JavaStringHash("hello"), 99162322);
  EXPECT_EQ(JavaStringHash("billing"), -109829509);
  EXPECT_EQ(JavaStringHash("polygenelubricants"), INT32_MIN);
  // Two-byte UTF-8 (ü, ß): one UTF-16 unit each.
  EXPECT_EQ(JavaStringHash("gr\xC3\xBC\xC3\x9F" "e"), 98768023);
  // U+1F600 is a surrogate pair D83D DE00 in UTF-16.
  EXPECT_EQ(JavaStringHash("\xF0\x9F\x98\x80"), 0xD83D * 31 + 0xDE00);
}

TEST(GroupPartitionTest, InvalidUtf8CountsAsReplacementCharacters) {
  // A lone continuation byte and a truncated sequence: U+FFFD per byte.
  EXPECT_EQ(JavaStringHash("\x80"), 0xFFFD);
  EXPECT_EQ(JavaStringHash("a\xE2\x82"),
            static_cast<int32_t>((uint32_t{'a'} * 31u + 0xFFFDu) * 31u + 0xFFFDu));
  // An overlong encoding of '/' is not '/'.
  EXPECT_NE(JavaStringHash("\xC0\xAF"), JavaStringHash("/"));
}

TEST(GroupPartitionTest, PartitionIsKafkasAbsModulo) {
  EXPECT_EQ(OffsetsPartitionFor("hello", 50), 22);
  EXPECT_EQ(OffsetsPartitionFor("billing", 50), 9);  // negative hash: abs, not a mask
  EXPECT_EQ(OffsetsPartitionFor("polygenelubricants", 50), 0);  // Utils.abs(MIN_VALUE) = 0
  EXPECT_EQ(OffsetsPartitionFor("my-consumer-group", 50), 13);
  for (int32_t n : {1, 3, 7, 50}) {
    for (const char* g : {"", "a", "billing", "\xF0\x9F\x98\x80"}) {
      const int32_t p = OffsetsPartitionFor(g, n);
      EXPECT_GE(p, 0);
      EXPECT_LT(p, n);
    }
  }
  EXPECT_EQ(OffsetsPartitionFor("anything", 1), 0);
}

}  // namespace
}  // namespace sentry
