#include "group/consumer_group.h"

#include <algorithm>
#include <set>
#include <utility>

#include "group/assignor.h"

namespace sentry::group {

namespace {

using PartitionSet = std::set<std::pair<std::string, int32_t>>;

bool Contains(const TopicPartitions& tp, const std::string& topic, int32_t p) {
  auto it = tp.find(topic);
  return it != tp.end() && std::binary_search(it->second.begin(), it->second.end(), p);
}

// Sorted, duplicate-free partitions; no negative partitions, no empty topics.
TopicPartitions Normalize(TopicPartitions tp) {
  for (auto it = tp.begin(); it != tp.end();) {
    auto& ps = it->second;
    ps.erase(std::remove_if(ps.begin(), ps.end(), [](int32_t p) { return p < 0; }), ps.end());
    std::sort(ps.begin(), ps.end());
    ps.erase(std::unique(ps.begin(), ps.end()), ps.end());
    it = ps.empty() ? tp.erase(it) : std::next(it);
  }
  return tp;
}

// The partitions of `a` that are (keep == true) or are not (keep == false) in `b`.
TopicPartitions Filter(const TopicPartitions& a, const TopicPartitions& b, bool keep) {
  TopicPartitions out;
  for (const auto& [t, ps] : a) {
    for (int32_t p : ps) {
      if (Contains(b, t, p) == keep) out[t].push_back(p);
    }
  }
  return out;
}

TopicPartitions Union(const TopicPartitions& a, const TopicPartitions& b) {
  TopicPartitions out = a;
  for (const auto& [t, ps] : b) out[t].insert(out[t].end(), ps.begin(), ps.end());
  return Normalize(std::move(out));
}

std::vector<std::string> SortedUnique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

void AddAll(const TopicPartitions& tp, PartitionSet* out) {
  for (const auto& [t, ps] : tp) {
    for (int32_t p : ps) out->insert({t, p});
  }
}

}  // namespace

ConsumerGroup::ConsumerGroup(std::string id, ConsumerGroupConfig config)
    : id_(std::move(id)), config_(config) {}

void ConsumerGroup::Restore(int32_t group_epoch) {
  group_epoch_ = group_epoch;
  assignment_epoch_ = group_epoch;
  target_.clear();
  target_counts_.clear();
}

ConsumerGroup::HeartbeatOut ConsumerGroup::Heartbeat(const HeartbeatIn& in, int64_t now_ms,
                                                     const PartitionCountFn& counts,
                                                     std::string new_member_id) {
  HeartbeatOut out;
  out.heartbeat_interval_ms = config_.heartbeat_interval_ms;
  auto fail = [&out](GroupErrc e) {
    out.error = e;
    return out;
  };
  // Whether a member past its session may still heartbeat must not depend
  // on when the caller's timer last ran.
  Expire(now_ms);
  if (in.member_epoch == kLeaveEpoch || in.member_epoch == kStaticLeaveEpoch) {
    return Leave(in, now_ms, std::move(out));
  }
  if (in.member_epoch < 0) return fail(GroupErrc::kInvalidRequest);

  std::string id;
  bool full_answer = false;  // the member may not know its assignment: send it
  if (in.member_epoch == kJoinEpoch && in.member_id.empty()) {
    if (!in.subscribed_topics) return fail(GroupErrc::kInvalidRequest);
    if (GroupErrc e = Join(in, std::move(new_member_id), &id); e != GroupErrc::kNone) {
      return fail(e);
    }
    full_answer = true;
  } else {
    auto it = members_.find(in.member_id);
    if (it == members_.end()) return fail(GroupErrc::kUnknownMemberId);
    Member& m = it->second;
    if (in.member_epoch == kJoinEpoch) {
      // A known member starting over (its client lost its state, e.g. after
      // an error). It keeps its place and partitions, so nothing can have
      // two owners; it just hears everything again. A member that has not
      // finished its first reconciliation is at epoch 0 and lands here too.
      full_answer = m.epoch != kJoinEpoch || m.left_static;
      m.left_static = false;
    } else if (m.left_static) {
      return fail(GroupErrc::kUnknownMemberId);  // it left (-2): join again
    } else if (in.member_epoch == m.epoch) {
      // Up to date.
    } else if (in.member_epoch == m.previous_epoch) {
      full_answer = true;  // the answer that moved it on was lost
    } else {
      return fail(GroupErrc::kStaleMemberEpoch);
    }
    id = it->first;
  }

  Member& m = members_.at(id);
  m.session_deadline = now_ms + config_.session_timeout_ms;
  if (!in.client_id.empty()) m.client_id = in.client_id;
  if (in.subscribed_topics) {
    std::vector<std::string> subs = SortedUnique(*in.subscribed_topics);
    if (subs != m.subscribed) {
      m.subscribed = std::move(subs);
      group_epoch_++;
    }
  }
  std::optional<TopicPartitions> owned;
  if (in.owned) {
    owned = Normalize(*in.owned);
    // What it no longer reports is released: free for others from now on.
    m.revoking = Filter(m.revoking, *owned, true);
  }
  MaybeNewTarget(counts);
  const TopicPartitions told = m.assigned;
  Reconcile(id);

  out.member_id = id;
  out.member_epoch = m.epoch;
  // Also when the member reports owning something other than what it was
  // told: it has missed an answer (or is still applying it), and repeating
  // the assignment is cheap while a missed revocation would stall the group.
  if (full_answer || m.assigned != told || (owned && *owned != m.assigned)) {
    out.assignment = m.assigned;
  }
  return out;
}

ConsumerGroup::HeartbeatOut ConsumerGroup::Leave(const HeartbeatIn& in, int64_t now_ms,
                                                 HeartbeatOut out) {
  std::string id = in.member_id;
  if (id.empty() && !in.instance_id.empty()) {
    // A static member may leave by its instance id alone (as in Kafka).
    auto s = instances_.find(in.instance_id);
    if (s != instances_.end()) id = s->second;
  }
  auto it = members_.find(id);
  if (it == members_.end()) {
    out.error = GroupErrc::kUnknownMemberId;
    return out;
  }
  out.member_id = id;
  if (in.member_epoch == kStaticLeaveEpoch && !it->second.instance_id.empty()) {
    // Away for a while: nothing moves, no new epoch; its partitions wait for
    // its instance id to come back until the session ends.
    it->second.left_static = true;
    it->second.session_deadline = now_ms + config_.session_timeout_ms;
    out.member_epoch = kStaticLeaveEpoch;
    return out;
  }
  // -1, or -2 from a dynamic member (nothing to come back to): gone now.
  Remove(id);
  out.member_epoch = kLeaveEpoch;
  return out;
}

GroupErrc ConsumerGroup::Join(const HeartbeatIn& in, std::string new_member_id, std::string* id) {
  if (new_member_id.empty() || members_.count(new_member_id)) {
    // The caller's fresh id is not fresh: refuse with an error the client
    // retries, which brings another id.
    return GroupErrc::kCoordinatorNotAvailable;
  }
  if (!in.instance_id.empty()) {
    auto s = instances_.find(in.instance_id);
    if (s != instances_.end()) {
      // Expire() ran first, so the holder's session is still running.
      if (!members_.at(s->second).left_static) return GroupErrc::kUnreleasedInstanceId;
      // The static member's new process takes its place: same epoch, same
      // partitions, same target, under the new id. The old id is unknown now.
      auto node = members_.extract(s->second);
      node.key() = new_member_id;
      node.mapped().left_static = false;
      node.mapped().client_id = in.client_id;
      members_.insert(std::move(node));
      if (auto t = target_.extract(s->second); !t.empty()) {
        t.key() = new_member_id;
        target_.insert(std::move(t));
      }
      s->second = new_member_id;
      *id = std::move(new_member_id);
      return GroupErrc::kNone;
    }
  }
  if (members_.size() >= static_cast<size_t>(std::max(config_.max_size, 0))) {
    return GroupErrc::kGroupMaxSizeReached;
  }
  Member m;
  m.instance_id = in.instance_id;
  m.client_id = in.client_id;
  m.subscribed = SortedUnique(*in.subscribed_topics);  // one new epoch for the join, not two
  if (!m.instance_id.empty()) instances_[m.instance_id] = new_member_id;
  members_.emplace(new_member_id, std::move(m));
  group_epoch_++;
  *id = std::move(new_member_id);
  return GroupErrc::kNone;
}

void ConsumerGroup::Remove(const std::string& member_id) {
  auto it = members_.find(member_id);
  if (it == members_.end()) return;
  const std::string& instance = it->second.instance_id;
  if (!instance.empty()) {
    auto s = instances_.find(instance);
    if (s != instances_.end() && s->second == member_id) instances_.erase(s);
  }
  members_.erase(it);
  target_.erase(member_id);
  group_epoch_++;
}

void ConsumerGroup::Expire(int64_t now_ms) {
  std::vector<std::string> gone;
  for (const auto& [id, m] : members_) {
    if (m.session_deadline <= now_ms) gone.push_back(id);
  }
  for (const auto& id : gone) Remove(id);
}

int64_t ConsumerGroup::NextDeadline() const {
  int64_t next = std::numeric_limits<int64_t>::max();
  for (const auto& [id, m] : members_) next = std::min(next, m.session_deadline);
  return next;
}

void ConsumerGroup::MaybeNewTarget(const PartitionCountFn& counts) {
  std::map<std::string, int32_t> now;
  std::map<std::string, std::vector<std::string>> subs;
  for (const auto& [id, m] : members_) {
    subs[id] = m.subscribed;
    for (const auto& t : m.subscribed) {
      if (now.count(t)) continue;
      const int32_t n = counts ? counts(t) : -1;
      now[t] = n < 1 ? -1 : n;  // 0 and -1 both mean "nothing to assign"
    }
  }
  if (group_epoch_ == assignment_epoch_) {
    if (now == target_counts_) return;
    group_epoch_++;  // a subscribed topic was created, grew, or was deleted
  }
  target_ = AssignUniformSticky(subs, now, target_);
  target_counts_ = std::move(now);
  assignment_epoch_ = group_epoch_;
}

const TopicPartitions& ConsumerGroup::TargetOf(const std::string& member_id) const {
  static const TopicPartitions kNothing;
  auto it = target_.find(member_id);
  return it == target_.end() ? kNothing : it->second;
}

void ConsumerGroup::Reconcile(const std::string& member_id) {
  Member& m = members_.at(member_id);
  const TopicPartitions& target = TargetOf(member_id);
  const TopicPartitions lose = Filter(m.assigned, target, false);
  if (!lose.empty()) {
    // Revoke first; nothing new in the same answer.
    m.assigned = Filter(m.assigned, target, true);
    m.revoking = Union(m.revoking, lose);
  } else {
    PartitionSet held;  // by someone else: not to be given out yet
    for (const auto& [id, other] : members_) {
      if (id == member_id) continue;
      AddAll(other.assigned, &held);
      AddAll(other.revoking, &held);
    }
    bool grew = false;
    for (const auto& [t, ps] : target) {
      for (int32_t p : ps) {
        if (Contains(m.assigned, t, p) || held.count({t, p})) continue;
        m.assigned[t].push_back(p);
        grew = true;
      }
    }
    if (grew) {
      m.assigned = Normalize(std::move(m.assigned));
      // Revoked, then back in its target before it let go: its own again.
      m.revoking = Filter(m.revoking, m.assigned, false);
    }
  }
  if (m.assigned == target && m.revoking.empty() && m.epoch != assignment_epoch_) {
    m.previous_epoch = m.epoch;
    m.epoch = assignment_epoch_;
  }
}

GroupErrc ConsumerGroup::ValidateCommit(const std::string& member_id, int32_t member_epoch) const {
  if (member_id.empty()) {
    return member_epoch == -1 && members_.empty() ? GroupErrc::kNone : GroupErrc::kUnknownMemberId;
  }
  auto it = members_.find(member_id);
  if (it == members_.end()) return GroupErrc::kUnknownMemberId;
  if (member_epoch != it->second.epoch) return GroupErrc::kStaleMemberEpoch;
  return GroupErrc::kNone;
}

const char* ConsumerGroup::state_name() const {
  if (members_.empty()) return "Empty";
  if (group_epoch_ != assignment_epoch_) return "Reconciling";
  for (const auto& [id, m] : members_) {
    if (m.epoch != assignment_epoch_ || !m.revoking.empty() || m.assigned != TargetOf(id)) {
      return "Reconciling";
    }
  }
  return "Stable";
}

std::vector<ConsumerGroup::MemberView> ConsumerGroup::Members() const {
  std::vector<MemberView> v;
  v.reserve(members_.size());
  for (const auto& [id, m] : members_) {
    v.push_back({id, m.instance_id, m.client_id, m.epoch, m.subscribed, m.assigned, TargetOf(id),
                 m.revoking});
  }
  return v;
}

}  // namespace sentry::group
