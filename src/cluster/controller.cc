#include "cluster/controller.h"

#include <algorithm>

namespace sentry::cluster {

namespace {

std::vector<int32_t> LiveOnly(const ClusterSnapshot& s, const std::vector<int32_t>& ids) {
  std::vector<int32_t> out;
  for (int32_t id : ids) {
    if (s.Live(id)) out.push_back(id);
  }
  return out;
}

}  // namespace

std::vector<PartitionChange> PlanPartitionChanges(const ClusterSnapshot& s, bool unclean) {
  std::vector<PartitionChange> changes;
  for (const auto& [name, topic] : s.topics) {
    for (int32_t p = 0; p < topic.partitions; p++) {
      const std::vector<int32_t>& replicas = topic.replicas[static_cast<size_t>(p)];
      const PartitionRecord* cur = s.Partition(name, p);
      if (cur == nullptr) {
        PartitionRecord r;
        r.isr = LiveOnly(s, replicas);
        r.leader = r.isr.empty() ? -1 : r.isr.front();
        if (r.isr.empty()) r.isr = replicas;  // offline until one comes
        changes.push_back({name, p, r, 0});
        continue;
      }
      std::vector<int32_t> live_isr = LiveOnly(s, cur->isr);
      PartitionRecord next = *cur;
      if (cur->leader < 0 || !s.Live(cur->leader)) {
        int32_t leader = -1;
        for (int32_t id : replicas) {
          if (s.Live(id) && cur->InIsr(id)) {
            leader = id;
            break;
          }
        }
        if (leader >= 0) {
          next.leader = leader;
          next.isr = live_isr;
        } else if (unclean) {
          std::vector<int32_t> live = LiveOnly(s, replicas);
          if (!live.empty()) {
            next.leader = live.front();
            next.isr = {live.front()};
          } else {
            next.leader = -1;
          }
        } else {
          next.leader = -1;  // offline; the ISR stays as the last one known
        }
        if (next.leader == cur->leader && next.isr == cur->isr) continue;  // still offline
        if (next.leader != cur->leader) next.leader_epoch = cur->leader_epoch + 1;
      } else if (live_isr.size() != cur->isr.size()) {
        next.isr = live_isr;
      } else {
        continue;
      }
      next.partition_epoch = cur->partition_epoch + 1;
      changes.push_back({name, p, next, cur->mod_revision});
    }
  }
  return changes;
}

Result<std::vector<std::vector<int32_t>>> AssignReplicas(const std::vector<int32_t>& live_ids,
                                                         int32_t partitions,
                                                         int16_t replication_factor,
                                                         uint32_t offset) {
  std::vector<int32_t> ids = live_ids;
  std::sort(ids.begin(), ids.end());
  if (replication_factor < 1 || static_cast<size_t>(replication_factor) > ids.size()) {
    return Status::InvalidArgument("replication factor " + std::to_string(replication_factor) +
                                   " but " + std::to_string(ids.size()) + " brokers are live");
  }
  std::vector<std::vector<int32_t>> out(static_cast<size_t>(partitions));
  for (int32_t p = 0; p < partitions; p++) {
    for (int16_t i = 0; i < replication_factor; i++) {
      const size_t at = (static_cast<size_t>(p) + offset + static_cast<size_t>(i)) % ids.size();
      out[static_cast<size_t>(p)].push_back(ids[at]);
    }
  }
  return out;
}

PartitionRecord WithIsr(const PartitionRecord& r, std::vector<int32_t> isr) {
  PartitionRecord next = r;
  next.isr = std::move(isr);
  next.partition_epoch = r.partition_epoch + 1;
  return next;
}

}  // namespace sentry::cluster
