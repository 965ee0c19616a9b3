// GroupCoordinator: every consumer group of this broker, of either kind:
// classic (Kafka's JoinGroup/SyncGroup protocol, ClassicGroup) or native
// (server-assigned, KIP-848's shape, ConsumerGroup). A group is one kind at
// a time; a request of the other kind to a non-empty group is refused (as
// Kafka 4 does for mixed groups), an empty group changes kind.
//
// It validates offset commits against membership, answers list/describe,
// and says which groups' durable records (group_record.h) are out of date.
//
// Pure: no threads, no I/O, time passed in. Not thread-safe: GroupService
// wraps it with a lock, a timer thread and delivery.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "group/classic_group.h"
#include "group/consumer_group.h"
#include "group/group_record.h"

namespace sentry::group {

struct CoordinatorConfig {
  ClassicGroupConfig classic;
  ConsumerGroupConfig native;
  int64_t offsets_retention_ms = 7 * 24 * 3600 * 1000LL;  // offsets.retention.minutes
  int64_t retention_check_interval_ms = 600000;  // offsets.retention.check.interval.ms
  // Partitions of the offsets log: a group belongs to the one its id hashes
  // to (common/group_partition.h), and is coordinated here while this
  // broker leads that partition (GroupService).
  int32_t offsets_partitions = 1;
};

struct GroupListing {
  std::string group_id;
  std::string protocol_type;  // "consumer" for native groups
  std::string state;
  GroupKind kind = GroupKind::kClassic;
};

struct GroupDescription {
  GroupErrc error = GroupErrc::kNone;
  std::string group_id;
  GroupKind kind = GroupKind::kClassic;
  std::string state;
  std::string protocol_type;
  std::string protocol_name;  // classic, Stable only
  int32_t generation = 0;     // classic generation or native group epoch
  std::vector<ClassicMemberView> classic_members;
  std::vector<ConsumerGroup::MemberView> native_members;
};

class GroupCoordinator {
 public:
  explicit GroupCoordinator(CoordinatorConfig config);
  // Groups point at config_: not copyable or movable.
  GroupCoordinator(const GroupCoordinator&) = delete;
  GroupCoordinator& operator=(const GroupCoordinator&) = delete;

  // Start-up: a group read back from the offsets log, or one that only has
  // committed offsets (a simple consumer's): Empty.
  void Restore(const std::string& group_id, const GroupRecord& rec);
  void RestoreOffsetsOnly(const std::string& group_id);

  // Classic protocol. Unknown group: JoinGroup with no member id creates it;
  // anything else is UNKNOWN_MEMBER_ID, as in Kafka.
  void Join(Ticket t, const std::string& group_id, const JoinRequest& req,
            std::string new_member_id, int64_t now, Replies* out);
  void Sync(Ticket t, const std::string& group_id, const SyncRequest& req, int64_t now,
            Replies* out);
  GroupErrc Heartbeat(const std::string& group_id, const std::string& member_id,
                      const std::string& instance_id, int32_t generation, int64_t now);
  GroupErrc Leave(const std::string& group_id, const std::string& member_id,
                  const std::string& instance_id, int64_t now, Replies* out);

  // Native protocol.
  ConsumerGroup::HeartbeatOut NativeHeartbeat(const std::string& group_id,
                                              const ConsumerGroup::HeartbeatIn& in, int64_t now,
                                              const ConsumerGroup::PartitionCountFn& counts,
                                              std::string new_member_id);

  // An offset commit by (member, generation or member epoch). An unknown
  // group is created Empty for a simple consumer (generation < 0).
  GroupErrc ValidateCommit(const std::string& group_id, const std::string& member_id,
                           const std::string& instance_id, int32_t generation, int64_t now);
  // OffsetDelete: GROUP_ID_NOT_FOUND, GROUP_SUBSCRIBED_TO_TOPIC (a member
  // of a non-empty group reads `topic`) or kNone.
  GroupErrc CheckOffsetDelete(const std::string& group_id, const std::string& topic) const;
  bool Exists(const std::string& group_id) const;

  void Tick(int64_t now, Replies* out);
  int64_t NextDeadline() const;
  // Answers every waiting request with COORDINATOR_NOT_AVAILABLE (shutdown).
  void ShutdownAll(Replies* out);
  // This broker stops coordinating (cluster mode: another broker leads the
  // offsets log): waiting JoinGroup/SyncGroup answers get `why`, and every
  // group is forgotten (its state lives on in the offsets log).
  void Clear(GroupErrc why, Replies* out);
  // The same for the groups `which` selects only (by group id).
  void Clear(GroupErrc why, const std::function<bool(const std::string&)>& which, Replies* out);

  std::vector<GroupListing> List() const;
  GroupDescription Describe(const std::string& group_id) const;

  // Groups without members: (id, how long they have been empty, -1 when
  // unknown: they have had no member since start-up).
  std::vector<std::pair<std::string, int64_t>> EmptyGroups(int64_t now) const;
  // Removes a group that is (still) empty; false if it is not.
  bool DeleteIfEmpty(const std::string& group_id);

  // Groups whose durable record changed since the last call: (id, record).
  std::vector<std::pair<std::string, GroupRecord>> TakeDirty();

 private:
  struct Entry {
    std::unique_ptr<ClassicGroup> classic;  // exactly one of the two is set
    std::unique_ptr<ConsumerGroup> native;
    uint64_t persisted_version = 0;  // classic: persist_version() last written
    int32_t persisted_epoch = -1;    // native: group epoch last written
    bool dirty = false;
    bool had_members = false;  // since start-up
    int64_t empty_since = -1;  // when it last lost its last member (Tick's clock)
  };
  Entry& NewClassic(const std::string& group_id);
  Entry& NewNative(const std::string& group_id);
  bool IsEmpty(const Entry& e) const;
  // After every operation: what needs persisting, and since when it is empty.
  void NoteChange(Entry& e, int64_t now);

  CoordinatorConfig config_;
  std::map<std::string, Entry> groups_;
};

}  // namespace sentry::group
