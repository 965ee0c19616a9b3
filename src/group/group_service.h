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
#include <string>
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
  using PersistFn = std::function<bool(const std::string& group_id, const GroupRecord& rec)>;
  using ClockFn = std::function<int64_t()>;

  GroupService(CoordinatorConfig config, std::vector<pipeline::CompletionSink*> sinks,
               PersistFn persist, ConsumerGroup::PartitionCountFn counts, ClockFn clock);
  ~GroupService();
  GroupService(const GroupService&) = delete;
  GroupService& operator=(const GroupService&) = delete;

  // Before Start(): what the offsets log holds.
  void Restore(const std::string& group_id, const GroupRecord& rec);
  void RestoreOffsetsOnly(const std::string& group_id);
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
  void Run();

  const std::vector<pipeline::CompletionSink*> sinks_;
  const PersistFn persist_;
  const ConsumerGroup::PartitionCountFn counts_;
  const ClockFn clock_;
  Mutex mu_;
  std::condition_variable_any cv_;
  GroupCoordinator coordinator_ GUARDED_BY(mu_);
  std::map<Ticket, std::pair<pipeline::Route, pipeline::ReplyContext>> waiting_ GUARDED_BY(mu_);
  std::vector<std::pair<std::string, GroupRecord>> unpersisted_ GUARDED_BY(mu_);
  Ticket next_ticket_ GUARDED_BY(mu_) = 1;
  bool stop_ GUARDED_BY(mu_) = false;
  bool running_ GUARDED_BY(mu_) = false;
  bool stopped_ GUARDED_BY(mu_) = false;  // Stop() ran: waiting requests are refused
  std::thread thread_;
};

}  // namespace sentry::group
