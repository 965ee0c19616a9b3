#include "client/client.h"

#include <charconv>

namespace sentry::client {

using namespace protocol;

namespace {
template <typename M>
std::vector<uint8_t> EncodeBody(const M& m) {
  std::vector<uint8_t> out;
  ByteWriter w(&out);
  Encode(&w, m);
  return out;
}
}  // namespace

Result<std::pair<std::string, int>> ParseHostPort(std::string_view s) {
  auto colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return Status::InvalidArgument("expected HOST:PORT, got '" + std::string(s) + "'");
  }
  int port = 0;
  auto ps = s.substr(colon + 1);
  auto [p, ec] = std::from_chars(ps.data(), ps.data() + ps.size(), port);
  if (ec != std::errc() || p != ps.data() + ps.size() || port <= 0 || port > 65535) {
    return Status::InvalidArgument("bad port in '" + std::string(s) + "'");
  }
  return std::make_pair(std::string(s.substr(0, colon)), port);
}

Result<std::unique_ptr<Client>> Client::Connect(const std::string& host, int port,
                                                int timeout_ms, const Security& security) {
  SENTRY_ASSIGN_OR_RETURN(auto c, Connection::Connect(host, port, timeout_ms, security));
  return std::unique_ptr<Client>(new Client(std::move(c)));
}

template <typename T>
Result<Reply<T>> Client::CallTyped(ApiKey key, const std::vector<uint8_t>& body, int timeout_ms) {
  SENTRY_ASSIGN_OR_RETURN(auto r, conn_->Call(static_cast<uint16_t>(key), body, timeout_ms));
  Reply<T> reply;
  reply.error = r.error_code;
  if (r.body.empty() && reply.error != 0) return reply;
  ByteReader rd = r.reader();
  if (!Decode(&rd, &reply.body)) {
    return Status::Corruption(std::string("malformed ") + ApiName(static_cast<uint16_t>(key)) +
                              " response");
  }
  return reply;
}

Result<int16_t> Client::CallEmpty(ApiKey key, const std::vector<uint8_t>& body) {
  SENTRY_ASSIGN_OR_RETURN(auto r, conn_->Call(static_cast<uint16_t>(key), body, 30000));
  return r.error_code;
}

Result<Reply<ApiVersionsResponse>> Client::ApiVersions() {
  return CallTyped<ApiVersionsResponse>(ApiKey::kApiVersions, {});
}

Result<int16_t> Client::CreateTopic(std::string_view name, int32_t partitions,
                                    const std::vector<std::pair<std::string, std::string>>& cfgs) {
  CreateTopicRequest req{name, partitions, {}};
  for (auto& [k, v] : cfgs) req.configs.emplace_back(k, v);
  return CallEmpty(ApiKey::kCreateTopic, EncodeBody(req));
}

Result<int16_t> Client::DeleteTopic(std::string_view name) {
  return CallEmpty(ApiKey::kDeleteTopic, EncodeBody(DeleteTopicRequest{name}));
}

Result<Reply<DescribeLogResponse>> Client::DescribeLog(std::string_view topic) {
  return CallTyped<DescribeLogResponse>(ApiKey::kDescribeLog,
                                        EncodeBody(DescribeLogRequest{topic}));
}

Result<Reply<InitProducerIdResponse>> Client::InitProducerId() {
  return CallTyped<InitProducerIdResponse>(ApiKey::kInitProducerId, {});
}

Result<Reply<DescribeClusterResponse>> Client::DescribeCluster(
    const std::vector<std::string>& topics, int timeout_ms) {
  DescribeClusterRequest req;
  for (const auto& t : topics) req.topics.emplace_back(t);
  return CallTyped<DescribeClusterResponse>(ApiKey::kDescribeCluster, EncodeBody(req), timeout_ms);
}

Result<int16_t> Client::AlterTopicConfig(
    std::string_view name,
    const std::vector<std::pair<std::string, std::optional<std::string>>>& changes) {
  AlterTopicConfigRequest req{name, {}};
  for (const auto& [k, v] : changes) {
    req.entries.push_back({v ? kAlterSet : kAlterDelete, k, v ? std::string_view(*v) : ""});
  }
  return CallEmpty(ApiKey::kAlterTopicConfig, EncodeBody(req));
}

Result<Reply<DeleteRecordsResponse>> Client::DeleteRecords(std::string_view topic,
                                                           int32_t partition, int64_t offset) {
  return CallTyped<DeleteRecordsResponse>(ApiKey::kDeleteRecords,
                                          EncodeBody(DeleteRecordsRequest{topic, partition, offset}));
}

Result<Reply<MetadataResponse>> Client::Metadata(const std::vector<std::string>& topics) {
  MetadataRequest req;
  for (auto& t : topics) req.topics.push_back(t);
  return CallTyped<MetadataResponse>(ApiKey::kMetadata, EncodeBody(req));
}

std::vector<uint8_t> Client::EncodeProduce(std::string_view topic, int32_t partition,
                                           int16_t acks, std::span<const uint8_t> records,
                                           int32_t timeout_ms) {
  return EncodeBody(ProduceRequest{topic, partition, acks, timeout_ms, records});
}

std::vector<uint8_t> Client::EncodeFetch(const FetchRequest& req) { return EncodeBody(req); }

Result<Reply<ProduceResponse>> Client::Produce(std::string_view topic, int32_t partition,
                                               int16_t acks, std::span<const uint8_t> records,
                                               int32_t timeout_ms) {
  auto body = EncodeProduce(topic, partition, acks, records, timeout_ms);
  if (acks == 0) {
    SENTRY_RETURN_IF_ERROR(conn_->Send(static_cast<uint16_t>(ApiKey::kProduce), body).status());
    return Reply<ProduceResponse>{};
  }
  return CallTyped<ProduceResponse>(ApiKey::kProduce, body, timeout_ms + 10000);
}

Result<Reply<FetchResult>> Client::Fetch(std::string_view topic, int32_t partition,
                                         int64_t offset, int32_t max_bytes, int32_t min_bytes,
                                         int32_t max_wait_ms) {
  FetchRequest req{topic, partition, offset, max_bytes, min_bytes, max_wait_ms};
  SENTRY_ASSIGN_OR_RETURN(auto r, conn_->Call(static_cast<uint16_t>(ApiKey::kFetch),
                                              EncodeFetch(req), max_wait_ms + 10000));
  Reply<FetchResult> reply;
  reply.error = r.error_code;
  if (r.body.empty()) return reply;
  ByteReader rd = r.reader();
  FetchResponse fr;
  if (!Decode(&rd, &fr)) return Status::Corruption("malformed FETCH response");
  reply.body.header = fr.header;
  if (fr.records) reply.body.records.assign(fr.records->begin(), fr.records->end());
  return reply;
}

Result<Reply<ListOffsetsResponse>> Client::ListOffsets(std::string_view topic, int32_t partition,
                                                       int64_t timestamp) {
  return CallTyped<ListOffsetsResponse>(ApiKey::kListOffsets,
                                        EncodeBody(ListOffsetsRequest{topic, partition, timestamp}));
}

Result<int16_t> Client::CommitOffset(std::string_view group, std::string_view topic,
                                     int32_t partition, int64_t offset,
                                     std::string_view metadata) {
  return CallEmpty(ApiKey::kOffsetCommit,
                   EncodeBody(OffsetCommitRequest{group, topic, partition, offset, metadata}));
}

Result<Reply<OffsetFetchResponse>> Client::FetchOffset(std::string_view group,
                                                       std::string_view topic,
                                                       int32_t partition) {
  return CallTyped<OffsetFetchResponse>(ApiKey::kOffsetFetch,
                                        EncodeBody(OffsetFetchRequest{group, topic, partition}));
}

Result<Reply<ConsumerGroupHeartbeatResponse>> Client::GroupHeartbeat(
    const ConsumerGroupHeartbeatRequest& req) {
  return CallTyped<ConsumerGroupHeartbeatResponse>(ApiKey::kConsumerGroupHeartbeat,
                                                   EncodeBody(req));
}

Result<Reply<ListGroupsResponse>> Client::ListGroups() {
  return CallTyped<ListGroupsResponse>(ApiKey::kListGroups, {});
}

Result<Reply<DescribeGroupResponse>> Client::DescribeGroup(std::string_view group) {
  return CallTyped<DescribeGroupResponse>(ApiKey::kDescribeGroup,
                                          EncodeBody(DescribeGroupRequest{std::string(group)}));
}

Result<int16_t> Client::CommitOffsetAsMember(std::string_view group, std::string_view topic,
                                             int32_t partition, int64_t offset,
                                             const OffsetCommitMember& member) {
  std::vector<uint8_t> body;
  ByteWriter w(&body);
  Encode(&w, OffsetCommitRequest{group, topic, partition, offset, ""});
  EncodeTail(&w, member);
  SENTRY_ASSIGN_OR_RETURN(auto corr, conn_->Send(static_cast<uint16_t>(ApiKey::kOffsetCommit),
                                                 body, kOffsetCommitMemberVersion));
  SENTRY_ASSIGN_OR_RETURN(auto r, conn_->ReceiveFor(corr, 30000));
  return r.error_code;
}

}  // namespace sentry::client
