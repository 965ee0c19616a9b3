#include "group/group_service.h"

#include "common/group_partition.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <random>

namespace sentry::group {

namespace {
// The timer thread wakes at least this often (a safety net; every call that
// may move a deadline earlier wakes it too).
constexpr int64_t kMaxSleepMs = 1000;
}  // namespace

GroupService::GroupService(CoordinatorConfig config, std::vector<pipeline::CompletionSink*> sinks,
                           PersistFn persist, ConsumerGroup::PartitionCountFn counts, ClockFn clock,
                           ExpireFn expire)
    : sinks_(std::move(sinks)),
      persist_(std::move(persist)),
      counts_(std::move(counts)),
      clock_(std::move(clock)),
      expire_(std::move(expire)),
      retention_check_interval_ms_(config.retention_check_interval_ms),
      offsets_partitions_(std::max(config.offsets_partitions, 1)),
      coordinator_(config),
      active_(static_cast<size_t>(offsets_partitions_), 1) {}

GroupService::~GroupService() { Stop(); }

std::string GroupService::NewMemberId(const std::string& client_id) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const uint64_t a = rng(), b = rng();
  return fmt::format("{}-{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", client_id, a >> 32,
                     (a >> 16) & 0xffff, a & 0xffff, b >> 48, b & 0xffffffffffffULL);
}

void GroupService::Restore(const std::string& group_id, const GroupRecord& rec) {
  MutexLock l(&mu_);
  coordinator_.Restore(group_id, rec);
}

void GroupService::RestoreOffsetsOnly(const std::string& group_id) {
  MutexLock l(&mu_);
  coordinator_.RestoreOffsetsOnly(group_id);
}

int32_t GroupService::PartitionOf(std::string_view group_id) const {
  return OffsetsPartitionFor(group_id, offsets_partitions_);
}

bool GroupService::CoordinatesLocked(std::string_view group_id) const {
  return active_[static_cast<size_t>(PartitionOf(group_id))] != 0;
}

bool GroupService::Coordinates(std::string_view group_id) {
  MutexLock l(&mu_);
  return CoordinatesLocked(group_id);
}

void GroupService::ForgetGroups(int32_t partition) {
  auto mine = [this, partition](const std::string& id) {
    return partition < 0 || PartitionOf(id) == partition;
  };
  Replies replies;
  coordinator_.Clear(GroupErrc::kNotCoordinator, mine, &replies);
  for (auto& [t, r] : replies.joins) Deliver(t, std::move(r));
  for (auto& [t, r] : replies.syncs) Deliver(t, std::move(r));
  // Their records are the new leader's to write now.
  std::erase_if(unpersisted_, [&mine](const auto& u) { return mine(u.first); });
}

void GroupService::Resign() {
  {
    MutexLock l(&mu_);
    ForgetGroups(-1);
    std::fill(active_.begin(), active_.end(), 0);
  }
  cv_.notify_all();
}

void GroupService::Resign(int32_t partition) {
  if (partition < 0 || partition >= offsets_partitions_) return;
  {
    MutexLock l(&mu_);
    ForgetGroups(partition);
    active_[static_cast<size_t>(partition)] = 0;
  }
  cv_.notify_all();
}

void GroupService::TakeOver(int32_t partition,
                            const std::vector<std::pair<std::string, GroupRecord>>& records,
                            const std::vector<std::string>& offsets_only) {
  if (partition < 0 || partition >= offsets_partitions_) return;
  {
    MutexLock l(&mu_);
    ForgetGroups(partition);
    // Only this partition's groups (a record elsewhere would be stale).
    for (const auto& [id, rec] : records) {
      if (PartitionOf(id) == partition) coordinator_.Restore(id, rec);
    }
    for (const auto& id : offsets_only) {
      if (PartitionOf(id) == partition) coordinator_.RestoreOffsetsOnly(id);
    }
    // Coordinating nothing before: the first check one interval from now
    // (a schedule already running is kept, so moves cannot starve it).
    if (std::find(active_.begin(), active_.end(), 1) == active_.end()) next_retention_check_ = 0;
    active_[static_cast<size_t>(partition)] = 1;
  }
  cv_.notify_all();
}

void GroupService::Start() {
  MutexLock l(&mu_);
  if (running_) return;
  running_ = true;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void GroupService::Stop() {
  {
    MutexLock l(&mu_);
    if (!running_) return;
    Replies replies;
    coordinator_.ShutdownAll(&replies);
    Settle(replies);
    stop_ = true;
    stopped_ = true;
    running_ = false;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void GroupService::Deliver(Ticket t, std::variant<JoinResponse, SyncResponse> answer) {
  auto it = waiting_.find(t);
  if (it == waiting_.end()) return;
  auto c = std::make_unique<GroupCompletion>();
  c->route = it->second.first;
  c->reply = it->second.second;
  c->answer = std::move(answer);
  waiting_.erase(it);
  const uint32_t thread = c->route.net_thread;
  if (thread < sinks_.size()) sinks_[thread]->Complete(std::move(c));
}

void GroupService::Settle(Replies& replies) {
  for (auto& [t, r] : replies.joins) Deliver(t, std::move(r));
  for (auto& [t, r] : replies.syncs) Deliver(t, std::move(r));
  for (auto& [id, rec] : coordinator_.TakeDirty()) unpersisted_.emplace_back(id, std::move(rec));
  while (!unpersisted_.empty() && persist_) {
    if (!persist_(unpersisted_.front().first, unpersisted_.front().second)) break;
    unpersisted_.erase(unpersisted_.begin());
  }
}

void GroupService::Join(const pipeline::Route& route, const pipeline::ReplyContext& reply,
                        const std::string& group_id, JoinRequest req) {
  {
    MutexLock l(&mu_);
    const Ticket t = next_ticket_++;
    waiting_[t] = {route, reply};
    Replies replies;
    if (stopped_ || !CoordinatesLocked(group_id)) {
      // Shutting down: no timer runs any more, so nothing may wait.
      JoinResponse r;
      r.error = stopped_ ? GroupErrc::kCoordinatorNotAvailable : GroupErrc::kNotCoordinator;
      replies.joins.emplace_back(t, std::move(r));
    } else {
      coordinator_.Join(t, group_id, req, NewMemberId(req.client_id), clock_(), &replies);
    }
    Settle(replies);
  }
  cv_.notify_all();
}

void GroupService::Sync(const pipeline::Route& route, const pipeline::ReplyContext& reply,
                        const std::string& group_id, const SyncRequest& req) {
  {
    MutexLock l(&mu_);
    const Ticket t = next_ticket_++;
    waiting_[t] = {route, reply};
    Replies replies;
    if (stopped_ || !CoordinatesLocked(group_id)) {
      SyncResponse r;
      r.error = stopped_ ? GroupErrc::kCoordinatorNotAvailable : GroupErrc::kNotCoordinator;
      replies.syncs.emplace_back(t, std::move(r));
    } else {
      coordinator_.Sync(t, group_id, req, clock_(), &replies);
    }
    Settle(replies);
  }
  cv_.notify_all();
}

GroupErrc GroupService::Heartbeat(const std::string& group_id, const std::string& member_id,
                                  const std::string& instance_id, int32_t generation) {
  MutexLock l(&mu_);
  if (!CoordinatesLocked(group_id)) return GroupErrc::kNotCoordinator;
  return coordinator_.Heartbeat(group_id, member_id, instance_id, generation, clock_());
}

std::vector<GroupErrc> GroupService::Leave(
    const std::string& group_id, const std::vector<std::pair<std::string, std::string>>& members) {
  std::vector<GroupErrc> out;
  {
    MutexLock l(&mu_);
    Replies replies;
    const int64_t now = clock_();
    for (const auto& [member, instance] : members) {
      if (!CoordinatesLocked(group_id)) {
        out.push_back(GroupErrc::kNotCoordinator);
        continue;
      }
      out.push_back(coordinator_.Leave(group_id, member, instance, now, &replies));
    }
    Settle(replies);
  }
  cv_.notify_all();
  return out;
}

ConsumerGroup::HeartbeatOut GroupService::NativeHeartbeat(const std::string& group_id,
                                                          const ConsumerGroup::HeartbeatIn& in) {
  ConsumerGroup::HeartbeatOut out;
  {
    MutexLock l(&mu_);
    if (!CoordinatesLocked(group_id)) {
      out.error = GroupErrc::kNotCoordinator;
      return out;
    }
    out = coordinator_.NativeHeartbeat(group_id, in, clock_(), counts_,
                                       NewMemberId(in.client_id.empty() ? "sentry" : in.client_id));
    Replies none;
    Settle(none);
  }
  cv_.notify_all();
  return out;
}

GroupErrc GroupService::ValidateCommit(const std::string& group_id, const std::string& member_id,
                                       const std::string& instance_id, int32_t generation) {
  MutexLock l(&mu_);
  if (!CoordinatesLocked(group_id)) return GroupErrc::kNotCoordinator;
  return coordinator_.ValidateCommit(group_id, member_id, instance_id, generation, clock_());
}

GroupErrc GroupService::CheckOffsetDelete(const std::string& group_id, const std::string& topic) {
  MutexLock l(&mu_);
  if (!CoordinatesLocked(group_id)) return GroupErrc::kNotCoordinator;
  return coordinator_.CheckOffsetDelete(group_id, topic);
}

std::vector<GroupListing> GroupService::List() {
  MutexLock l(&mu_);
  return coordinator_.List();  // none while not coordinating (Kafka lists its own groups)
}

GroupDescription GroupService::Describe(const std::string& group_id) {
  MutexLock l(&mu_);
  if (!CoordinatesLocked(group_id)) {
    GroupDescription d;
    d.error = GroupErrc::kNotCoordinator;
    d.group_id = group_id;
    return d;
  }
  return coordinator_.Describe(group_id);
}

void GroupService::ExpireOffsets(int64_t now) {
  // In-memory scans and enqueued writes only: short enough under the lock.
  for (const auto& [id, empty_for] : coordinator_.EmptyGroups(now)) {
    if (!expire_(id, empty_for)) continue;
    if (coordinator_.DeleteIfEmpty(id)) {
      spdlog::info("Consumer group '{}' deleted: empty, and its offsets expired", id);
      unpersisted_.emplace_back(id, std::nullopt);
    }
  }
  Replies none;
  Settle(none);
}

void GroupService::Run() {
  MutexLock l(&mu_);
  while (!stop_) {
    const int64_t now = clock_();
    Replies replies;
    coordinator_.Tick(now, &replies);
    Settle(replies);
    const bool any = std::find(active_.begin(), active_.end(), 1) != active_.end();
    if (expire_ && any && now >= next_retention_check_) {
      // The first check runs one interval after start-up.
      if (next_retention_check_ > 0) ExpireOffsets(now);
      next_retention_check_ = now + retention_check_interval_ms_;
    }
    int64_t next = std::min(coordinator_.NextDeadline(), now + kMaxSleepMs);
    if (expire_) next = std::min(next, next_retention_check_);
    const int64_t wait_ms = std::max<int64_t>(next - clock_(), 1);
    cv_.wait_for(mu_, std::chrono::milliseconds(wait_ms));
  }
}

}  // namespace sentry::group
