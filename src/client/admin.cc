#include "client/admin.h"

#include <fmt/format.h>

#include "client/error_status.h"
#include "protocol/errors.h"

namespace sentry::client {

namespace {
TopicInfo ToInfo(const protocol::TopicMetadata& t) {
  TopicInfo info{t.name, {}};
  for (auto& p : t.partitions) {
    info.partitions.push_back({p.partition, p.log_start_offset, p.log_end_offset});
  }
  return info;
}
}  // namespace

Status Admin::CreateTopic(const std::string& name, int32_t partitions,
                          const std::vector<std::pair<std::string, std::string>>& configs) {
  SENTRY_ASSIGN_OR_RETURN(auto r, client_->CreateTopic(name, partitions, configs));
  return ErrorStatus(r, "create topic '" + name + "'");
}

Result<int32_t> Admin::EnsureTopic(const std::string& name, int32_t partitions) {
  Status s = CreateTopic(name, partitions);
  if (s.ok() || s.code() == Status::Code::kAlreadyExists) return PartitionCount(name);
  // A principal without CREATE is refused even for a topic that exists (as
  // Kafka answers): one it may describe is still there to use.
  auto n = PartitionCount(name);
  return n.ok() ? n : Result<int32_t>(s);
}

Status Admin::DeleteTopic(const std::string& name) {
  SENTRY_ASSIGN_OR_RETURN(auto r, client_->DeleteTopic(name));
  return ErrorStatus(r, "delete topic '" + name + "'");
}

Result<std::vector<protocol::PartitionLogState>> Admin::DescribeLog(const std::string& topic) {
  SENTRY_ASSIGN_OR_RETURN(auto r, client_->DescribeLog(topic));
  if (!r.ok()) return ErrorStatus(r.error, "describe log of '" + topic + "'");
  return r.body.partitions;
}

Status Admin::AlterTopicConfig(
    const std::string& name,
    const std::vector<std::pair<std::string, std::optional<std::string>>>& changes) {
  SENTRY_ASSIGN_OR_RETURN(auto r, client_->AlterTopicConfig(name, changes));
  return ErrorStatus(r, "alter topic '" + name + "'");
}

Result<int64_t> Admin::DeleteRecords(const std::string& topic, int32_t partition,
                                     int64_t before) {
  SENTRY_ASSIGN_OR_RETURN(auto r, client_->DeleteRecords(topic, partition, before));
  if (!r.ok()) {
    return ErrorStatus(r.error, fmt::format("trim {}-{} before {}", topic, partition, before));
  }
  return r.body.low_watermark;
}

Result<std::vector<TopicInfo>> Admin::ListTopics() {
  SENTRY_ASSIGN_OR_RETURN(auto r, client_->Metadata({}));
  if (!r.ok()) return ErrorStatus(r.error, "list topics");
  std::vector<TopicInfo> out;
  for (auto& t : r.body.topics) out.push_back(ToInfo(t));
  return out;
}

Result<TopicInfo> Admin::DescribeTopic(const std::string& name) {
  SENTRY_ASSIGN_OR_RETURN(auto r, client_->Metadata({name}));
  if (!r.ok()) return ErrorStatus(r.error, "describe topic '" + name + "'");
  for (auto& t : r.body.topics) {
    if (t.name != name) continue;
    if (t.error_code != 0) return ErrorStatus(t.error_code, "topic '" + name + "'");
    return ToInfo(t);
  }
  return ErrorStatus(static_cast<int16_t>(protocol::ErrorCode::kUnknownTopicOrPartition),
                     "topic '" + name + "'");
}

Result<int32_t> Admin::PartitionCount(const std::string& name) {
  SENTRY_ASSIGN_OR_RETURN(auto r, DescribeTopic(name));
  return static_cast<int32_t>(r.partitions.size());
}

Result<int64_t> Admin::ListOffset(const std::string& topic, int32_t partition,
                                  int64_t timestamp) {
  SENTRY_ASSIGN_OR_RETURN(auto r, client_->ListOffsets(topic, partition, timestamp));
  if (!r.ok()) {
    return ErrorStatus(r.error, "list offsets of " + topic + "-" + std::to_string(partition));
  }
  return r.body.offset;
}

Status Admin::CommitOffset(const std::string& group, const std::string& topic,
                           int32_t partition, int64_t offset, const std::string& metadata) {
  SENTRY_ASSIGN_OR_RETURN(auto r, client_->CommitOffset(group, topic, partition, offset, metadata));
  return ErrorStatus(r, "commit offset of group '" + group + "' for " + topic + "-" +
                                    std::to_string(partition));
}

Result<int64_t> Admin::FetchCommittedOffset(const std::string& group, const std::string& topic,
                                            int32_t partition) {
  SENTRY_ASSIGN_OR_RETURN(auto r, client_->FetchOffset(group, topic, partition));
  if (!r.ok()) {
    return ErrorStatus(r.error, "fetch offset of group '" + group + "' for " + topic + "-" +
                                     std::to_string(partition));
  }
  return r.body.offset;
}

}  // namespace sentry::client
