// Kafka's classic group protocol: JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup, ListGroups, DescribeGroups and OffsetDelete, served by the
// broker's group coordinator (src/group). JoinGroup and SyncGroup may wait
// for the rest of the group: their answers come back as GroupCompletions.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>

#include "frontend/kafka_errors.h"
#include "frontend/kafka_frontend.h"
#include "frontend/kafka_session.h"
#include "group/consumer_protocol.h"

namespace sentry::frontend {

using kafka::ErrorCode;
using net::Outcome;
using net::ResponseOut;

namespace {

constexpr int16_t kFirstNullableProtocolVersion = 7;  // JoinGroup: protocol type/name
constexpr int32_t kNoAuthorizedOperations = INT32_MIN;

std::string Str(std::string_view v) { return std::string(v); }
std::string Str(const std::optional<std::string_view>& v) {
  return v ? std::string(*v) : std::string();
}
std::string Bytes(std::span<const uint8_t> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}
std::vector<uint8_t> Bytes(const std::string& s) { return {s.begin(), s.end()}; }

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

bool KafkaFrontend::NoCoordinator(const Header& h) {
  if (core_->groups()) return false;
  // Only a broker built without a group coordinator (some tests) gets here.
  spdlog::warn("kafka: group request (API {}) but no group coordinator runs", h.api_key);
  return true;
}

Outcome KafkaFrontend::HandleJoinGroup(Session& s, const Header& h, Reader& r, ResponseOut& out) {
  kafka::JoinGroupRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  if (NoCoordinator(h)) return Outcome::kClose;
  if (!AllowedGroup(s, security::AclOperation::kRead, req.group_id)) {
    kafka::JoinGroupResponse resp;
    resp.error_code = Code(ErrorCode::kGroupAuthorizationFailed);
    resp.member_id = Str(req.member_id);
    Respond(out, Asker::Of(h), resp);
    return Outcome::kDone;
  }
  group::JoinRequest jr;
  jr.member_id = Str(req.member_id);
  jr.instance_id = Str(req.group_instance_id);
  jr.client_id = Str(h.client_id);
  jr.client_host = s.peer;
  jr.session_timeout_ms = req.session_timeout_ms;
  // v0 has no rebalance timeout: Kafka uses the session timeout.
  jr.rebalance_timeout_ms = h.api_version >= 1 ? req.rebalance_timeout_ms : req.session_timeout_ms;
  jr.protocol_type = Str(req.protocol_type);
  for (const auto& p : req.protocols) jr.protocols.emplace_back(Str(p.name), Bytes(p.metadata));
  jr.require_known_member_id = h.api_version >= 4;  // KIP-394
  pipeline::ReplyContext reply;
  reply.Set(Asker::Of(h));
  s.busy = true;
  core_->groups()->Join(s.core.route, reply, Str(req.group_id), std::move(jr));
  return Outcome::kSubmitted;
}

Outcome KafkaFrontend::HandleSyncGroup(Session& s, const Header& h, Reader& r, ResponseOut& out) {
  kafka::SyncGroupRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  if (NoCoordinator(h)) return Outcome::kClose;
  if (!AllowedGroup(s, security::AclOperation::kRead, req.group_id)) {
    kafka::SyncGroupResponse resp;
    resp.error_code = Code(ErrorCode::kGroupAuthorizationFailed);
    Respond(out, Asker::Of(h), resp);
    return Outcome::kDone;
  }
  group::SyncRequest sr;
  sr.member_id = Str(req.member_id);
  sr.instance_id = Str(req.group_instance_id);
  sr.generation = req.generation_id;
  if (req.protocol_type) sr.protocol_type = Str(*req.protocol_type);
  if (req.protocol_name) sr.protocol_name = Str(*req.protocol_name);
  for (const auto& a : req.assignments) {
    sr.assignments.emplace_back(Str(a.member_id), Bytes(a.assignment));
  }
  pipeline::ReplyContext reply;
  reply.Set(Asker::Of(h));
  s.busy = true;
  core_->groups()->Sync(s.core.route, reply, Str(req.group_id), sr);
  return Outcome::kSubmitted;
}

void KafkaFrontend::AnswerGroup(Session& s, const group::GroupCompletion& c, ResponseOut& out) {
  s.busy = false;
  const Asker a = c.reply.Get<Asker>();
  if (const auto* j = std::get_if<group::JoinResponse>(&c.answer)) {
    kafka::JoinGroupResponse resp;
    resp.error_code = ToKafkaError(j->error);
    resp.generation_id = j->generation;
    const bool ok = j->error == group::GroupErrc::kNone;
    if (a.version >= kFirstNullableProtocolVersion) {
      if (ok) {
        resp.protocol_type = j->protocol_type;
        resp.protocol_name = j->protocol_name;
      }
    } else {
      resp.protocol_name = j->protocol_name;
    }
    resp.leader = j->leader;
    resp.member_id = j->member_id;
    for (const auto& m : j->members) {
      kafka::JoinGroupResponse::JoinGroupResponseMember rm;
      rm.member_id = m.member_id;
      if (!m.instance_id.empty()) rm.group_instance_id = m.instance_id;
      rm.metadata = Bytes(m.metadata);
      resp.members.push_back(std::move(rm));
    }
    Respond(out, a, resp);
    return;
  }
  const auto& sy = std::get<group::SyncResponse>(c.answer);
  kafka::SyncGroupResponse resp;
  resp.error_code = ToKafkaError(sy.error);
  if (sy.error == group::GroupErrc::kNone) {
    resp.protocol_type = sy.protocol_type;
    resp.protocol_name = sy.protocol_name;
  }
  resp.assignment = Bytes(sy.assignment);
  Respond(out, a, resp);
}

Outcome KafkaFrontend::HandleHeartbeat(Session& s, const Header& h, Reader& r,
                                       ResponseOut& out) {
  kafka::HeartbeatRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  if (NoCoordinator(h)) return Outcome::kClose;
  kafka::HeartbeatResponse resp;
  if (!AllowedGroup(s, security::AclOperation::kRead, req.group_id)) {
    resp.error_code = Code(ErrorCode::kGroupAuthorizationFailed);
  } else {
    resp.error_code = ToKafkaError(core_->groups()->Heartbeat(
        Str(req.group_id), Str(req.member_id), Str(req.group_instance_id), req.generation_id));
  }
  Respond(out, Asker::Of(h), resp);
  return Outcome::kDone;
}

Outcome KafkaFrontend::HandleLeaveGroup(Session& s, const Header& h, Reader& r,
                                        ResponseOut& out) {
  kafka::LeaveGroupRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  if (NoCoordinator(h)) return Outcome::kClose;
  std::vector<std::pair<std::string, std::string>> members;
  if (h.api_version < 3) {
    members.emplace_back(Str(req.member_id), std::string());
  } else {
    for (const auto& m : req.members) {
      members.emplace_back(Str(m.member_id), Str(m.group_instance_id));
    }
  }
  kafka::LeaveGroupResponse resp;
  if (req.group_id.empty()) {
    resp.error_code = Code(ErrorCode::kInvalidGroupId);
  } else if (!AllowedGroup(s, security::AclOperation::kRead, req.group_id)) {
    resp.error_code = Code(ErrorCode::kGroupAuthorizationFailed);
  } else {
    const auto errors = core_->groups()->Leave(Str(req.group_id), members);
    if (h.api_version < 3) {
      resp.error_code = ToKafkaError(errors.at(0));
    } else {
      for (size_t i = 0; i < members.size(); i++) {
        kafka::LeaveGroupResponse::MemberResponse mr;
        mr.member_id = members[i].first;
        if (!members[i].second.empty()) mr.group_instance_id = members[i].second;
        mr.error_code = ToKafkaError(errors[i]);
        resp.members.push_back(std::move(mr));
      }
    }
  }
  Respond(out, Asker::Of(h), resp);
  return Outcome::kDone;
}

Outcome KafkaFrontend::HandleListGroups(Session& s, const Header& h, Reader& r,
                                        ResponseOut& out) {
  kafka::ListGroupsRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  if (NoCoordinator(h)) return Outcome::kClose;
  std::vector<std::string> states;  // v4+: only groups in these states (any case)
  for (auto st : req.states_filter) states.push_back(Lower(Str(st)));
  kafka::ListGroupsResponse resp;
  // DESCRIBE on the cluster lists every group; without it, those the
  // principal may DESCRIBE (as Kafka).
  const bool every = Probe(s, security::AclOperation::kDescribe, security::ResourceType::kCluster,
                           security::kClusterName);
  for (auto& g : core_->groups()->List()) {
    if (!every && !AllowedGroup(s, security::AclOperation::kDescribe, g.group_id)) continue;
    if (!states.empty() &&
        std::find(states.begin(), states.end(), Lower(g.state)) == states.end()) {
      continue;
    }
    kafka::ListGroupsResponse::ListedGroup lg;
    lg.group_id = std::move(g.group_id);
    lg.protocol_type = std::move(g.protocol_type);
    lg.group_state = std::move(g.state);
    resp.groups.push_back(std::move(lg));
  }
  Respond(out, Asker::Of(h), resp);
  return Outcome::kDone;
}

Outcome KafkaFrontend::HandleDescribeGroups(Session& s, const Header& h, Reader& r,
                                            ResponseOut& out) {
  kafka::DescribeGroupsRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  if (NoCoordinator(h)) return Outcome::kClose;
  kafka::DescribeGroupsResponse resp;
  for (auto id : req.groups) {
    if (!AllowedGroup(s, security::AclOperation::kDescribe, id)) {
      kafka::DescribeGroupsResponse::DescribedGroup dg;
      dg.group_id = Str(id);
      dg.error_code = Code(ErrorCode::kGroupAuthorizationFailed);
      dg.authorized_operations = kNoAuthorizedOperations;
      resp.groups.push_back(std::move(dg));
      continue;
    }
    group::GroupDescription d = core_->groups()->Describe(Str(id));
    kafka::DescribeGroupsResponse::DescribedGroup dg;
    dg.group_id = d.group_id;
    dg.authorized_operations = kNoAuthorizedOperations;
    if (d.error == group::GroupErrc::kGroupIdNotFound) {
      // Before v6 Kafka describes an unknown group as Dead, without error.
      dg.group_state = "Dead";
      resp.groups.push_back(std::move(dg));
      continue;
    }
    dg.error_code = ToKafkaError(d.error);
    dg.group_state = d.state;
    dg.protocol_type = d.protocol_type;
    dg.protocol_data = d.protocol_name;
    for (const auto& m : d.classic_members) {
      kafka::DescribeGroupsResponse::DescribedGroupMember dm;
      dm.member_id = m.member_id;
      if (!m.instance_id.empty()) dm.group_instance_id = m.instance_id;
      dm.client_id = m.client_id;
      dm.client_host = m.client_host;
      dm.member_metadata = Bytes(m.metadata);
      dm.member_assignment = Bytes(m.assignment);
      dg.members.push_back(std::move(dm));
    }
    // A native group seen through Kafka's tools: its members' assignments
    // in the consumer protocol's format.
    for (const auto& m : d.native_members) {
      kafka::DescribeGroupsResponse::DescribedGroupMember dm;
      dm.member_id = m.member_id;
      if (!m.instance_id.empty()) dm.group_instance_id = m.instance_id;
      dm.client_id = m.client_id;
      dm.member_metadata = Bytes(group::EncodeSubscription(m.subscribed));
      dm.member_assignment = Bytes(group::EncodeAssignment(m.assigned));
      dg.members.push_back(std::move(dm));
    }
    resp.groups.push_back(std::move(dg));
  }
  Respond(out, Asker::Of(h), resp);
  return Outcome::kDone;
}

}  // namespace sentry::frontend
