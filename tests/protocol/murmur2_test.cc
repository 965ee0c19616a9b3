#include "common/murmur2.h"

#include <gtest/gtest.h>

#include <string>

namespace sentry {
namespace {

int32_t M(const std::string& s) {
  return Murmur2(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// Values from Apache Kafka's own test of Utils.murmur2 (UtilsTest).
TEST(Murmur2Test, MatchesKafkaReferenceValues) {
  EXPECT_EQ(M("21"), -973932308);
  EXPECT_EQ(M("foobar"), -790332482);
  EXPECT_EQ(M("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(M("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(M("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(M("abc"), 479470107);
}

TEST(Murmur2Test, PartitionIsNonNegativeAndStable) {
  for (int i = 0; i < 1000; i++) {
    std::string k = "key-" + std::to_string(i);
    int32_t p = KafkaPartitionForKey(reinterpret_cast<const uint8_t*>(k.data()), k.size(), 7);
    ASSERT_GE(p, 0);
    ASSERT_LT(p, 7);
  }
}

}  // namespace
}  // namespace sentry
