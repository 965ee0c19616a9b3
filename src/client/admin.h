// client::Admin: topic and offset housekeeping on top of Client, returning
// Status (with the protocol error name and advice) instead of raw codes.
// Used by sentryctl, sentry-bench, the Producer and the Consumer.
//
// Threads: one thread at a time; it borrows the Client, which must outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "client/client.h"

namespace sentry::client {

struct PartitionOffsets {
  int32_t partition = 0;
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
};

struct TopicInfo {
  std::string name;
  std::vector<PartitionOffsets> partitions;
};

class Admin {
 public:
  explicit Admin(Client* client) : client_(client) {}

  Status CreateTopic(const std::string& name, int32_t partitions,
                     const std::vector<std::pair<std::string, std::string>>& configs = {});
  // Creates the topic unless it exists; returns its partition count.
  Result<int32_t> EnsureTopic(const std::string& name, int32_t partitions);
  Status DeleteTopic(const std::string& name);
  // Changes settings of an existing topic (nullopt: back to the default).
  Status AlterTopicConfig(
      const std::string& name,
      const std::vector<std::pair<std::string, std::optional<std::string>>>& changes);
  // Deletes the records of partition `partition` below `before` (-1: all of
  // them): its log starts there. Returns the new log start offset.
  Result<int64_t> DeleteRecords(const std::string& topic, int32_t partition, int64_t before);
  // DESCRIBE_LOG: what each partition holds on disk (NotFound for an unknown topic).
  Result<std::vector<protocol::PartitionLogState>> DescribeLog(const std::string& topic);
  Result<std::vector<TopicInfo>> ListTopics();
  // NotFound (UNKNOWN_TOPIC_OR_PARTITION) when the topic does not exist.
  Result<TopicInfo> DescribeTopic(const std::string& name);
  Result<int32_t> PartitionCount(const std::string& name);
  // LIST_OFFSETS: -2 earliest, -1 latest, otherwise a timestamp in ms.
  Result<int64_t> ListOffset(const std::string& topic, int32_t partition, int64_t timestamp);
  Status CommitOffset(const std::string& group, const std::string& topic, int32_t partition,
                      int64_t offset, const std::string& metadata = "");
  // -1 when nothing was committed.
  Result<int64_t> FetchCommittedOffset(const std::string& group, const std::string& topic,
                                       int32_t partition);

 private:
  Client* client_;
};

}  // namespace sentry::client
