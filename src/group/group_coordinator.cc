#include "group/group_coordinator.h"

#include <algorithm>
#include <limits>

#include "group/consumer_protocol.h"

namespace sentry::group {

namespace {
constexpr char kNativeProtocolType[] = "consumer";
}  // namespace

GroupCoordinator::GroupCoordinator(CoordinatorConfig config) : config_(config) {}

GroupCoordinator::Entry& GroupCoordinator::NewClassic(const std::string& group_id) {
  Entry& e = groups_[group_id];
  e.native.reset();
  e.classic = std::make_unique<ClassicGroup>(group_id, &config_.classic);
  return e;
}

GroupCoordinator::Entry& GroupCoordinator::NewNative(const std::string& group_id) {
  Entry& e = groups_[group_id];
  e.classic.reset();
  e.native = std::make_unique<ConsumerGroup>(group_id, config_.native);
  return e;
}

bool GroupCoordinator::IsEmpty(const Entry& e) const {
  return e.classic ? e.classic->empty() : e.native->empty();
}

void GroupCoordinator::NoteChange(Entry& e, int64_t now) {
  if (e.classic) {
    if (e.classic->persist_version() != e.persisted_version) e.dirty = true;
  } else if (e.native->group_epoch() != e.persisted_epoch) {
    e.dirty = true;
  }
  // For offsets retention: when the group last lost its last member.
  if (!IsEmpty(e)) {
    e.had_members = true;
    e.empty_since = -1;
  } else if (e.had_members && e.empty_since < 0) {
    e.empty_since = now;
  }
}

void GroupCoordinator::Restore(const std::string& group_id, const GroupRecord& rec) {
  if (rec.kind == GroupKind::kClassic) {
    Entry& e = NewClassic(group_id);
    e.classic->Restore(rec.generation, rec.protocol_type, rec.protocol_name);
    e.persisted_version = e.classic->persist_version();
  } else {
    Entry& e = NewNative(group_id);
    e.native->Restore(rec.generation);
    e.persisted_epoch = e.native->group_epoch();
  }
}

void GroupCoordinator::RestoreOffsetsOnly(const std::string& group_id) {
  if (!groups_.count(group_id)) NewClassic(group_id);
}

bool GroupCoordinator::Exists(const std::string& group_id) const {
  return groups_.count(group_id) > 0;
}

void GroupCoordinator::Join(Ticket t, const std::string& group_id, const JoinRequest& req,
                            std::string new_member_id, int64_t now, Replies* out) {
  auto fail = [&](GroupErrc e) {
    JoinResponse r;
    r.error = e;
    r.member_id = req.member_id;
    out->joins.emplace_back(t, std::move(r));
  };
  if (group_id.empty()) return fail(GroupErrc::kInvalidGroupId);
  auto it = groups_.find(group_id);
  Entry* e = nullptr;
  const bool created = it == groups_.end();
  if (created) {
    if (!req.member_id.empty()) return fail(GroupErrc::kUnknownMemberId);
    e = &NewClassic(group_id);
  } else {
    e = &it->second;
    if (e->native) {
      if (!IsEmpty(*e)) return fail(GroupErrc::kInconsistentGroupProtocol);
      e = &NewClassic(group_id);  // an empty native group becomes classic
    }
  }
  e->classic->Join(t, req, std::move(new_member_id), now, out);
  if (created && IsEmpty(*e)) {
    groups_.erase(group_id);  // a refused join leaves no group behind
    return;
  }
  NoteChange(*e, now);
}

void GroupCoordinator::Sync(Ticket t, const std::string& group_id, const SyncRequest& req,
                            int64_t now, Replies* out) {
  auto it = groups_.find(group_id);
  if (group_id.empty() || it == groups_.end() || !it->second.classic) {
    SyncResponse r;
    r.error = group_id.empty() ? GroupErrc::kInvalidGroupId : GroupErrc::kUnknownMemberId;
    out->syncs.emplace_back(t, std::move(r));
    return;
  }
  it->second.classic->Sync(t, req, now, out);
  NoteChange(it->second, now);
}

GroupErrc GroupCoordinator::Heartbeat(const std::string& group_id, const std::string& member_id,
                                      const std::string& instance_id, int32_t generation,
                                      int64_t now) {
  if (group_id.empty()) return GroupErrc::kInvalidGroupId;
  auto it = groups_.find(group_id);
  if (it == groups_.end() || !it->second.classic) return GroupErrc::kUnknownMemberId;
  return it->second.classic->Heartbeat(member_id, instance_id, generation, now);
}

GroupErrc GroupCoordinator::Leave(const std::string& group_id, const std::string& member_id,
                                  const std::string& instance_id, int64_t now, Replies* out) {
  if (group_id.empty()) return GroupErrc::kInvalidGroupId;
  auto it = groups_.find(group_id);
  if (it == groups_.end() || !it->second.classic) return GroupErrc::kUnknownMemberId;
  const GroupErrc e = it->second.classic->Leave(member_id, instance_id, now, out);
  NoteChange(it->second, now);
  return e;
}

ConsumerGroup::HeartbeatOut GroupCoordinator::NativeHeartbeat(
    const std::string& group_id, const ConsumerGroup::HeartbeatIn& in, int64_t now,
    const ConsumerGroup::PartitionCountFn& counts, std::string new_member_id) {
  ConsumerGroup::HeartbeatOut out;
  if (group_id.empty()) {
    out.error = GroupErrc::kInvalidGroupId;
    return out;
  }
  auto it = groups_.find(group_id);
  Entry* e = nullptr;
  const bool created = it == groups_.end();
  if (created) {
    if (in.member_epoch != 0) {
      out.error = GroupErrc::kUnknownMemberId;
      return out;
    }
    e = &NewNative(group_id);
  } else {
    e = &it->second;
    if (e->classic) {
      // Kafka 4 answers GROUP_ID_NOT_FOUND to a new-protocol heartbeat for a
      // classic group that has members.
      if (!IsEmpty(*e)) {
        out.error = GroupErrc::kGroupIdNotFound;
        return out;
      }
      const int32_t generation = e->classic->generation();
      e = &NewNative(group_id);
      e->native->Restore(generation);  // epochs keep growing across the change
    }
  }
  out = e->native->Heartbeat(in, now, counts, std::move(new_member_id));
  if (created && IsEmpty(*e)) {
    groups_.erase(group_id);  // a refused join leaves no group behind
    return out;
  }
  NoteChange(*e, now);
  return out;
}

GroupErrc GroupCoordinator::ValidateCommit(const std::string& group_id,
                                           const std::string& member_id,
                                           const std::string& instance_id, int32_t generation,
                                           int64_t now) {
  if (group_id.empty()) return GroupErrc::kInvalidGroupId;
  auto it = groups_.find(group_id);
  if (it == groups_.end()) {
    // Kafka: a group not managed by the coordinator (generation -1) is made
    // Empty and takes the commit; any generation of an unknown group is stale.
    if (generation >= 0) return GroupErrc::kIllegalGeneration;
    NewClassic(group_id);
    return GroupErrc::kNone;
  }
  Entry& e = it->second;
  if (e.classic) return e.classic->ValidateCommit(member_id, instance_id, generation, now);
  return e.native->ValidateCommit(member_id, generation);
}

GroupErrc GroupCoordinator::CheckOffsetDelete(const std::string& group_id,
                                              const std::string& topic) const {
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return GroupErrc::kGroupIdNotFound;
  const Entry& e = it->second;
  if (IsEmpty(e)) return GroupErrc::kNone;
  if (e.native) {
    for (const auto& m : e.native->Members()) {
      if (std::find(m.subscribed.begin(), m.subscribed.end(), topic) != m.subscribed.end()) {
        return GroupErrc::kGroupSubscribedToTopic;
      }
    }
    return GroupErrc::kNone;
  }
  // Classic: only "consumer" groups say what they read (their subscription
  // metadata); for any other protocol type the group's offsets are its own
  // business while it has members, as in Kafka.
  if (e.classic->protocol_type() != "consumer") return GroupErrc::kNonEmptyGroup;
  // Mid-rebalance nobody knows yet who reads what: every topic is taken.
  if (e.classic->state() != ClassicState::kStable) return GroupErrc::kGroupSubscribedToTopic;
  for (const auto& m : e.classic->Members()) {
    auto sub = ParseSubscription(m.metadata);
    if (!sub || std::find(sub->topics.begin(), sub->topics.end(), topic) != sub->topics.end()) {
      return GroupErrc::kGroupSubscribedToTopic;
    }
  }
  return GroupErrc::kNone;
}

void GroupCoordinator::Tick(int64_t now, Replies* out) {
  for (auto& [id, e] : groups_) {
    if (e.classic) {
      e.classic->Tick(now, out);
    } else {
      e.native->Expire(now);
    }
    NoteChange(e, now);
  }
}

std::vector<std::pair<std::string, int64_t>> GroupCoordinator::EmptyGroups(int64_t now) const {
  std::vector<std::pair<std::string, int64_t>> v;
  for (const auto& [id, e] : groups_) {
    if (IsEmpty(e)) v.emplace_back(id, e.empty_since < 0 ? -1 : now - e.empty_since);
  }
  return v;
}

bool GroupCoordinator::DeleteIfEmpty(const std::string& group_id) {
  auto it = groups_.find(group_id);
  if (it == groups_.end() || !IsEmpty(it->second)) return false;
  groups_.erase(it);
  return true;
}

int64_t GroupCoordinator::NextDeadline() const {
  int64_t next = std::numeric_limits<int64_t>::max();
  for (const auto& [id, e] : groups_) {
    next = std::min(next, e.classic ? e.classic->NextDeadline() : e.native->NextDeadline());
  }
  return next;
}

void GroupCoordinator::ShutdownAll(Replies* out) {
  for (auto& [id, e] : groups_) {
    if (e.classic) e.classic->Shutdown(GroupErrc::kCoordinatorNotAvailable, out);
  }
}

void GroupCoordinator::Clear(GroupErrc why, Replies* out) {
  Clear(why, [](const std::string&) { return true; }, out);
}

void GroupCoordinator::Clear(GroupErrc why, const std::function<bool(const std::string&)>& which,
                             Replies* out) {
  for (auto it = groups_.begin(); it != groups_.end();) {
    if (!which(it->first)) {
      ++it;
      continue;
    }
    if (it->second.classic) it->second.classic->Shutdown(why, out);
    it = groups_.erase(it);
  }
}

std::vector<GroupListing> GroupCoordinator::List() const {
  std::vector<GroupListing> v;
  for (const auto& [id, e] : groups_) {
    if (e.classic) {
      v.push_back({id, e.classic->protocol_type(), ClassicStateName(e.classic->state()),
                   GroupKind::kClassic});
    } else {
      v.push_back({id, kNativeProtocolType, e.native->state_name(), GroupKind::kNative});
    }
  }
  return v;
}

GroupDescription GroupCoordinator::Describe(const std::string& group_id) const {
  GroupDescription d;
  d.group_id = group_id;
  auto it = groups_.find(group_id);
  if (it == groups_.end()) {
    d.error = GroupErrc::kGroupIdNotFound;
    d.state = "Dead";
    return d;
  }
  const Entry& e = it->second;
  if (e.classic) {
    const ClassicGroup& g = *e.classic;
    d.kind = GroupKind::kClassic;
    d.state = ClassicStateName(g.state());
    d.protocol_type = g.protocol_type();
    if (g.state() == ClassicState::kStable) d.protocol_name = g.protocol_name();
    d.generation = g.generation();
    d.classic_members = g.Members();
  } else {
    const ConsumerGroup& g = *e.native;
    d.kind = GroupKind::kNative;
    d.state = g.state_name();
    d.protocol_type = kNativeProtocolType;
    d.generation = g.group_epoch();
    d.native_members = g.Members();
  }
  return d;
}

std::vector<std::pair<std::string, GroupRecord>> GroupCoordinator::TakeDirty() {
  std::vector<std::pair<std::string, GroupRecord>> v;
  for (auto& [id, e] : groups_) {
    if (!e.dirty) continue;
    e.dirty = false;
    GroupRecord r;
    if (e.classic) {
      r.kind = GroupKind::kClassic;
      r.generation = e.classic->generation();
      r.protocol_type = e.classic->protocol_type();
      r.protocol_name = e.classic->protocol_name();
      e.persisted_version = e.classic->persist_version();
    } else {
      r.kind = GroupKind::kNative;
      r.generation = e.native->group_epoch();
      r.protocol_type = kNativeProtocolType;
      e.persisted_epoch = e.native->group_epoch();
    }
    v.emplace_back(id, std::move(r));
  }
  return v;
}

}  // namespace sentry::group
