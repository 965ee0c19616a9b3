// client::Client: typed calls for the nine APIs over one Connection.
// Transport failures are a non-OK Result; a broker answer is a Reply whose
// `error` is the protocol error code (0 = NONE).
//
// Threads: one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/connection.h"
#include "protocol/group_messages.h"
#include "protocol/messages.h"

namespace sentry::client {

template <typename T>
struct Reply {
  int16_t error = 0;
  T body{};
  bool ok() const { return error == 0; }
};

struct FetchResult {
  protocol::FetchResponseHeader header;
  std::vector<uint8_t> records;
};

// "host:port" -> (host, port); Status on a bad string.
Result<std::pair<std::string, int>> ParseHostPort(std::string_view s);

class Client {
 public:
  static Result<std::unique_ptr<Client>> Connect(const std::string& host, int port,
                                                 int timeout_ms = 5000,
                                                 const Security& security = {});
  Connection& connection() { return *conn_; }

  Result<Reply<protocol::ApiVersionsResponse>> ApiVersions();
  Result<int16_t> CreateTopic(std::string_view name, int32_t partitions,
                              const std::vector<std::pair<std::string, std::string>>& configs = {});
  Result<int16_t> DeleteTopic(std::string_view name);
  // ALTER_TOPIC_CONFIG: each (key, value) is set; a key with nullopt goes
  // back to the broker default.
  Result<Reply<protocol::DescribeLogResponse>> DescribeLog(std::string_view topic);
  // DESCRIBE_CLUSTER: brokers, controller, leaders and ISRs (every topic
  // when `topics` is empty).
  Result<Reply<protocol::DescribeClusterResponse>> DescribeCluster(
      const std::vector<std::string>& topics = {}, int timeout_ms = 30000);
  Result<int16_t> AlterTopicConfig(
      std::string_view name,
      const std::vector<std::pair<std::string, std::optional<std::string>>>& changes);
  // DELETE_RECORDS: the partition's log starts at `offset` (-1: its end) from
  // now on; the reply carries the new log start.
  Result<Reply<protocol::DeleteRecordsResponse>> DeleteRecords(std::string_view topic,
                                                               int32_t partition,
                                                               int64_t offset);
  // INIT_PRODUCER_ID: a new idempotent producer id (epoch 0).
  Result<Reply<protocol::InitProducerIdResponse>> InitProducerId();
  Result<Reply<protocol::MetadataResponse>> Metadata(const std::vector<std::string>& topics = {});
  // acks=0 returns at once with an empty reply (the broker sends nothing).
  Result<Reply<protocol::ProduceResponse>> Produce(std::string_view topic, int32_t partition,
                                                   int16_t acks,
                                                   std::span<const uint8_t> records,
                                                   int32_t timeout_ms = 30000);
  Result<Reply<FetchResult>> Fetch(std::string_view topic, int32_t partition, int64_t offset,
                                   int32_t max_bytes = 1 << 20, int32_t min_bytes = 0,
                                   int32_t max_wait_ms = 0);
  Result<Reply<protocol::ListOffsetsResponse>> ListOffsets(std::string_view topic,
                                                           int32_t partition, int64_t timestamp);
  Result<int16_t> CommitOffset(std::string_view group, std::string_view topic, int32_t partition,
                               int64_t offset, std::string_view metadata = "");
  Result<Reply<protocol::OffsetFetchResponse>> FetchOffset(std::string_view group,
                                                           std::string_view topic,
                                                           int32_t partition);

  // Groups (docs/protocol.md, "Consumer groups").
  Result<Reply<protocol::ConsumerGroupHeartbeatResponse>> GroupHeartbeat(
      const protocol::ConsumerGroupHeartbeatRequest& req);
  Result<Reply<protocol::ListGroupsResponse>> ListGroups();
  Result<Reply<protocol::DescribeGroupResponse>> DescribeGroup(std::string_view group);
  // OFFSET_COMMIT v2: a commit by a member of a native group.
  Result<int16_t> CommitOffsetAsMember(std::string_view group, std::string_view topic,
                                       int32_t partition, int64_t offset,
                                       const protocol::OffsetCommitMember& member);

  static std::vector<uint8_t> EncodeProduce(std::string_view topic, int32_t partition,
                                            int16_t acks, std::span<const uint8_t> records,
                                            int32_t timeout_ms);
  static std::vector<uint8_t> EncodeFetch(const protocol::FetchRequest& req);

 private:
  explicit Client(std::unique_ptr<Connection> c) : conn_(std::move(c)) {}
  template <typename T>
  Result<Reply<T>> CallTyped(protocol::ApiKey key, const std::vector<uint8_t>& body,
                             int timeout_ms = 30000);
  Result<int16_t> CallEmpty(protocol::ApiKey key, const std::vector<uint8_t>& body);
  std::unique_ptr<Connection> conn_;
};

}  // namespace sentry::client
