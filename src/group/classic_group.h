// ClassicGroup: one group of Kafka's classic group protocol (JoinGroup,
// SyncGroup, Heartbeat, LeaveGroup), as Kafka's GroupCoordinator runs it.
//
// States: Empty -> PreparingRebalance (members (re)join; bounded by the
// rebalance timeout, or group.initial.rebalance.delay.ms for a group that was
// empty) -> CompletingRebalance (every member has its JoinGroup answer; the
// leader computes the assignment and sends it with SyncGroup) -> Stable.
// Dead while the group is being removed. Generation ids fence stale members;
// static members (group.instance.id, KIP-345) keep their place and
// assignment across restarts of the client.
//
// JoinGroup and SyncGroup answers may come later than the request (they wait
// for the other members): each call carries a Ticket and its answer appears
// in a Replies list, now or from a later call or Tick(). Heartbeat, LeaveGroup
// and commit validation answer at once.
//
// Pure and deterministic: no threads, no I/O, time passed in as `now` (ms,
// steady clock). Not thread-safe: the caller (GroupCoordinator) holds its lock.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "group/group_errc.h"

namespace sentry::group {

enum class ClassicState : uint8_t {
  kEmpty,
  kPreparingRebalance,
  kCompletingRebalance,
  kStable,
  kDead
};
const char* ClassicStateName(ClassicState s);  // Kafka's names ("Stable", ...)

struct ClassicGroupConfig {
  int32_t min_session_timeout_ms = 6000;                   // group.min.session.timeout.ms
  int32_t max_session_timeout_ms = 1800000;                // group.max.session.timeout.ms
  int32_t initial_rebalance_delay_ms = 3000;               // group.initial.rebalance.delay.ms
  int32_t max_size = std::numeric_limits<int32_t>::max();  // group.max.size
};

// A protocol a member supports: name and its opaque metadata, in the
// member's order of preference.
using Protocol = std::pair<std::string, std::string>;

struct JoinRequest {
  std::string member_id;    // empty: a new member
  std::string instance_id;  // empty: dynamic member
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 0;
  int32_t rebalance_timeout_ms = 0;  // v0 requests: the session timeout
  std::string protocol_type;
  std::vector<Protocol> protocols;
  bool require_known_member_id = false;  // JoinGroup v4+
};

struct JoinMember {
  std::string member_id;
  std::string instance_id;
  std::string metadata;
};

struct JoinResponse {
  GroupErrc error = GroupErrc::kNone;
  int32_t generation = -1;
  std::string protocol_type;
  std::string protocol_name;
  std::string leader;
  std::string member_id;
  std::vector<JoinMember> members;  // the leader's answer only
};

struct SyncRequest {
  std::string member_id;
  std::string instance_id;
  int32_t generation = -1;
  std::optional<std::string> protocol_type;  // SyncGroup v5+
  std::optional<std::string> protocol_name;
  std::vector<std::pair<std::string, std::string>> assignments;  // leader: member -> bytes
};

struct SyncResponse {
  GroupErrc error = GroupErrc::kNone;
  std::string protocol_type;
  std::string protocol_name;
  std::string assignment;
};

using Ticket = uint64_t;

// Answers that became due during a call.
struct Replies {
  std::vector<std::pair<Ticket, JoinResponse>> joins;
  std::vector<std::pair<Ticket, SyncResponse>> syncs;
};

struct ClassicMemberView {
  std::string member_id;
  std::string instance_id;
  std::string client_id;
  std::string client_host;
  std::string metadata;    // of the selected protocol (Stable only)
  std::string assignment;  // Stable only
};

class ClassicGroup {
 public:
  ClassicGroup(std::string id, const ClassicGroupConfig* config);

  // JoinGroup. `new_member_id` is used if the request makes a new member.
  void Join(Ticket t, const JoinRequest& req, std::string new_member_id, int64_t now, Replies* out);
  void Sync(Ticket t, const SyncRequest& req, int64_t now, Replies* out);
  GroupErrc Heartbeat(const std::string& member_id, const std::string& instance_id,
                      int32_t generation, int64_t now);
  // One member of a LeaveGroup request (v3+ name several).
  GroupErrc Leave(const std::string& member_id, const std::string& instance_id, int64_t now,
                  Replies* out);
  // OffsetCommit from (member, generation): Kafka's checks. A valid commit
  // counts as a heartbeat.
  GroupErrc ValidateCommit(const std::string& member_id, const std::string& instance_id,
                           int32_t generation, int64_t now);
  // Expires sessions, pending members and phase deadlines due at `now`.
  void Tick(int64_t now, Replies* out);
  // When Tick() next has work (INT64_MAX when none).
  int64_t NextDeadline() const;
  // Every waiting JoinGroup/SyncGroup is answered with `error` and the group
  // becomes Dead (it is being removed).
  void Shutdown(GroupErrc error, Replies* out);
  // A group read back from the offsets log: Empty, at this generation.
  void Restore(int32_t generation, std::string protocol_type, std::string protocol_name);

  const std::string& id() const { return id_; }
  ClassicState state() const { return state_; }
  int32_t generation() const { return generation_; }
  const std::string& protocol_type() const { return protocol_type_; }
  const std::string& protocol_name() const { return protocol_name_; }
  const std::string& leader() const { return leader_; }
  size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty() && pending_.empty(); }
  bool HasMember(const std::string& member_id) const { return members_.count(member_id) > 0; }
  std::vector<ClassicMemberView> Members() const;
  // Bumped at every change worth persisting (a new generation, Stable, Empty).
  uint64_t persist_version() const { return persist_version_; }
  // When the group last became Empty (for offsets retention); -1 if never.
  int64_t empty_since() const { return empty_since_; }

 private:
  struct Member {
    std::string id;
    std::string instance_id;
    std::string client_id;
    std::string client_host;
    int32_t session_timeout_ms = 0;
    int32_t rebalance_timeout_ms = 0;
    std::string protocol_type;
    std::vector<Protocol> protocols;
    std::string assignment;
    std::optional<Ticket> join_waiter;
    std::optional<Ticket> sync_waiter;
    int64_t session_deadline = 0;
    uint64_t seq = 0;  // join order: the leader is the oldest member
  };

  bool SupportsProtocols(const std::string& type, const std::vector<Protocol>& protocols,
                         const std::string& except_member) const;
  std::string SelectProtocol() const;
  // Fences a request naming `instance_id` (static member): UNKNOWN_MEMBER_ID
  // or FENCED_INSTANCE_ID; kNone if it is that member (or not static).
  GroupErrc CheckMember(const std::string& member_id, const std::string& instance_id) const;
  void JoinUnknown(Ticket t, const JoinRequest& req, std::string new_member_id, int64_t now,
                   Replies* out);
  void JoinStatic(Ticket t, const JoinRequest& req, std::string new_member_id, int64_t now,
                  Replies* out);
  void JoinKnown(Ticket t, const JoinRequest& req, int64_t now, Replies* out);
  void AddMemberAndRebalance(Ticket t, const JoinRequest& req, std::string member_id, int64_t now,
                             Replies* out);
  void UpdateMemberAndRebalance(Member& m, Ticket t, const JoinRequest& req, int64_t now,
                                Replies* out);
  void SetJoinWaiter(Member& m, Ticket t, Replies* out);
  JoinResponse CurrentJoinAnswer(const Member& m) const;
  void MaybePrepareRebalance(int64_t now, Replies* out);
  void PrepareRebalance(int64_t now, Replies* out);
  void MaybeCompleteJoin(int64_t now, Replies* out);
  void CompleteJoin(int64_t now, Replies* out);
  void RemoveMember(const std::string& member_id, int64_t now, Replies* out);
  void ElectLeader();
  void BecomeEmpty(int64_t now);
  int32_t MaxRebalanceTimeout() const;
  void Refresh(Member& m, int64_t now) { m.session_deadline = now + m.session_timeout_ms; }

  const std::string id_;
  const ClassicGroupConfig* const config_;
  ClassicState state_ = ClassicState::kEmpty;
  int32_t generation_ = 0;
  std::string protocol_type_;
  std::string protocol_name_;
  std::string leader_;
  std::map<std::string, Member> members_;
  std::map<std::string, std::string> static_members_;  // instance id -> member id
  std::map<std::string, int64_t> pending_;  // MEMBER_ID_REQUIRED answered: id -> deadline
  std::set<std::string> pending_sync_;      // CompletingRebalance: not yet synced
  uint64_t next_seq_ = 0;
  // PreparingRebalance: when the join phase ends; during the initial delay of
  // a group that was empty, how much of the rebalance timeout is left.
  int64_t join_deadline_ = 0;
  bool initial_delay_ = false;
  bool new_member_added_ = false;
  int64_t initial_remaining_ms_ = 0;
  int64_t sync_deadline_ = 0;  // CompletingRebalance
  uint64_t persist_version_ = 0;
  int64_t empty_since_ = -1;
};

}  // namespace sentry::group
