// The controller's decisions, as pure functions of a cluster snapshot (so
// they are unit-tested against made-up snapshots; ClusterManager carries
// them out as compare-and-set writes).
//
//  - A partition without a record gets one: leader = its first live replica,
//    ISR = its live replicas, epochs 0.
//  - A partition whose leader is not live gets a new leader: the first
//    replica (in assignment order) that is live and in the ISR; leader epoch
//    and partition epoch bumped, ISR = its live members. With none, the
//    partition goes offline (leader -1, ISR kept as it was, so the last
//    in-sync replica leads it again when it comes back) unless
//    unclean.leader.election.enable, which takes any live replica (records
//    only that replica had never reached may be lost: Kafka's rule).
//  - An ISR member that is not live leaves the ISR (the leader stays).
//
// Threads: any (no state).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cluster/cluster_state.h"
#include "common/status.h"

namespace sentry::cluster {

struct PartitionChange {
  std::string topic;
  int32_t partition = 0;
  PartitionRecord next;
  int64_t expected_revision = 0;  // of the record read; 0: create it
};

// What the controller should write now, given `s`.
std::vector<PartitionChange> PlanPartitionChanges(const ClusterSnapshot& s, bool unclean);

// Replicas for a new topic over the live brokers: partition p gets
// `replication_factor` consecutive brokers starting at (p + offset) in
// broker id order, so leaders spread evenly. InvalidArgument when fewer
// brokers are live than the factor asks for.
Result<std::vector<std::vector<int32_t>>> AssignReplicas(const std::vector<int32_t>& live_ids,
                                                         int32_t partitions,
                                                         int16_t replication_factor,
                                                         uint32_t offset);

// A leader's ISR change (shrink or expand): the same record with `isr`,
// partition epoch bumped.
PartitionRecord WithIsr(const PartitionRecord& r, std::vector<int32_t> isr);

}  // namespace sentry::cluster
