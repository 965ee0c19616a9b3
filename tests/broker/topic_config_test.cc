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
  EXPECT_FALSE(c.Set("cleanup.policy", "compacted").ok());
  EXPECT_FALSE(c.Set("cleanup.policy", "").ok());
  EXPECT_FALSE(c.Set("min.cleanable.dirty.ratio", "1.5").ok());
  EXPECT_FALSE(c.Set("min.cleanable.dirty.ratio", "x").ok());
  EXPECT_FALSE(c.Set("max.compaction.lag.ms", "0").ok());
  EXPECT_EQ(c.segment_bytes, TopicConfig{}.segment_bytes);  // unchanged by failures
  EXPECT_EQ(c.CleanupPolicy(), "delete");
  EXPECT_DOUBLE_EQ(c.min_cleanable_dirty_ratio, 0.5);
}

TEST(TopicConfigTest, CleanupPolicyAndCleanerSettingsAsKafkaNamesThem) {
  TopicConfig c;
  ASSERT_TRUE(c.Set("cleanup.policy", "compact").ok());
  EXPECT_TRUE(c.cleanup_compact);
  EXPECT_FALSE(c.cleanup_delete);
  EXPECT_TRUE(c.ToLogConfig().compacted);
  ASSERT_TRUE(c.Set("cleanup.policy", "delete, compact").ok());
  EXPECT_EQ(c.ToMap().at("cleanup.policy"), "compact,delete");
  ASSERT_TRUE(c.Set("min.cleanable.dirty.ratio", "0.25").ok());
  ASSERT_TRUE(c.Set("delete.retention.ms", "1000").ok());
  ASSERT_TRUE(c.Set("min.compaction.lag.ms", "20").ok());
  const CleanerConfig cc = c.ToCleanerConfig();
  EXPECT_DOUBLE_EQ(cc.min_cleanable_dirty_ratio, 0.25);
  EXPECT_EQ(cc.delete_retention_ms, 1000);
  EXPECT_EQ(cc.min_compaction_lag_ms, 20);
  // Persisted by name and read back the same.
  TopicConfig back;
  for (const auto& [k, v] : c.ToMap()) ASSERT_TRUE(back.Set(k, v).ok()) << k << "=" << v;
  EXPECT_EQ(back.ToMap(), c.ToMap());
  ASSERT_TRUE(c.Set("cleanup.policy", "delete").ok());
  EXPECT_FALSE(c.ToLogConfig().compacted);
}

}  // namespace
}  // namespace sentry::broker
