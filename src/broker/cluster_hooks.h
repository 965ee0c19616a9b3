// ClusterHooks: what the broker core asks of the cluster layer when sentryd
// runs in a cluster (docs/cluster.md); null on a single-node broker, where
// every partition is led here at epoch 0 and topics are created locally.
// Implemented by replication::ReplicaManager.
//
// Threads: any network thread, and the admin thread for the blocking calls
// (CreateTopic, DeleteTopic talk to the metadata store).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/error.h"
#include "pipeline/partition.h"

namespace sentry::broker {

struct ClusterBroker {
  int32_t id = -1;
  std::string host;
  int32_t native_port = -1;
  int32_t kafka_port = -1;
};

struct PartitionLeadership {
  int32_t leader = -1;  // -1: none right now
  int32_t leader_epoch = 0;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isr;
};

class ClusterHooks {
 public:
  virtual ~ClusterHooks() = default;
  // Live brokers, by id.
  virtual std::vector<ClusterBroker> Brokers() const = 0;
  virtual int32_t ControllerId() const = 0;
  // Nullopt when the cluster has no such partition.
  virtual std::optional<PartitionLeadership> Leadership(std::string_view topic,
                                                        int32_t partition) const = 0;
  // Topic admin in the metadata store; returns once this broker has the
  // topic locally too (or the error). Blocking: the admin thread.
  virtual Error CreateTopic(const std::string& name, int32_t partitions,
                            int16_t replication_factor,
                            const std::vector<std::pair<std::string, std::string>>& configs) = 0;
  virtual Error DeleteTopic(const std::string& name) = 0;
  // A topic this broker does not have yet may have been created through
  // another broker a moment ago: true once it is here too, false when the
  // metadata store has no such topic (or it does not arrive in time).
  // Blocking: the admin thread.
  virtual bool AwaitTopic(const std::string& name) = 0;
  // Changes settings of a topic in the metadata store (nullopt: back to the
  // default); returns once this broker applies them too. Already validated.
  virtual Error AlterTopicConfig(
      const std::string& name,
      const std::vector<std::pair<std::string, std::optional<std::string>>>& changes) = 0;
  // A follower fetches from `p` at `offset` (its log end) in `leader_epoch`
  // (-1: unknown): checks that this broker leads it in that epoch, records
  // the follower's progress (ISR, high watermark).
  virtual Errc OnReplicaFetch(pipeline::Partition& p, int32_t replica_id, int32_t leader_epoch,
                              int64_t offset) = 0;
};

}  // namespace sentry::broker
