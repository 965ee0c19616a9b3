#include "client/group_consumer.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "client/error_status.h"
#include "common/clock.h"
#include "protocol/errors.h"

namespace sentry::client {

using protocol::ErrorCode;

Result<std::unique_ptr<GroupConsumer>> GroupConsumer::Create(const GroupConsumerOptions& options,
                                                             const std::string& topic) {
  if (options.consumer.group.empty()) {
    return Status::InvalidArgument("a group consumer needs a group id");
  }
  SENTRY_ASSIGN_OR_RETURN(auto c, BrokerPool::ConnectToCoordinator(
                                      options.consumer.host, options.consumer.port,
                                      options.consumer.group, options.consumer.connect_timeout_ms,
                                      options.consumer.security));
  std::unique_ptr<GroupConsumer> g(new GroupConsumer(options, topic, std::move(c)));
  SENTRY_RETURN_IF_ERROR(g->Heartbeat());  // join
  return g;
}

GroupConsumer::~GroupConsumer() = default;

std::vector<int32_t> GroupConsumer::assignment() const {
  std::vector<int32_t> v;
  for (const auto& [p, pos] : positions_) v.push_back(p);
  return v;
}

Status GroupConsumer::Heartbeat() {
  protocol::ConsumerGroupHeartbeatRequest req;
  req.group = options_.consumer.group;
  req.member_id = member_id_;
  req.member_epoch = member_epoch_;
  req.instance_id = options_.instance_id;
  req.client_id = options_.client_id;
  if (send_subscription_ || member_epoch_ == 0) {
    req.subscribed_topics = std::vector<std::string>{topic_};
  }
  // What this member owns: the broker gives a partition to someone else
  // only once its old owner has stopped reporting it.
  req.owned.emplace();
  if (!positions_.empty()) req.owned->push_back({topic_, assignment()});
  SENTRY_RETURN_IF_ERROR(EnsureCoordinator());
  auto call = client_->GroupHeartbeat(req);
  if (!call.ok() || call->error == static_cast<int16_t>(ErrorCode::kNotCoordinator) ||
      call->error == static_cast<int16_t>(ErrorCode::kCoordinatorNotAvailable)) {
    // The coordinator moved (cluster mode: a new leader of the group's
    // offsets-log partition) or is stopping: find it again and heartbeat there shortly. The
    // membership stays; the new coordinator read the group from the log.
    const int64_t now = SteadyMillis();
    if (coordinator_lost_ms_ < 0) coordinator_lost_ms_ = now;
    client_.reset();
    if (now - coordinator_lost_ms_ > kCoordinatorWaitMs) {
      return call.ok() ? ErrorStatus(call->error, "heartbeat of group '" +
                                                      options_.consumer.group + "'")
                       : call.status();
    }
    next_heartbeat_ms_ = now + kRetryBackoffMs;
    return Status::OK();
  }
  coordinator_lost_ms_ = -1;
  auto& r = call.value();
  const auto code = static_cast<ErrorCode>(r.error);
  if (code == ErrorCode::kUnknownMemberId || code == ErrorCode::kStaleMemberEpoch) {
    // Fenced (e.g. the session expired): the partitions may be someone
    // else's already, so nothing is committed; join again.
    positions_.clear();
    reader_.reset();
    member_id_.clear();
    member_epoch_ = 0;
    send_subscription_ = true;
    next_heartbeat_ms_ = 0;
    return Status::OK();
  }
  if (!r.ok()) return ErrorStatus(r.error, "heartbeat of group '" + options_.consumer.group + "'");
  member_id_ = r.body.member_id;
  member_epoch_ = r.body.member_epoch;
  interval_ms_ = std::max(r.body.heartbeat_interval_ms, 10);
  send_subscription_ = false;
  next_heartbeat_ms_ = SteadyMillis() + interval_ms_;
  if (r.body.assignment) {
    std::vector<int32_t> mine;
    for (const auto& t : *r.body.assignment) {
      if (t.topic == topic_) mine.insert(mine.end(), t.partitions.begin(), t.partitions.end());
    }
    std::sort(mine.begin(), mine.end());
    if (mine != assignment()) {
      SENTRY_RETURN_IF_ERROR(Reassign(mine));
      next_heartbeat_ms_ = 0;  // report the new ownership at once
    }
  }
  return Status::OK();
}

Status GroupConsumer::EnsureCoordinator() {
  if (client_) return Status::OK();
  auto c = BrokerPool::ConnectToCoordinator(
      options_.consumer.host, options_.consumer.port, options_.consumer.group,
      options_.consumer.connect_timeout_ms, options_.consumer.security);
  if (c.ok()) {
    client_ = std::move(c).value();
    return Status::OK();
  }
  const int64_t now = SteadyMillis();
  if (coordinator_lost_ms_ < 0) coordinator_lost_ms_ = now;
  if (now - coordinator_lost_ms_ > kCoordinatorWaitMs) return c.status();
  return Status::Unavailable("looking for the group coordinator: " + c.status().ToString());
}

Status GroupConsumer::Reassign(const std::vector<int32_t>& partitions) {
  std::vector<int32_t> revoked;
  for (const auto& [p, pos] : positions_) {
    if (!std::binary_search(partitions.begin(), partitions.end(), p)) revoked.push_back(p);
  }
  // Everything Poll returned for a revoked partition was processed by the
  // caller before it polled again: commit that position before letting go.
  SENTRY_RETURN_IF_ERROR(CommitPartitions(revoked));
  for (int32_t p : revoked) positions_.erase(p);
  reader_.reset();
  if (partitions.empty()) return Status::OK();
  ConsumerOptions co = options_.consumer;  // new partitions start at the committed offsets
  SENTRY_ASSIGN_OR_RETURN(reader_, Consumer::Create(co, topic_, partitions, options_.start));
  for (int32_t p : partitions) {
    auto it = positions_.find(p);
    if (it != positions_.end()) {
      SENTRY_RETURN_IF_ERROR(reader_->Seek(p, it->second));  // kept: continue where it was
    } else {
      positions_[p] = reader_->position(p);
    }
  }
  return Status::OK();
}

Result<std::vector<ConsumerRecord>> GroupConsumer::Poll(int timeout_ms) {
  const int64_t deadline = SteadyMillis() + timeout_ms;
  while (true) {
    if (SteadyMillis() >= next_heartbeat_ms_) {
      Status s = Heartbeat();
      if (s.code() == Status::Code::kUnavailable && coordinator_lost_ms_ >= 0) {
        next_heartbeat_ms_ = SteadyMillis() + kRetryBackoffMs;  // still looking
      } else if (!s.ok()) {
        return s;
      }
    }
    const int64_t now = SteadyMillis();
    const int64_t wait = std::max<int64_t>(std::min(deadline, next_heartbeat_ms_) - now, 0);
    if (!reader_) {
      if (now >= deadline) return std::vector<ConsumerRecord>{};
      // Nothing owned yet: wait for the next heartbeat (or the deadline).
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(wait, 50)));
      continue;
    }
    SENTRY_ASSIGN_OR_RETURN(auto records, reader_->Poll(static_cast<int>(wait)));
    for (const auto& r : records) positions_[r.partition] = r.offset + 1;
    if (!records.empty() || SteadyMillis() >= deadline) return records;
  }
}

Status GroupConsumer::CommitPartitions(const std::vector<int32_t>& partitions) {
  if (!partitions.empty()) SENTRY_RETURN_IF_ERROR(EnsureCoordinator());
  for (int32_t p : partitions) {
    SENTRY_ASSIGN_OR_RETURN(
        auto code, client_->CommitOffsetAsMember(options_.consumer.group, topic_, p,
                                                 positions_.at(p), {member_id_, member_epoch_}));
    if (code == static_cast<int16_t>(ErrorCode::kNotCoordinator)) client_.reset();
    if (code != 0) {
      return ErrorStatus(code, "commit of group '" + options_.consumer.group + "' for " + topic_ +
                                   "-" + std::to_string(p));
    }
  }
  return Status::OK();
}

Status GroupConsumer::Commit() { return CommitPartitions(assignment()); }

Status GroupConsumer::Seek(int32_t partition, int64_t offset) {
  auto it = positions_.find(partition);
  if (it == positions_.end() || !reader_) {
    return Status::InvalidArgument("partition " + std::to_string(partition) + " is not owned");
  }
  it->second = offset;
  return reader_->Seek(partition, offset);
}

Status GroupConsumer::Close() {
  Status s = Commit();
  protocol::ConsumerGroupHeartbeatRequest req;
  req.group = options_.consumer.group;
  req.member_id = member_id_;
  req.member_epoch = -1;  // leave
  req.instance_id = options_.instance_id;
  Status found = EnsureCoordinator();
  auto r = found.ok() ? client_->GroupHeartbeat(req)
                      : Result<Reply<protocol::ConsumerGroupHeartbeatResponse>>(found);
  positions_.clear();
  reader_.reset();
  if (!s.ok()) return s;
  if (!r.ok()) return r.status();
  return ErrorStatus(r->error, "leave group '" + options_.consumer.group + "'");
}

}  // namespace sentry::client
