// Bodies of the native group APIs (docs/protocol.md, "Consumer groups"):
// CONSUMER_GROUP_HEARTBEAT, LIST_GROUPS, DESCRIBE_GROUP, and OFFSET_COMMIT
// version 2 (a commit by a group member). Same conventions as messages.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/codec.h"
#include "protocol/messages.h"

namespace sentry::protocol {

struct TopicPartitionList {
  std::string topic;
  std::vector<int32_t> partitions;
};

struct ConsumerGroupHeartbeatRequest {
  std::string group;
  std::string member_id;     // empty on the first heartbeat
  int32_t member_epoch = 0;  // 0 join, -1 leave, -2 static member leaving for a while
  std::string instance_id;   // empty: dynamic member
  std::string client_id;
  // nullopt ("unchanged since the last heartbeat") is a count of -1.
  std::optional<std::vector<std::string>> subscribed_topics;
  std::optional<std::vector<TopicPartitionList>> owned;
};

struct ConsumerGroupHeartbeatResponse {
  std::string member_id;
  int32_t member_epoch = 0;
  int32_t heartbeat_interval_ms = 0;
  std::optional<std::vector<TopicPartitionList>> assignment;  // nullopt: unchanged
};

struct GroupListingEntry {
  std::string group;
  std::string kind;  // "classic" or "native"
  std::string protocol_type;
  std::string state;
};

struct ListGroupsResponse {
  std::vector<GroupListingEntry> groups;
};

struct DescribeGroupRequest {
  std::string group;
};

struct GroupMemberDescription {
  std::string member_id;
  std::string instance_id;
  std::string client_id;
  std::string client_host;
  int32_t member_epoch = 0;  // native; classic: the group's generation
  std::vector<TopicPartitionList> assigned;
};

struct GroupOffsetDescription {
  std::string topic;
  int32_t partition = 0;
  int64_t committed_offset = -1;  // -1: nothing committed
  int64_t log_end_offset = -1;    // -1: the partition is gone
  int64_t lag = -1;               // log end - committed, -1 when either is unknown
  std::string member_id;          // who is assigned the partition ("" = nobody)
};

struct DescribeGroupResponse {
  std::string group;
  std::string kind;
  std::string state;
  std::string protocol_type;
  std::string protocol_name;
  int32_t generation = 0;
  std::vector<GroupMemberDescription> members;
  std::vector<GroupOffsetDescription> offsets;
};

// OFFSET_COMMIT v2: the v1 body, then the committing member.
struct OffsetCommitMember {
  std::string member_id;
  int32_t member_epoch = -1;  // -1 with member "": a commit from outside any group
};

bool Decode(ByteReader* r, ConsumerGroupHeartbeatRequest* m);
void Encode(ByteWriter* w, const ConsumerGroupHeartbeatRequest& m);
bool Decode(ByteReader* r, ConsumerGroupHeartbeatResponse* m);
void Encode(ByteWriter* w, const ConsumerGroupHeartbeatResponse& m);
bool Decode(ByteReader* r, ListGroupsResponse* m);
void Encode(ByteWriter* w, const ListGroupsResponse& m);
bool Decode(ByteReader* r, DescribeGroupRequest* m);
void Encode(ByteWriter* w, const DescribeGroupRequest& m);
bool Decode(ByteReader* r, DescribeGroupResponse* m);
void Encode(ByteWriter* w, const DescribeGroupResponse& m);
// OFFSET_COMMIT v2: the v1 fields, then the member (messages.h has v1).
bool Decode(ByteReader* r, OffsetCommitRequest* m, OffsetCommitMember* member);
// Reads the trailing member fields of an OFFSET_COMMIT v2 body.
bool DecodeTail(ByteReader* r, OffsetCommitMember* m);
void EncodeTail(ByteWriter* w, const OffsetCommitMember& m);

}  // namespace sentry::protocol
