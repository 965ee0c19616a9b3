// Request and response bodies of the nine APIs (docs/protocol.md, version 1).
// Encode* appends a body to a ByteWriter; Decode* reads one from a ByteReader
// and returns false when the body is malformed, ends early or has bytes left
// over (the caller answers INVALID_REQUEST). Views point into the frame.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/codec.h"

namespace sentry::protocol {

struct ApiVersionRange {
  uint16_t api_key, min_version, max_version;
};
struct ApiVersionsResponse {
  std::string broker_version;
  std::vector<ApiVersionRange> apis;
};

struct ProduceRequest {
  std::string_view topic;
  int32_t partition = 0;
  int16_t acks = 1;
  int32_t timeout_ms = 0;
  std::optional<std::span<const uint8_t>> records;
};
struct ProduceResponse {
  int32_t partition = 0;
  int64_t base_offset = -1;
  int64_t log_append_time = -1;
  int64_t log_start_offset = -1;
};

struct FetchRequest {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int32_t max_bytes = 0;
  int32_t min_bytes = 0;
  int32_t max_wait_ms = 0;
};
struct FetchResponseHeader {  // followed by `records bytes`
  int32_t partition = 0;
  int64_t high_watermark = 0;
  int64_t log_start_offset = 0;
};
struct FetchResponse {
  FetchResponseHeader header;
  std::optional<std::span<const uint8_t>> records;
};

struct ListOffsetsRequest {
  std::string_view topic;
  int32_t partition = 0;
  int64_t timestamp = -1;
};
struct ListOffsetsResponse {
  int32_t partition = 0;
  int64_t offset = -1;
  int64_t timestamp = -1;
};

struct MetadataRequest {
  std::vector<std::string_view> topics;
};
struct PartitionMetadata {
  int32_t partition = 0;
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
};
struct TopicMetadata {
  std::string name;
  int16_t error_code = 0;
  std::vector<PartitionMetadata> partitions;
};
struct MetadataResponse {
  int32_t broker_id = 0;
  std::string host;
  int32_t port = 0;
  std::vector<TopicMetadata> topics;
};

struct CreateTopicRequest {
  std::string_view name;
  int32_t partitions = 1;
  std::vector<std::pair<std::string_view, std::string_view>> configs;
};
struct DeleteTopicRequest {
  std::string_view name;
};
struct OffsetCommitRequest {
  std::string_view group;
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string_view metadata;
};
struct OffsetFetchRequest {
  std::string_view group;
  std::string_view topic;
  int32_t partition = 0;
};
struct OffsetFetchResponse {
  int64_t offset = -1;
  std::string metadata;
};
// DELETE_RECORDS: moves the partition's log start offset up to `offset`
// (-1: the high watermark); the answer carries the new log start.
struct DeleteRecordsRequest {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = -1;
};
struct DeleteRecordsResponse {
  int64_t low_watermark = -1;
};
// ALTER_TOPIC_CONFIG: changes settings of an existing topic. Each entry sets
// a key (op 0) or puts it back to the broker default (op 1, value ignored),
// Kafka's IncrementalAlterConfigs SET and DELETE. The answer is the header.
struct AlterTopicConfigRequest {
  std::string_view topic;
  struct Entry {
    int8_t op = 0;
    std::string_view key;
    std::string_view value;
  };
  std::vector<Entry> entries;
};
constexpr int8_t kAlterSet = 0;
constexpr int8_t kAlterDelete = 1;
// DESCRIBE_LOG: what each partition of a topic holds on disk.
struct DescribeLogRequest {
  std::string_view topic;
};
struct PartitionLogState {
  int32_t partition = 0;
  int64_t log_start_offset = 0;
  int64_t high_watermark = 0;
  int64_t durable_offset = 0;
  int64_t size_bytes = 0;       // bytes of batches in the log
  int32_t segments = 0;
  int64_t cleaned_offset = 0;   // compaction checkpoint (0: never cleaned)
  int64_t clean_bytes = 0;      // cleanable bytes already compacted
  int64_t dirty_bytes = 0;      // cleanable bytes not yet compacted
  int8_t offline = 0;
};
struct DescribeLogResponse {
  std::vector<PartitionLogState> partitions;
};

// DESCRIBE_CLUSTER: the brokers, the controller and each partition's leader,
// leader epoch, replicas and in-sync replicas (docs/cluster.md).
struct DescribeClusterRequest {
  std::vector<std::string_view> topics;  // empty: every topic
};
struct ClusterBrokerInfo {
  int32_t broker_id = 0;
  std::string host;
  int32_t port = 0;        // native protocol
  int32_t kafka_port = -1;
};
struct ClusterPartitionInfo {
  int32_t partition = 0;
  int32_t leader = -1;
  int32_t leader_epoch = 0;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
};
struct ClusterTopicInfo {
  std::string name;
  int16_t error_code = 0;
  std::vector<ClusterPartitionInfo> partitions;
};
struct DescribeClusterResponse {
  int8_t cluster_mode = 0;  // 0: a single-node broker
  int32_t controller_id = -1;
  std::vector<ClusterBrokerInfo> brokers;
  std::vector<ClusterTopicInfo> topics;
};
bool Decode(ByteReader* r, DescribeClusterRequest* m);
void Encode(ByteWriter* w, const DescribeClusterRequest& m);
void Encode(ByteWriter* w, const DescribeClusterResponse& m);
bool Decode(ByteReader* r, DescribeClusterResponse* m);

// INIT_PRODUCER_ID: a new idempotent producer id (the request body is empty).
struct InitProducerIdResponse {
  int64_t producer_id = -1;
  int16_t producer_epoch = 0;
};
void Encode(ByteWriter* w, const InitProducerIdResponse& m);
bool Decode(ByteReader* r, InitProducerIdResponse* m);

// AUTHENTICATE: one step of a SASL exchange (docs/protocol.md).
struct AuthenticateRequest {
  std::string mechanism;  // PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
  std::string auth_bytes;  // the client's SASL message of this step
};
struct AuthenticateResponse {
  std::string auth_bytes;  // the server's SASL message (empty for PLAIN)
  int8_t authenticated = 0;  // 1: the exchange is done and succeeded
  int64_t session_lifetime_ms = 0;  // when authenticated: 0 = forever
};
// The body of an UNSUPPORTED_SASL_MECHANISM answer: what the listener offers.
struct SaslMechanisms {
  std::vector<std::string> mechanisms;
};
bool Decode(ByteReader* r, AuthenticateRequest* m);
void Encode(ByteWriter* w, const AuthenticateRequest& m);
void Encode(ByteWriter* w, const AuthenticateResponse& m);
bool Decode(ByteReader* r, AuthenticateResponse* m);
void Encode(ByteWriter* w, const SaslMechanisms& m);
bool Decode(ByteReader* r, SaslMechanisms* m);

// Requests (broker decodes, client encodes).
bool Decode(ByteReader* r, ProduceRequest* m);
bool Decode(ByteReader* r, FetchRequest* m);
bool Decode(ByteReader* r, ListOffsetsRequest* m);
bool Decode(ByteReader* r, MetadataRequest* m);
bool Decode(ByteReader* r, CreateTopicRequest* m);
bool Decode(ByteReader* r, DeleteTopicRequest* m);
bool Decode(ByteReader* r, OffsetCommitRequest* m);
bool Decode(ByteReader* r, OffsetFetchRequest* m);
bool Decode(ByteReader* r, DeleteRecordsRequest* m);
bool Decode(ByteReader* r, AlterTopicConfigRequest* m);
bool Decode(ByteReader* r, DescribeLogRequest* m);
void Encode(ByteWriter* w, const DescribeLogRequest& m);
void Encode(ByteWriter* w, const DescribeLogResponse& m);
bool Decode(ByteReader* r, DescribeLogResponse* m);
void Encode(ByteWriter* w, const AlterTopicConfigRequest& m);
void Encode(ByteWriter* w, const DeleteRecordsRequest& m);
void Encode(ByteWriter* w, const ProduceRequest& m);
void Encode(ByteWriter* w, const FetchRequest& m);
void Encode(ByteWriter* w, const ListOffsetsRequest& m);
void Encode(ByteWriter* w, const MetadataRequest& m);
void Encode(ByteWriter* w, const CreateTopicRequest& m);
void Encode(ByteWriter* w, const DeleteTopicRequest& m);
void Encode(ByteWriter* w, const OffsetCommitRequest& m);
void Encode(ByteWriter* w, const OffsetFetchRequest& m);

// Responses (broker encodes, client decodes).
void Encode(ByteWriter* w, const ApiVersionsResponse& m);
void Encode(ByteWriter* w, const ProduceResponse& m);
void Encode(ByteWriter* w, const FetchResponseHeader& m);  // records length+bytes follow
void Encode(ByteWriter* w, const ListOffsetsResponse& m);
void Encode(ByteWriter* w, const MetadataResponse& m);
void Encode(ByteWriter* w, const OffsetFetchResponse& m);
void Encode(ByteWriter* w, const DeleteRecordsResponse& m);
bool Decode(ByteReader* r, DeleteRecordsResponse* m);
bool Decode(ByteReader* r, ApiVersionsResponse* m);
bool Decode(ByteReader* r, ProduceResponse* m);
bool Decode(ByteReader* r, FetchResponse* m);
bool Decode(ByteReader* r, ListOffsetsResponse* m);
bool Decode(ByteReader* r, MetadataResponse* m);
bool Decode(ByteReader* r, OffsetFetchResponse* m);

}  // namespace sentry::protocol
