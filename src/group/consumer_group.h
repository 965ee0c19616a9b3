// ConsumerGroup: one native group, whose partitions the broker assigns, in
// the shape of Kafka's KIP-848 (the consumer protocol of Kafka 4). Members
// heartbeat with their subscription and the partitions they still own; the
// group keeps a group epoch and a target assignment (AssignUniformSticky)
// and moves each member towards its target one heartbeat at a time.
//
// Epochs. The group epoch grows whenever membership, a subscription, or the
// partition count of a subscribed topic changes; the target is recomputed at
// the next heartbeat (Expire has no partition counts) and then carries that
// epoch (assignment_epoch). A member's epoch becomes the assignment epoch only
// once it is fully reconciled: it is allowed exactly its target and has
// reported every revoked partition released. A heartbeat must carry the
// member's epoch, or its previous one (the answer that moved it on may have
// been lost; that heartbeat gets the full assignment again).
//
// Never two owners. Per member the group keeps `assigned` (what it was last
// told it may own) and `revoking` (partitions taken out of `assigned` that
// the member has not yet reported released in `owned`). A member first loses
// what is no longer in its target (its answer is assigned ∩ target, nothing
// new); it gains a partition of its target only when no other member has it
// in `assigned` or `revoking`. So a partition is free for someone else only
// after its old owner has seen the revocation and answered without it. A
// member that never reports `owned` therefore never releases anything (until
// it leaves or its session ends). Partitions a member reports owning that it
// was never given are ignored.
//
// Leaving. Epoch -1 removes the member and frees its partitions at once, as
// does the end of its session (the client is presumed gone). A static member
// (instance id) may leave with -2: it stays, its partitions reserved, until
// its session ends; a join with the same instance id meanwhile takes its
// place (new member id, same epoch and partitions) without a new epoch.
//
// Pure and deterministic: no threads, no I/O, time passed in (ms). Not
// thread-safe: the caller (GroupCoordinator) holds its lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "group/group_errc.h"
#include "group/types.h"

namespace sentry::group {

struct ConsumerGroupConfig {
  int32_t session_timeout_ms = 45000;                      // group.consumer.session.timeout.ms
  int32_t heartbeat_interval_ms = 3000;                    // group.consumer.heartbeat.interval.ms
  int32_t max_size = std::numeric_limits<int32_t>::max();  // group.consumer.max.size
};

class ConsumerGroup {
 public:
  static constexpr int32_t kJoinEpoch = 0;
  static constexpr int32_t kLeaveEpoch = -1;
  static constexpr int32_t kStaticLeaveEpoch = -2;

  struct HeartbeatIn {
    std::string member_id;  // empty to join
    int32_t member_epoch = 0;
    std::string instance_id;  // empty: dynamic member
    std::string client_id;
    std::optional<std::vector<std::string>> subscribed_topics;  // nullopt: unchanged
    std::optional<TopicPartitions> owned;                       // nullopt: unchanged
  };
  struct HeartbeatOut {
    GroupErrc error = GroupErrc::kNone;
    std::string member_id;
    int32_t member_epoch = 0;
    int32_t heartbeat_interval_ms = 0;
    std::optional<TopicPartitions> assignment;  // nullopt: unchanged since the last answer
  };
  struct MemberView {
    std::string member_id;
    std::string instance_id;
    std::string client_id;
    int32_t member_epoch = 0;
    std::vector<std::string> subscribed;  // sorted
    TopicPartitions assigned;             // what it may own now
    TopicPartitions target;
    TopicPartitions revoking;  // taken away, not yet reported released: nobody else's yet
  };
  // A topic's partition count, -1 when it does not exist.
  using PartitionCountFn = std::function<int32_t(const std::string& topic)>;

  ConsumerGroup(std::string id, ConsumerGroupConfig config);

  // One heartbeat. `new_member_id` (a fresh id from the caller) is used only
  // when the heartbeat joins: epoch 0 and no member id. Members whose session
  // ended by `now_ms` are removed first.
  HeartbeatOut Heartbeat(const HeartbeatIn& in, int64_t now_ms, const PartitionCountFn& counts,
                         std::string new_member_id);
  // Removes members whose session ended; their partitions are free at once.
  void Expire(int64_t now_ms);
  // The earliest session end; INT64_MAX without members.
  int64_t NextDeadline() const;
  // A commit by (member, epoch): the member's current epoch only. Member ""
  // with epoch -1 is a commit from outside the group, accepted only while it
  // has no members.
  GroupErrc ValidateCommit(const std::string& member_id, int32_t member_epoch) const;
  // A group read back from the offsets log: empty, at this epoch (the next
  // change moves past it, so old members' epochs never come back).
  void Restore(int32_t group_epoch);

  const std::string& id() const { return id_; }
  int32_t group_epoch() const { return group_epoch_; }
  int32_t assignment_epoch() const { return assignment_epoch_; }  // the target's epoch
  bool empty() const { return members_.empty(); }
  size_t size() const { return members_.size(); }  // static members away (-2) included
  // "Empty"; "Reconciling" while the target is not recomputed yet or some
  // member is not fully reconciled at the assignment epoch; else "Stable".
  const char* state_name() const;
  std::vector<MemberView> Members() const;  // by member id

 private:
  struct Member {
    std::string instance_id;
    std::string client_id;
    int32_t epoch = 0;
    int32_t previous_epoch = 0;           // the epoch before the last change of `epoch`
    std::vector<std::string> subscribed;  // sorted, unique
    TopicPartitions assigned;             // what it was last told it may own
    TopicPartitions revoking;             // see the file comment
    int64_t session_deadline = 0;
    bool left_static = false;  // epoch -2: away, partitions kept until the session ends
  };

  HeartbeatOut Leave(const HeartbeatIn& in, int64_t now_ms, HeartbeatOut out);
  // A heartbeat with epoch 0, no member id and a subscription; sets *id to
  // the member's id.
  GroupErrc Join(const HeartbeatIn& in, std::string new_member_id, std::string* id);
  void Remove(const std::string& member_id);
  // Recomputes the target when the group epoch moved on or a subscribed
  // topic's partition count changed (which moves the group epoch on).
  void MaybeNewTarget(const PartitionCountFn& counts);
  // One reconciliation step of `member_id` (see the file comment).
  void Reconcile(const std::string& member_id);
  const TopicPartitions& TargetOf(const std::string& member_id) const;

  const std::string id_;
  const ConsumerGroupConfig config_;
  int32_t group_epoch_ = 0;
  int32_t assignment_epoch_ = 0;
  std::map<std::string, Member> members_;          // by member id
  std::map<std::string, std::string> instances_;   // instance id -> member id
  std::map<std::string, TopicPartitions> target_;  // member id -> target
  std::map<std::string, int32_t> target_counts_;   // partition counts the target used
};

}  // namespace sentry::group
