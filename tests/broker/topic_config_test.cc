#include "broker/topic_config.h"

#include <gtest/gtest.h>

namespace sentry::broker {
namespace {

TEST(TopicConfigTest, KnownKeysAreSetAndPersistedByName) {
  TopicConfig c;
  ASSERT_TRUE(c.Set("segment.bytes", "4096").ok());
  ASSERT_TRUE(c.Set("flush.messages", "1").ok());
  ASSERT_TRUE(c.Set("retention.bytes", "-1").ok());
  EXPECT_EQ(c.segment_bytes, 4096);
  EXPECT_EQ(c.ToMap().at("flush.messages"), "1");
  EXPECT_EQ(c.ToLogConfig().segment_bytes, 4096u);
  EXPECT_EQ(c.ToFlushPolicy().flush_messages, 1);
}

TEST(TopicConfigTest, UnknownKeyBadNumberAndOutOfRangeAreRefusedByName) {
  TopicConfig c;
  Status s = c.Set("segment.size", "1");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("segment.size"), std::string::npos);
  EXPECT_FALSE(c.Set("segment.bytes", "12x").ok());
  EXPECT_FALSE(c.Set("segment.bytes", "").ok());
  EXPECT_FALSE(c.Set("segment.bytes", "100").ok());
  EXPECT_FALSE(c.Set("flush.messages", "0").ok());
  EXPECT_FALSE(c.Set("cleanup.policy", "compact").ok());
  EXPECT_TRUE(c.Set("cleanup.policy", "delete").ok());
  EXPECT_EQ(c.segment_bytes, TopicConfig{}.segment_bytes);  // unchanged by failures
}

}  // namespace
}  // namespace sentry::broker
