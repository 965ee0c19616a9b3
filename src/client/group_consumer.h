// client::GroupConsumer: reads one topic as a member of a native consumer
// group (docs/groups.md): the broker assigns the partitions
// (CONSUMER_GROUP_HEARTBEAT), the consumer follows every change, and hands a
// partition over losslessly: before it reports a revoked partition as no
// longer owned it commits the position reached, so the next owner resumes
// exactly there (at-least-once, and exactly-once for a caller that commits
// after processing each poll).
//
// Threads: one thread at a time. Heartbeats are sent from Poll(), so call
// Poll() at least every heartbeat interval (the broker says how often; its
// session timeout is several intervals).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "client/client.h"
#include "client/broker_pool.h"
#include "client/consumer.h"

namespace sentry::client {

struct GroupConsumerOptions {
  ConsumerOptions consumer;  // host, port, group (required), fetch sizes
  std::string instance_id;   // static membership ("" = dynamic)
  std::string client_id = "sentry-client";
  StartPosition start;  // where a partition without a committed offset starts
};

class GroupConsumer {
 public:
  static Result<std::unique_ptr<GroupConsumer>> Create(const GroupConsumerOptions& options,
                                                       const std::string& topic);
  ~GroupConsumer();

  // Heartbeats when due, follows assignment changes, then waits up to
  // timeout_ms for records of the partitions owned now.
  Result<std::vector<ConsumerRecord>> Poll(int timeout_ms);
  // Commits the position of every owned partition, as a member.
  Status Commit();
  // Moves an owned partition's position (the next offset Poll returns).
  Status Seek(int32_t partition, int64_t offset);
  int64_t position(int32_t partition) const { return positions_.at(partition); }
  // Commits, then leaves the group (its partitions move at once).
  Status Close();

  // Partitions owned now, ascending.
  std::vector<int32_t> assignment() const;
  const std::string& member_id() const { return member_id_; }
  int32_t member_epoch() const { return member_epoch_; }

 private:
  GroupConsumer(GroupConsumerOptions o, std::string topic, std::unique_ptr<Client> c)
      : options_(std::move(o)), topic_(std::move(topic)), client_(std::move(c)) {}
  Status Heartbeat();
  // Connects to the group coordinator when there is no connection (it moved).
  Status EnsureCoordinator();
  // How long a lost coordinator is looked for before Poll fails.
  static constexpr int64_t kCoordinatorWaitMs = 60000;
  static constexpr int64_t kRetryBackoffMs = 200;
  // Moves to owning exactly `partitions`, committing what is given up.
  Status Reassign(const std::vector<int32_t>& partitions);
  Status CommitPartitions(const std::vector<int32_t>& partitions);

  GroupConsumerOptions options_;
  std::string topic_;
  std::unique_ptr<Client> client_;        // heartbeats and commits (null: coordinator moved)
  int64_t coordinator_lost_ms_ = -1;      // since when it is being looked for
  std::unique_ptr<Consumer> reader_;      // fetches of the owned partitions (null: none)
  std::map<int32_t, int64_t> positions_;  // owned partition -> next offset to return
  std::string member_id_;
  int32_t member_epoch_ = 0;
  int32_t interval_ms_ = 1000;
  int64_t next_heartbeat_ms_ = 0;
  bool send_subscription_ = true;
};

}  // namespace sentry::client
