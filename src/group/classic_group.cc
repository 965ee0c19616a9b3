#include "group/classic_group.h"

#include <algorithm>

namespace sentry::group {

namespace {
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
}  // namespace

const char* ClassicStateName(ClassicState s) {
  switch (s) {
    case ClassicState::kEmpty:
      return "Empty";
    case ClassicState::kPreparingRebalance:
      return "PreparingRebalance";
    case ClassicState::kCompletingRebalance:
      return "CompletingRebalance";
    case ClassicState::kStable:
      return "Stable";
    case ClassicState::kDead:
      return "Dead";
  }
  return "Unknown";
}

ClassicGroup::ClassicGroup(std::string id, const ClassicGroupConfig* config)
    : id_(std::move(id)), config_(config) {}

void ClassicGroup::Restore(int32_t generation, std::string protocol_type,
                           std::string protocol_name) {
  generation_ = generation;
  protocol_type_ = std::move(protocol_type);
  protocol_name_ = std::move(protocol_name);
}

bool ClassicGroup::SupportsProtocols(const std::string& type,
                                     const std::vector<Protocol>& protocols,
                                     const std::string& except_member) const {
  if (type.empty() || protocols.empty()) return false;
  bool others = false;
  for (const auto& [mid, m] : members_) others |= mid != except_member;
  if (!others) return true;  // nothing to agree with (Kafka: an Empty group)
  if (type != protocol_type_) return false;
  // At least one of the request's protocols is supported by every other member.
  return std::any_of(protocols.begin(), protocols.end(), [&](const Protocol& p) {
    return std::all_of(members_.begin(), members_.end(), [&](const auto& kv) {
      if (kv.first == except_member) return true;
      const auto& ps = kv.second.protocols;
      return std::any_of(ps.begin(), ps.end(),
                         [&](const Protocol& q) { return q.first == p.first; });
    });
  });
}

std::string ClassicGroup::SelectProtocol() const {
  // Candidates: protocols every member supports. Each member votes for its
  // most preferred candidate; most votes wins (ties: the smallest name).
  std::map<std::string, size_t> support;
  for (const auto& [mid, m] : members_) {
    for (const auto& p : m.protocols) support[p.first]++;
  }
  std::map<std::string, size_t> votes;
  for (const auto& [mid, m] : members_) {
    for (const auto& p : m.protocols) {
      if (support[p.first] == members_.size()) {
        votes[p.first]++;
        break;
      }
    }
  }
  std::string best;
  size_t best_votes = 0;
  for (const auto& [name, n] : votes) {
    if (n > best_votes) {
      best = name;
      best_votes = n;
    }
  }
  return best;
}

GroupErrc ClassicGroup::CheckMember(const std::string& member_id,
                                    const std::string& instance_id) const {
  if (!instance_id.empty()) {
    auto it = static_members_.find(instance_id);
    if (it == static_members_.end()) return GroupErrc::kUnknownMemberId;
    if (it->second != member_id) return GroupErrc::kFencedInstanceId;
    return GroupErrc::kNone;
  }
  return members_.count(member_id) ? GroupErrc::kNone : GroupErrc::kUnknownMemberId;
}

// --- JoinGroup ---

void ClassicGroup::Join(Ticket t, const JoinRequest& req, std::string new_member_id, int64_t now,
                        Replies* out) {
  auto fail = [&](GroupErrc e) {
    JoinResponse r;
    r.error = e;
    r.member_id = req.member_id;
    out->joins.emplace_back(t, std::move(r));
  };
  if (req.session_timeout_ms < config_->min_session_timeout_ms ||
      req.session_timeout_ms > config_->max_session_timeout_ms) {
    return fail(GroupErrc::kInvalidSessionTimeout);
  }
  if (state_ == ClassicState::kDead) return fail(GroupErrc::kCoordinatorNotAvailable);
  if (req.member_id.empty()) return JoinUnknown(t, req, std::move(new_member_id), now, out);
  JoinKnown(t, req, now, out);
}

void ClassicGroup::JoinUnknown(Ticket t, const JoinRequest& req, std::string new_member_id,
                               int64_t now, Replies* out) {
  auto fail = [&](GroupErrc e) {
    JoinResponse r;
    r.error = e;
    out->joins.emplace_back(t, std::move(r));
  };
  if (!SupportsProtocols(req.protocol_type, req.protocols, "")) {
    return fail(GroupErrc::kInconsistentGroupProtocol);
  }
  if (!req.instance_id.empty()) return JoinStatic(t, req, std::move(new_member_id), now, out);
  if (members_.size() + pending_.size() >= static_cast<size_t>(config_->max_size)) {
    return fail(GroupErrc::kGroupMaxSizeReached);
  }
  if (req.require_known_member_id) {
    // KIP-394: hand out the id first; the member rejoins with it. Until then
    // it is pending, and a join phase waits for it.
    pending_[new_member_id] = now + req.session_timeout_ms;
    JoinResponse r;
    r.error = GroupErrc::kMemberIdRequired;
    r.member_id = std::move(new_member_id);
    out->joins.emplace_back(t, std::move(r));
    return;
  }
  AddMemberAndRebalance(t, req, std::move(new_member_id), now, out);
}

void ClassicGroup::JoinStatic(Ticket t, const JoinRequest& req, std::string new_member_id,
                              int64_t now, Replies* out) {
  auto sit = static_members_.find(req.instance_id);
  if (sit == static_members_.end()) {
    if (members_.size() + pending_.size() >= static_cast<size_t>(config_->max_size)) {
      JoinResponse r;
      r.error = GroupErrc::kGroupMaxSizeReached;
      out->joins.emplace_back(t, std::move(r));
      return;
    }
    return AddMemberAndRebalance(t, req, std::move(new_member_id), now, out);
  }
  // A known instance restarted: the new member id replaces the old one, which
  // is fenced from now on; it keeps the old member's place and assignment.
  auto node = members_.extract(sit->second);
  Member m = std::move(node.mapped());
  if (m.join_waiter) {
    JoinResponse r;
    r.error = GroupErrc::kFencedInstanceId;
    r.member_id = m.id;
    out->joins.emplace_back(*m.join_waiter, std::move(r));
    m.join_waiter.reset();
  }
  if (m.sync_waiter) {
    SyncResponse r;
    r.error = GroupErrc::kFencedInstanceId;
    out->syncs.emplace_back(*m.sync_waiter, std::move(r));
    m.sync_waiter.reset();
  }
  const std::string old_id = m.id;
  m.id = new_member_id;
  if (leader_ == old_id) leader_ = m.id;
  if (pending_sync_.erase(old_id)) pending_sync_.insert(m.id);
  sit->second = m.id;
  Member& nm = members_.emplace(m.id, std::move(m)).first->second;
  if (state_ == ClassicState::kStable) {
    const std::string selected = protocol_name_;
    auto old_protocols = nm.protocols;
    nm.protocols = req.protocols;
    nm.session_timeout_ms = req.session_timeout_ms;
    nm.rebalance_timeout_ms = req.rebalance_timeout_ms;
    nm.client_id = req.client_id;
    nm.client_host = req.client_host;
    if (SelectProtocol() == selected) {
      // Same protocol: no rebalance, the member gets the current generation
      // (and its old assignment with its next SyncGroup).
      Refresh(nm, now);
      persist_version_++;
      out->joins.emplace_back(t, CurrentJoinAnswer(nm));
      return;
    }
    nm.protocols = std::move(old_protocols);
  }
  UpdateMemberAndRebalance(nm, t, req, now, out);
}

void ClassicGroup::JoinKnown(Ticket t, const JoinRequest& req, int64_t now, Replies* out) {
  auto fail = [&](GroupErrc e) {
    JoinResponse r;
    r.error = e;
    r.member_id = req.member_id;
    out->joins.emplace_back(t, std::move(r));
  };
  if (!SupportsProtocols(req.protocol_type, req.protocols, req.member_id)) {
    return fail(GroupErrc::kInconsistentGroupProtocol);
  }
  if (auto p = pending_.find(req.member_id); p != pending_.end()) {
    pending_.erase(p);
    return AddMemberAndRebalance(t, req, req.member_id, now, out);
  }
  if (GroupErrc e = CheckMember(req.member_id, req.instance_id); e != GroupErrc::kNone) {
    return fail(e);
  }
  Member& m = members_.at(req.member_id);
  switch (state_) {
    case ClassicState::kPreparingRebalance:
      return UpdateMemberAndRebalance(m, t, req, now, out);
    case ClassicState::kCompletingRebalance:
      // A repeated join (its answer was lost) with the same protocols gets
      // the same answer; anything else starts a new rebalance.
      if (m.protocols == req.protocols) {
        Refresh(m, now);
        out->joins.emplace_back(t, CurrentJoinAnswer(m));
        return;
      }
      return UpdateMemberAndRebalance(m, t, req, now, out);
    case ClassicState::kStable:
      if (m.id == leader_ || m.protocols != req.protocols) {
        return UpdateMemberAndRebalance(m, t, req, now, out);
      }
      Refresh(m, now);
      out->joins.emplace_back(t, CurrentJoinAnswer(m));
      return;
    case ClassicState::kEmpty:
    case ClassicState::kDead:
      return fail(GroupErrc::kUnknownMemberId);
  }
}

JoinResponse ClassicGroup::CurrentJoinAnswer(const Member& m) const {
  JoinResponse r;
  r.generation = generation_;
  r.protocol_type = protocol_type_;
  r.protocol_name = protocol_name_;
  r.leader = leader_;
  r.member_id = m.id;
  if (m.id == leader_) {
    for (const auto& [mid, o] : members_) {
      JoinMember jm{mid, o.instance_id, {}};
      for (const auto& p : o.protocols) {
        if (p.first == protocol_name_) jm.metadata = p.second;
      }
      r.members.push_back(std::move(jm));
    }
  }
  return r;
}

void ClassicGroup::SetJoinWaiter(Member& m, Ticket t, Replies* out) {
  if (m.join_waiter && *m.join_waiter != t) {
    // The same member joined again from elsewhere: the older request is
    // superseded and told to rejoin.
    JoinResponse r;
    r.error = GroupErrc::kRebalanceInProgress;
    r.member_id = m.id;
    out->joins.emplace_back(*m.join_waiter, std::move(r));
  }
  m.join_waiter = t;
}

void ClassicGroup::AddMemberAndRebalance(Ticket t, const JoinRequest& req, std::string member_id,
                                         int64_t now, Replies* out) {
  if (members_.empty()) protocol_type_ = req.protocol_type;
  Member m;
  m.id = member_id;
  m.instance_id = req.instance_id;
  m.client_id = req.client_id;
  m.client_host = req.client_host;
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.protocol_type = req.protocol_type;
  m.protocols = req.protocols;
  m.join_waiter = t;
  m.seq = next_seq_++;
  Refresh(m, now);
  if (!m.instance_id.empty()) static_members_[m.instance_id] = m.id;
  members_.emplace(member_id, std::move(m));
  if (leader_.empty()) leader_ = member_id;
  if (state_ == ClassicState::kPreparingRebalance && initial_delay_) new_member_added_ = true;
  MaybePrepareRebalance(now, out);
}

void ClassicGroup::UpdateMemberAndRebalance(Member& m, Ticket t, const JoinRequest& req,
                                            int64_t now, Replies* out) {
  m.protocols = req.protocols;
  m.session_timeout_ms = req.session_timeout_ms;
  m.rebalance_timeout_ms = req.rebalance_timeout_ms;
  m.client_id = req.client_id;
  m.client_host = req.client_host;
  Refresh(m, now);
  SetJoinWaiter(m, t, out);
  MaybePrepareRebalance(now, out);
}

// --- rebalance phases ---

int32_t ClassicGroup::MaxRebalanceTimeout() const {
  int32_t t = 0;
  for (const auto& [mid, m] : members_) t = std::max(t, m.rebalance_timeout_ms);
  return t;
}

void ClassicGroup::MaybePrepareRebalance(int64_t now, Replies* out) {
  if (state_ == ClassicState::kStable || state_ == ClassicState::kCompletingRebalance ||
      state_ == ClassicState::kEmpty) {
    PrepareRebalance(now, out);
  } else if (state_ == ClassicState::kPreparingRebalance) {
    MaybeCompleteJoin(now, out);
  }
}

void ClassicGroup::PrepareRebalance(int64_t now, Replies* out) {
  if (state_ == ClassicState::kCompletingRebalance) {
    // Members waiting for their assignment learn it will not come.
    for (auto& [mid, m] : members_) {
      m.assignment.clear();
      if (m.sync_waiter) {
        SyncResponse r;
        r.error = GroupErrc::kRebalanceInProgress;
        out->syncs.emplace_back(*m.sync_waiter, std::move(r));
        m.sync_waiter.reset();
      }
    }
    pending_sync_.clear();
  }
  const int64_t rebalance = MaxRebalanceTimeout();
  if (state_ == ClassicState::kEmpty && config_->initial_rebalance_delay_ms > 0) {
    // Kafka's InitialDelayedJoin: wait a little for the rest of a starting
    // fleet, so it is one rebalance, not one per member.
    const int64_t delay = std::min<int64_t>(config_->initial_rebalance_delay_ms, rebalance);
    initial_delay_ = true;
    new_member_added_ = false;
    join_deadline_ = now + delay;
    initial_remaining_ms_ = std::max<int64_t>(rebalance - delay, 0);
  } else {
    initial_delay_ = false;
    join_deadline_ = now + rebalance;
  }
  state_ = ClassicState::kPreparingRebalance;
  MaybeCompleteJoin(now, out);
}

void ClassicGroup::MaybeCompleteJoin(int64_t now, Replies* out) {
  if (state_ != ClassicState::kPreparingRebalance || initial_delay_) return;
  if (!pending_.empty()) return;
  for (const auto& [mid, m] : members_) {
    if (!m.join_waiter) return;
  }
  CompleteJoin(now, out);
}

void ClassicGroup::ElectLeader() {
  // The oldest member still here; one that rejoined is preferred (a static
  // leader that did not rejoin cannot compute the assignment).
  const Member* best = nullptr;
  for (const auto& [mid, m] : members_) {
    const bool better = !best || (m.join_waiter.has_value() != best->join_waiter.has_value()
                                      ? m.join_waiter.has_value()
                                      : m.seq < best->seq);
    if (better) best = &m;
  }
  leader_ = best ? best->id : std::string();
}

void ClassicGroup::BecomeEmpty(int64_t now) {
  state_ = ClassicState::kEmpty;
  protocol_name_.clear();
  leader_.clear();
  empty_since_ = now;
  persist_version_++;
}

void ClassicGroup::CompleteJoin(int64_t now, Replies* out) {
  // Dynamic members that did not rejoin in time are gone; static ones keep
  // their place (they may come back with the same instance id).
  std::vector<std::string> gone;
  for (const auto& [mid, m] : members_) {
    if (!m.join_waiter && m.instance_id.empty()) gone.push_back(mid);
  }
  for (const auto& mid : gone) {
    members_.erase(mid);
    pending_sync_.erase(mid);
  }
  generation_++;
  initial_delay_ = false;
  if (members_.empty()) {
    BecomeEmpty(now);
    return;
  }
  if (leader_.empty() || !members_.at(leader_).join_waiter) ElectLeader();
  protocol_name_ = SelectProtocol();
  state_ = ClassicState::kCompletingRebalance;
  empty_since_ = -1;
  persist_version_++;
  sync_deadline_ = now + MaxRebalanceTimeout();
  pending_sync_.clear();
  for (auto& [mid, m] : members_) {
    pending_sync_.insert(mid);
    m.assignment.clear();
    Refresh(m, now);
    if (m.join_waiter) {
      out->joins.emplace_back(*m.join_waiter, CurrentJoinAnswer(m));
      m.join_waiter.reset();
    }
  }
}

void ClassicGroup::RemoveMember(const std::string& member_id, int64_t now, Replies* out) {
  auto it = members_.find(member_id);
  if (it == members_.end()) return;
  Member& m = it->second;
  if (m.join_waiter) {
    JoinResponse r;
    r.error = GroupErrc::kUnknownMemberId;
    r.member_id = m.id;
    out->joins.emplace_back(*m.join_waiter, std::move(r));
  }
  if (m.sync_waiter) {
    SyncResponse r;
    r.error = GroupErrc::kUnknownMemberId;
    out->syncs.emplace_back(*m.sync_waiter, std::move(r));
  }
  if (!m.instance_id.empty()) static_members_.erase(m.instance_id);
  members_.erase(it);
  pending_sync_.erase(member_id);
  if (leader_ == member_id) ElectLeader();
  switch (state_) {
    case ClassicState::kStable:
    case ClassicState::kCompletingRebalance:
      PrepareRebalance(now, out);
      break;
    case ClassicState::kPreparingRebalance:
      MaybeCompleteJoin(now, out);
      break;
    case ClassicState::kEmpty:
    case ClassicState::kDead:
      break;
  }
}

// --- SyncGroup, Heartbeat, LeaveGroup, commits ---

void ClassicGroup::Sync(Ticket t, const SyncRequest& req, int64_t now, Replies* out) {
  auto answer = [&](GroupErrc e, std::string assignment = {}) {
    SyncResponse r;
    r.error = e;
    if (e == GroupErrc::kNone) {
      r.protocol_type = protocol_type_;
      r.protocol_name = protocol_name_;
      r.assignment = std::move(assignment);
    }
    out->syncs.emplace_back(t, std::move(r));
  };
  if (state_ == ClassicState::kDead) return answer(GroupErrc::kCoordinatorNotAvailable);
  if (GroupErrc e = CheckMember(req.member_id, req.instance_id); e != GroupErrc::kNone) {
    return answer(e);
  }
  if (req.generation != generation_) return answer(GroupErrc::kIllegalGeneration);
  if ((req.protocol_type && *req.protocol_type != protocol_type_) ||
      (req.protocol_name && *req.protocol_name != protocol_name_)) {
    return answer(GroupErrc::kInconsistentGroupProtocol);
  }
  Member& m = members_.at(req.member_id);
  switch (state_) {
    case ClassicState::kEmpty:
    case ClassicState::kDead:
      return answer(GroupErrc::kUnknownMemberId);
    case ClassicState::kPreparingRebalance:
      return answer(GroupErrc::kRebalanceInProgress);
    case ClassicState::kStable:
      Refresh(m, now);
      pending_sync_.erase(m.id);
      return answer(GroupErrc::kNone, m.assignment);
    case ClassicState::kCompletingRebalance:
      break;
  }
  Refresh(m, now);
  if (m.sync_waiter && *m.sync_waiter != t) {
    SyncResponse r;
    r.error = GroupErrc::kRebalanceInProgress;
    out->syncs.emplace_back(*m.sync_waiter, std::move(r));
  }
  m.sync_waiter = t;
  pending_sync_.erase(m.id);
  if (m.id != leader_) return;
  // The leader's assignment: members it left out get an empty one.
  for (auto& [mid, o] : members_) o.assignment.clear();
  for (const auto& [mid, bytes] : req.assignments) {
    if (auto it = members_.find(mid); it != members_.end()) it->second.assignment = bytes;
  }
  state_ = ClassicState::kStable;
  persist_version_++;
  for (auto& [mid, o] : members_) {
    if (!o.sync_waiter) continue;
    SyncResponse r;
    r.protocol_type = protocol_type_;
    r.protocol_name = protocol_name_;
    r.assignment = o.assignment;
    out->syncs.emplace_back(*o.sync_waiter, std::move(r));
    o.sync_waiter.reset();
  }
}

GroupErrc ClassicGroup::Heartbeat(const std::string& member_id, const std::string& instance_id,
                                  int32_t generation, int64_t now) {
  if (state_ == ClassicState::kDead) return GroupErrc::kCoordinatorNotAvailable;
  if (state_ == ClassicState::kEmpty) return GroupErrc::kUnknownMemberId;
  if (GroupErrc e = CheckMember(member_id, instance_id); e != GroupErrc::kNone) return e;
  if (generation != generation_) return GroupErrc::kIllegalGeneration;
  Refresh(members_.at(member_id), now);
  if (state_ == ClassicState::kPreparingRebalance) return GroupErrc::kRebalanceInProgress;
  return GroupErrc::kNone;
}

GroupErrc ClassicGroup::Leave(const std::string& member_id, const std::string& instance_id,
                              int64_t now, Replies* out) {
  if (state_ == ClassicState::kDead) return GroupErrc::kCoordinatorNotAvailable;
  if (instance_id.empty() && pending_.erase(member_id)) {
    MaybeCompleteJoin(now, out);
    return GroupErrc::kNone;
  }
  std::string id = member_id;
  if (!instance_id.empty()) {
    auto it = static_members_.find(instance_id);
    if (it == static_members_.end()) return GroupErrc::kUnknownMemberId;
    // Removing a static member by instance id alone (an admin) is allowed.
    if (!member_id.empty() && it->second != member_id) return GroupErrc::kFencedInstanceId;
    id = it->second;
  } else if (!members_.count(member_id)) {
    return GroupErrc::kUnknownMemberId;
  }
  RemoveMember(id, now, out);
  return GroupErrc::kNone;
}

GroupErrc ClassicGroup::ValidateCommit(const std::string& member_id, const std::string& instance_id,
                                       int32_t generation, int64_t now) {
  if (state_ == ClassicState::kDead) return GroupErrc::kCoordinatorNotAvailable;
  // A consumer that assigns partitions itself (generation -1) may commit
  // into a group only while no member manages it.
  if (generation < 0 && state_ == ClassicState::kEmpty) return GroupErrc::kNone;
  if (GroupErrc e = CheckMember(member_id, instance_id); e != GroupErrc::kNone) return e;
  if (generation != generation_) return GroupErrc::kIllegalGeneration;
  if (state_ == ClassicState::kCompletingRebalance) return GroupErrc::kRebalanceInProgress;
  Refresh(members_.at(member_id), now);
  return GroupErrc::kNone;
}

// --- time ---

int64_t ClassicGroup::NextDeadline() const {
  int64_t next = kNever;
  for (const auto& [mid, d] : pending_) next = std::min(next, d);
  for (const auto& [mid, m] : members_) {
    if (!m.join_waiter && !m.sync_waiter) next = std::min(next, m.session_deadline);
  }
  if (state_ == ClassicState::kPreparingRebalance) next = std::min(next, join_deadline_);
  if ((state_ == ClassicState::kCompletingRebalance || state_ == ClassicState::kStable) &&
      !pending_sync_.empty()) {
    next = std::min(next, sync_deadline_);
  }
  return next;
}

void ClassicGroup::Tick(int64_t now, Replies* out) {
  if (state_ == ClassicState::kDead) return;
  // Pending members that never came back with their id.
  for (auto it = pending_.begin(); it != pending_.end();) {
    it = it->second <= now ? pending_.erase(it) : std::next(it);
  }
  // Sessions: a member waiting for its JoinGroup/SyncGroup answer is bounded
  // by the phase deadlines instead.
  std::vector<std::string> expired;
  for (const auto& [mid, m] : members_) {
    if (!m.join_waiter && !m.sync_waiter && m.session_deadline <= now) expired.push_back(mid);
  }
  for (const auto& mid : expired) RemoveMember(mid, now, out);
  if (state_ == ClassicState::kPreparingRebalance && join_deadline_ <= now) {
    if (initial_delay_ && new_member_added_ && initial_remaining_ms_ > 0 &&
        config_->initial_rebalance_delay_ms > 0) {
      // Members are still arriving: wait once more, within the rebalance timeout.
      const int64_t delay =
          std::min<int64_t>(config_->initial_rebalance_delay_ms, initial_remaining_ms_);
      initial_remaining_ms_ -= delay;
      join_deadline_ = now + delay;
      new_member_added_ = false;
    } else {
      CompleteJoin(now, out);
    }
  } else if (state_ == ClassicState::kPreparingRebalance) {
    MaybeCompleteJoin(now, out);
  }
  if ((state_ == ClassicState::kCompletingRebalance || state_ == ClassicState::kStable) &&
      !pending_sync_.empty() && sync_deadline_ <= now) {
    // Members that never sent SyncGroup within the rebalance timeout are
    // removed, and the group rebalances without them.
    std::vector<std::string> late(pending_sync_.begin(), pending_sync_.end());
    for (const auto& mid : late) {
      auto it = members_.find(mid);
      if (it == members_.end()) continue;
      if (!it->second.instance_id.empty()) static_members_.erase(it->second.instance_id);
      members_.erase(it);
      pending_sync_.erase(mid);
    }
    if (!members_.count(leader_)) ElectLeader();
    PrepareRebalance(now, out);
  }
}

void ClassicGroup::Shutdown(GroupErrc error, Replies* out) {
  for (auto& [mid, m] : members_) {
    if (m.join_waiter) {
      JoinResponse r;
      r.error = error;
      r.member_id = m.id;
      out->joins.emplace_back(*m.join_waiter, std::move(r));
      m.join_waiter.reset();
    }
    if (m.sync_waiter) {
      SyncResponse r;
      r.error = error;
      out->syncs.emplace_back(*m.sync_waiter, std::move(r));
      m.sync_waiter.reset();
    }
  }
  state_ = ClassicState::kDead;
}

std::vector<ClassicMemberView> ClassicGroup::Members() const {
  std::vector<ClassicMemberView> v;
  const bool stable = state_ == ClassicState::kStable;
  for (const auto& [mid, m] : members_) {
    ClassicMemberView mv{mid, m.instance_id, m.client_id, m.client_host, {}, {}};
    if (stable) {
      for (const auto& p : m.protocols) {
        if (p.first == protocol_name_) mv.metadata = p.second;
      }
      mv.assignment = m.assignment;
    }
    v.push_back(std::move(mv));
  }
  return v;
}

}  // namespace sentry::group
