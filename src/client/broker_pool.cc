#include "client/broker_pool.h"

#include <algorithm>

#include "client/error_status.h"
#include "common/clock.h"
#include "common/group_partition.h"
#include "protocol/errors.h"

namespace sentry::client {

BrokerPool::BrokerPool(std::string host, int port, int connect_timeout_ms,
                       int refresh_backoff_ms, Security security)
    : bootstrap_{std::move(host), port},
      connect_timeout_ms_(connect_timeout_ms),
      security_(std::move(security)),
      refresh_backoff_ms_(refresh_backoff_ms) {}

namespace {
// The leader of each partition of the offsets log as `r` lists it (empty:
// not listed; -1: no leader).
std::vector<int32_t> OffsetsLeaders(const protocol::DescribeClusterResponse& r) {
  std::vector<int32_t> leaders;
  for (const auto& t : r.topics) {
    if (t.name != kOffsetsTopic || t.error_code != 0) continue;
    leaders.assign(t.partitions.size(), -1);
    for (const auto& p : t.partitions) {
      if (p.partition >= 0 && static_cast<size_t>(p.partition) < leaders.size()) {
        leaders[static_cast<size_t>(p.partition)] = p.leader;
      }
    }
  }
  return leaders;
}

int32_t CoordinatorOf(const std::vector<int32_t>& offsets_leaders, const std::string& group) {
  if (offsets_leaders.empty()) return -1;
  const auto n = static_cast<int32_t>(offsets_leaders.size());
  return offsets_leaders[static_cast<size_t>(OffsetsPartitionFor(group, n))];
}
}  // namespace

Result<std::unique_ptr<Client>> BrokerPool::ConnectToCoordinator(const std::string& host,
                                                                 int port,
                                                                 const std::string& group,
                                                                 int connect_timeout_ms,
                                                                 const Security& security) {
  SENTRY_ASSIGN_OR_RETURN(auto c, Client::Connect(host, port, connect_timeout_ms, security));
  SENTRY_ASSIGN_OR_RETURN(auto r, c->DescribeCluster({kOffsetsTopic}, connect_timeout_ms));
  if (!r.ok()) return ErrorStatus(r.error, "DESCRIBE_CLUSTER");
  if (r.body.cluster_mode == 0) return c;  // a single node coordinates its groups
  const int32_t leader = CoordinatorOf(OffsetsLeaders(r.body), group);
  for (const auto& b : r.body.brokers) {
    if (b.broker_id == leader) return Client::Connect(b.host, b.port, connect_timeout_ms, security);
  }
  return Status::Unavailable("no coordinator for group '" + group +
                             "' right now (its offsets-log partition has no leader)");
}

Result<Reply<protocol::DescribeClusterResponse>> BrokerPool::Ask(const std::string& topic) {
  Status last = Status::Unavailable("no broker to ask");
  auto ask = [&](Client* c) -> std::optional<Reply<protocol::DescribeClusterResponse>> {
    auto r = c->DescribeCluster({topic, kOffsetsTopic}, connect_timeout_ms_);
    if (r.ok()) return std::move(r).value();
    last = r.status();
    return std::nullopt;
  };
  // Connections already open first (a failed one is dropped: its owner sees
  // that Find() no longer returns the client it sent on).
  for (auto it = clients_.begin(); it != clients_.end();) {
    if (auto r = ask(it->second.client.get())) return *r;
    it = clients_.erase(it);
  }
  std::vector<Address> candidates{bootstrap_};
  for (const auto& [id, a] : ever_) candidates.push_back(a);
  for (const auto& a : candidates) {
    auto c = Client::Connect(a.host, a.port, connect_timeout_ms_, security_);
    if (!c.ok()) {
      last = c.status();
      continue;
    }
    if (auto r = ask(c.value().get())) return *r;
  }
  return last;
}

Status BrokerPool::Apply(const std::string& topic, const protocol::DescribeClusterResponse& r) {
  const protocol::ClusterTopicInfo* found = nullptr;
  for (const auto& t : r.topics) {
    if (t.name == topic) found = &t;
  }
  // The group coordinators: the offsets partitions' leaders (a cluster lists it
  // when asked by name; a single node answers UNKNOWN_TOPIC_OR_PARTITION).
  offsets_leaders_ = OffsetsLeaders(r);
  if (!found) {
    return Status::Corruption("DESCRIBE_CLUSTER did not answer for topic '" + topic + "'");
  }
  const auto& t = *found;
  if (t.error_code != 0) return ErrorStatus(t.error_code, "topic '" + topic + "'");
  cluster_mode_ = r.cluster_mode != 0;
  brokers_.clear();
  for (const auto& b : r.brokers) {
    brokers_[b.broker_id] = Address{b.host, b.port};
    ever_[b.broker_id] = Address{b.host, b.port};
  }
  leaders_.assign(t.partitions.size(), -1);
  for (const auto& p : t.partitions) {
    if (p.partition < 0 || static_cast<size_t>(p.partition) >= leaders_.size()) {
      return Status::Corruption("DESCRIBE_CLUSTER: partition " + std::to_string(p.partition) +
                                " of " + std::to_string(t.partitions.size()));
    }
    leaders_[p.partition] = cluster_mode_ ? p.leader : kBootstrap;
  }
  // A connection to a broker that left the cluster serves nothing now.
  if (cluster_mode_) {
    std::erase_if(clients_, [&](const auto& kv) { return !brokers_.contains(kv.first); });
  }
  return Status::OK();
}

Status BrokerPool::Refresh(const std::string& topic) {
  auto r = Ask(topic);
  Status s = r.ok() ? (r.value().ok() ? Apply(topic, r.value().body)
                                      : ErrorStatus(r.value().error, "DESCRIBE_CLUSTER"))
                    : r.status();
  last_refresh_ = s;
  next_refresh_ms_ = SteadyMillis() + refresh_backoff_ms_;
  // Stale again at once when a partition has no leader yet (an election).
  stale_ = !s.ok() || std::find(leaders_.begin(), leaders_.end(), -1) != leaders_.end();
  return s;
}

Status BrokerPool::RefreshIfStale(const std::string& topic, int64_t now_ms) {
  if (!stale_ || now_ms < next_refresh_ms_) return last_refresh_;
  return Refresh(topic);
}

int32_t BrokerPool::Leader(int32_t partition) const {
  if (partition < 0 || partition >= partitions()) return -1;
  return leaders_[partition];
}

int32_t BrokerPool::Coordinator(const std::string& group) const {
  if (!cluster_mode_) return kBootstrap;
  return CoordinatorOf(offsets_leaders_, group);
}

Result<Client*> BrokerPool::Get(int32_t broker) {
  if (Client* c = Find(broker)) return c;
  Address a;
  if (broker == kBootstrap) {
    a = bootstrap_;
  } else if (auto it = brokers_.find(broker); it != brokers_.end()) {
    a = it->second;
  } else {
    return Status::Unavailable("broker " + std::to_string(broker) + " is not in the cluster");
  }
  SENTRY_ASSIGN_OR_RETURN(
      auto c, Client::Connect(a.host, a.port, connect_timeout_ms_, security_));
  Client* raw = c.get();
  clients_[broker] = Open{std::move(c), next_serial_++};
  return raw;
}

Client* BrokerPool::Find(int32_t broker) const {
  auto it = clients_.find(broker);
  return it == clients_.end() ? nullptr : it->second.client.get();
}

uint64_t BrokerPool::Serial(int32_t broker) const {
  auto it = clients_.find(broker);
  return it == clients_.end() ? 0 : it->second.serial;
}

void BrokerPool::Drop(int32_t broker) {
  clients_.erase(broker);
  stale_ = true;
}

}  // namespace sentry::client
