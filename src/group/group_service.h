// GroupService: the group coordinator as the running broker uses it: one
// lock around GroupCoordinator, a timer thread for sessions and rebalance
// deadlines, delivery of late JoinGroup/SyncGroup answers to the asking
// connection's network thread, and persistence of group records.
//
// Threads: every call from any network thread; the timer thread ticks the
// coordinator. Calls are short (no I/O under the lock: delivering is an
// enqueue to a network thread's inbox, persisting an enqueue to a writer).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "common/mutex.h"
#include "group/group_coordinator.h"
#include "pipeline/completion.h"
#include "pipeline/write_request.h"

namespace sentry::group {

// A JoinGroup or SyncGroup answer on its way to the asking connection.
struct GroupCompletion final : pipeline::Completion {
  GroupCompletion() : Completion(Kind::kGroup) {}
  std::variant<JoinResponse, SyncResponse> answer;
};

class GroupService {
 public:
  // Appends a group record to the offsets log; false when it cannot now
  // (it is offered again at the next tick).
  // (nullopt: the group is deleted).
  using PersistFn =
      std::function<bool(const std::string& group_id, const std::optional<GroupRecord>& rec)>;
  // offsets.retention.minutes: expires the offsets of a group without members
  // (empty for `empty_for_ms`, -1 unknown); true when it has none left.
  using ExpireFn = std::function<bool(const std::string& group_id, int64_t empty_for_ms)>;
  using ClockFn = std::function<int64_t()>;

  GroupService(CoordinatorConfig config, std::vector<pipeline::CompletionSink*> sinks,
               PersistFn persist, ConsumerGroup::PartitionCountFn counts, ClockFn clock,
               ExpireFn expire = nullptr);
  ~GroupService();
  GroupService(const GroupService&) = delete;
  GroupService& operator=(const GroupService&) = delete;

  // Before Start(): what the offsets log holds.
  void Restore(const std::string& group_id, const GroupRecord& rec);
  void RestoreOffsetsOnly(const std::string& group_id);

  // Cluster mode (docs/cluster.md): a group is coordinated by the leader of
  // the offsets-log partition its id hashes to (OffsetsPartitionFor).
  // Resign(p): the groups of partition p are forgotten; their waiting
  // JoinGroup/SyncGroup requests and every later call for them answer
  // NOT_COORDINATOR. Resign(): every partition. TakeOver(p): coordinating
  // the groups of partition p again, from what that partition holds now
  // (group records, and groups with offsets only).
  void Resign();
  void Resign(int32_t partition);
  void TakeOver(int32_t partition, const std::vector<std::pair<std::string, GroupRecord>>& records,
                const std::vector<std::string>& offsets_only);
  // Whether `group_id` is coordinated here now.
  bool Coordinates(std::string_view group_id);
  int32_t PartitionOf(std::string_view group_id) const;
  void Start();
  // Answers every waiting JoinGroup/SyncGroup (COORDINATOR_NOT_AVAILABLE)
  // and stops the timer thread. Call before the network threads stop.
  void Stop();

  // Classic protocol: the answer comes back as a GroupCompletion to `route`
  // carrying `reply`, now or when the rebalance gets there.
  void Join(const pipeline::Route& route, const pipeline::ReplyContext& reply,
            const std::string& group_id, JoinRequest req);
  void Sync(const pipeline::Route& route, const pipeline::ReplyContext& reply,
            const std::string& group_id, const SyncRequest& req);
  GroupErrc Heartbeat(const std::string& group_id, const std::string& member_id,
                      const std::string& instance_id, int32_t generation);
  // One answer per (member id, instance id).
  std::vector<GroupErrc> Leave(const std::string& group_id,
                               const std::vector<std::pair<std::string, std::string>>& members);
  ConsumerGroup::HeartbeatOut NativeHeartbeat(const std::string& group_id,
                                              const ConsumerGroup::HeartbeatIn& in);
  GroupErrc ValidateCommit(const std::string& group_id, const std::string& member_id,
                           const std::string& instance_id, int32_t generation);
  GroupErrc CheckOffsetDelete(const std::string& group_id, const std::string& topic);
  std::vector<GroupListing> List();
  GroupDescription Describe(const std::string& group_id);

  // A fresh member id: `client_id`-<uuid> as Kafka makes them.
  static std::string NewMemberId(const std::string& client_id);

 private:
  // With mu_ held: hands out `replies` and persists changed groups.
  void Settle(Replies& replies) REQUIRES(mu_);
  // Sends one answer to the connection waiting on ticket `t`, if any.
  void Deliver(Ticket t, std::variant<JoinResponse, SyncResponse> answer) REQUIRES(mu_);
  // The groups of `partition` (-1: all) forgotten, their waiting
  // JoinGroup/SyncGroup answered NOT_COORDINATOR.
  void ForgetGroups(int32_t partition) REQUIRES(mu_);
  bool CoordinatesLocked(std::string_view group_id) const REQUIRES(mu_);
  void Run();
  // With mu_ held: expires offsets of empty groups, deletes groups left with
  // no offset (their record is deleted too).
  void ExpireOffsets(int64_t now) REQUIRES(mu_);

  const std::vector<pipeline::CompletionSink*> sinks_;
  const PersistFn persist_;
  const ConsumerGroup::PartitionCountFn counts_;
  const ClockFn clock_;
  const ExpireFn expire_;
  const int64_t retention_check_interval_ms_;
  const int32_t offsets_partitions_;
  int64_t next_retention_check_ GUARDED_BY(mu_) = 0;
  Mutex mu_;
  std::condition_variable_any cv_;
  GroupCoordinator coordinator_ GUARDED_BY(mu_);
  std::map<Ticket, std::pair<pipeline::Route, pipeline::ReplyContext>> waiting_ GUARDED_BY(mu_);
  std::vector<std::pair<std::string, std::optional<GroupRecord>>> unpersisted_ GUARDED_BY(mu_);
  Ticket next_ticket_ GUARDED_BY(mu_) = 1;
  bool stop_ GUARDED_BY(mu_) = false;
  bool running_ GUARDED_BY(mu_) = false;
  bool stopped_ GUARDED_BY(mu_) = false;  // Stop() ran: waiting requests are refused
  // Per offsets-log partition: coordinating its groups (false: NOT_COORDINATOR).
  std::vector<char> active_ GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace sentry::group
