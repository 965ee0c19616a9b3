// The native protocol's consumer groups (docs/protocol.md, "Consumer
// groups"): CONSUMER_GROUP_HEARTBEAT (server-assigned membership, KIP-848's
// shape), LIST_GROUPS and DESCRIBE_GROUP (members, committed offsets, lag).
#include <map>
#include <set>

#include "frontend/native_frontend.h"
#include "frontend/native_session.h"
#include "group/consumer_protocol.h"
#include "protocol/group_messages.h"

namespace sentry::frontend {

using net::Outcome;
using net::ResponseOut;
using namespace protocol;

namespace {

std::vector<TopicPartitionList> ToWire(const group::TopicPartitions& tp) {
  std::vector<TopicPartitionList> out;
  for (const auto& [topic, parts] : tp) out.push_back({topic, parts});
  return out;
}

group::TopicPartitions FromWire(const std::vector<TopicPartitionList>& l) {
  group::TopicPartitions out;
  for (const auto& t : l) {
    auto& ps = out[t.topic];
    ps.insert(ps.end(), t.partitions.begin(), t.partitions.end());
    std::sort(ps.begin(), ps.end());
    ps.erase(std::unique(ps.begin(), ps.end()), ps.end());
  }
  return out;
}

const char* KindName(group::GroupKind k) {
  return k == group::GroupKind::kNative ? "native" : "classic";
}

}  // namespace

Outcome NativeFrontend::HandleGroupHeartbeat(const Header& h, ByteReader& r, ResponseOut& out) {
  ConsumerGroupHeartbeatRequest req;
  if (!Decode(&r, &req)) return Malformed(out, h);
  group::GroupService* groups = core_->groups();
  if (!groups) return Refuse(out, h, broker::Errc::kInternal);
  group::ConsumerGroup::HeartbeatIn in;
  in.member_id = req.member_id;
  in.member_epoch = req.member_epoch;
  in.instance_id = req.instance_id;
  in.client_id = req.client_id;
  in.subscribed_topics = req.subscribed_topics;
  if (req.owned) in.owned = FromWire(*req.owned);
  const auto hb = groups->NativeHeartbeat(req.group, in);
  if (hb.error != group::GroupErrc::kNone) {
    WriteError(out, h, ToNativeError(hb.error));
    return Outcome::kDone;
  }
  ConsumerGroupHeartbeatResponse resp;
  resp.member_id = hb.member_id;
  resp.member_epoch = hb.member_epoch;
  resp.heartbeat_interval_ms = hb.heartbeat_interval_ms;
  if (hb.assignment) resp.assignment = ToWire(*hb.assignment);
  return Respond(out, h, resp);
}

Outcome NativeFrontend::HandleListGroups(const Header& h, ByteReader& r, ResponseOut& out) {
  if (!r.Done()) return Malformed(out, h);
  group::GroupService* groups = core_->groups();
  if (!groups) return Refuse(out, h, broker::Errc::kInternal);
  ListGroupsResponse resp;
  for (auto& g : groups->List()) {
    resp.groups.push_back({g.group_id, KindName(g.kind), g.protocol_type, g.state});
  }
  return Respond(out, h, resp);
}

Outcome NativeFrontend::HandleDescribeGroup(net::Session& ns, const Header& h, ByteReader& r,
                                            ResponseOut& out) {
  DescribeGroupRequest req;
  if (!Decode(&r, &req)) return Malformed(out, h);
  group::GroupService* groups = core_->groups();
  if (!groups) return Refuse(out, h, broker::Errc::kInternal);
  const group::GroupDescription d = groups->Describe(req.group);
  if (d.error != group::GroupErrc::kNone) {
    WriteError(out, h, ToNativeError(d.error));
    return Outcome::kDone;
  }
  DescribeGroupResponse resp;
  resp.group = d.group_id;
  resp.kind = KindName(d.kind);
  resp.state = d.state;
  resp.protocol_type = d.protocol_type;
  resp.protocol_name = d.protocol_name;
  resp.generation = d.generation;
  // Who owns which partition: native members say so; classic members of the
  // "consumer" protocol carry it in their assignment bytes.
  std::map<std::pair<std::string, int32_t>, std::string> owner;
  auto add_member = [&](GroupMemberDescription m, const group::TopicPartitions& assigned) {
    for (const auto& [t, ps] : assigned) {
      for (int32_t p : ps) owner[{t, p}] = m.member_id;
    }
    m.assigned = ToWire(assigned);
    resp.members.push_back(std::move(m));
  };
  for (const auto& m : d.classic_members) {
    auto assigned = group::ParseAssignment(m.assignment).value_or(group::TopicPartitions{});
    add_member({m.member_id, m.instance_id, m.client_id, m.client_host, d.generation, {}},
               assigned);
  }
  for (const auto& m : d.native_members) {
    add_member({m.member_id, m.instance_id, m.client_id, "", m.member_epoch, {}}, m.assigned);
  }
  // Offsets: every committed partition and every assigned one, with the log
  // end (high watermark) and the lag between them.
  std::map<std::pair<std::string, int32_t>, int64_t> committed;
  for (const auto& o : core_->CommittedOffsetsOf(d.group_id)) {
    committed[{o.topic, o.partition}] = o.committed.offset;
  }
  std::set<std::pair<std::string, int32_t>> keys;
  for (const auto& [k, v] : committed) keys.insert(k);
  for (const auto& [k, v] : owner) keys.insert(k);
  std::map<std::string, std::map<int32_t, int64_t>> ends;
  std::set<std::string> topics;
  for (const auto& k : keys) topics.insert(k.first);
  std::vector<std::string_view> names(topics.begin(), topics.end());
  if (!names.empty()) {
    for (const auto& t : core_->Describe(names)) {
      for (const auto& p : t.partitions) ends[t.name][p.index] = p.log_end_offset;
    }
  }
  for (const auto& k : keys) {
    // Offsets of a topic the principal may not describe are left out, as
    // OFFSET_FETCH would refuse them (the members' assignments stay).
    if (!MayDescribe(ns, k.first)) continue;
    GroupOffsetDescription o;
    o.topic = k.first;
    o.partition = k.second;
    if (auto it = committed.find(k); it != committed.end()) o.committed_offset = it->second;
    if (auto t = ends.find(k.first); t != ends.end()) {
      if (auto p = t->second.find(k.second); p != t->second.end()) o.log_end_offset = p->second;
    }
    if (o.committed_offset >= 0 && o.log_end_offset >= 0) {
      o.lag = std::max<int64_t>(o.log_end_offset - o.committed_offset, 0);
    }
    if (auto it = owner.find(k); it != owner.end()) o.member_id = it->second;
    resp.offsets.push_back(std::move(o));
  }
  return Respond(out, h, resp);
}

}  // namespace sentry::frontend
