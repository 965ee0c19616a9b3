// client::BrokerPool: which broker leads each partition of one topic, and a
// connection to each of those brokers, opened when first needed.
//
// It learns the leaders from DESCRIBE_CLUSTER (docs/protocol.md, API 15). A
// single-node broker leads everything, so every partition maps to the
// bootstrap connection (the address the caller gave, not the advertised one).
// In a cluster, each partition maps to its leader at its advertised host and
// native port; Refresh() asks any broker it can reach (connections it holds
// first, then the bootstrap address, then every broker it has heard of), so
// the loss of the bootstrap broker does not strand a client.
//
// Producer and Consumer call MarkStale() on NOT_LEADER_OR_FOLLOWER,
// LEADER_NOT_AVAILABLE or a lost connection, and Refresh() before their next
// send (at most once per `refresh_backoff_ms`).
//
// Threads: one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/client.h"

namespace sentry::client {

// The offsets log's topic: the leader of the partition a group id hashes to
// (common/group_partition.h) coordinates that group (docs/cluster.md).
inline constexpr const char* kOffsetsTopic = "__consumer_offsets";

class BrokerPool {
 public:
  // The bootstrap connection's pseudo broker id in single-node mode.
  static constexpr int32_t kBootstrap = -2;

  // `security`: every connection's TLS and SASL (the brokers' native.tls.port,
  // native.sasl).
  BrokerPool(std::string host, int port, int connect_timeout_ms, int refresh_backoff_ms = 100,
             Security security = {});

  // A connection of its own to `group`'s coordinator, as DESCRIBE_CLUSTER
  // names it (in a cluster, the leader of the offsets-log partition the
  // group id hashes to; on a single node, the broker at host:port).
  static Result<std::unique_ptr<Client>> ConnectToCoordinator(const std::string& host, int port,
                                                              const std::string& group,
                                                              int connect_timeout_ms,
                                                              const Security& security = {});

  // Reads the topic's leaders (and partition count). NotFound when the topic
  // does not exist; another error when no broker answered.
  Status Refresh(const std::string& topic);
  // Refresh() when stale and the backoff has passed; the last error otherwise.
  Status RefreshIfStale(const std::string& topic, int64_t now_ms);
  void MarkStale() { stale_ = true; }
  bool stale() const { return stale_; }
  // The outcome of the last Refresh().
  const Status& last_refresh() const { return last_refresh_; }

  int32_t partitions() const { return static_cast<int32_t>(leaders_.size()); }
  bool cluster_mode() const { return cluster_mode_; }
  // The broker leading `partition`: kBootstrap on a single node, -1 unknown.
  int32_t Leader(int32_t partition) const;
  // The broker that coordinates `group` and keeps its committed offsets: in
  // a cluster the leader of the offsets-log partition the group id hashes
  // to (as Kafka's FindCoordinator names it; -1 while it has none);
  // kBootstrap on a single node. Known after Refresh().
  int32_t Coordinator(const std::string& group) const;
  // A connection to `broker`, opened now when there is none.
  Result<Client*> Get(int32_t broker);
  // The open connection to `broker`, or null.
  Client* Find(int32_t broker) const;
  // Which connection to `broker` is open: a number never reused for another
  // connection (0: none). Lets an owner of requests sent on a connection
  // tell that the pool closed it.
  uint64_t Serial(int32_t broker) const;
  // Closes the connection to `broker` (after a transport error) and marks
  // the leaders stale.
  void Drop(int32_t broker);
 private:
  struct Open {
    std::unique_ptr<Client> client;
    uint64_t serial = 0;
  };
  struct Address {
    std::string host;
    int port = 0;
  };
  Result<Reply<protocol::DescribeClusterResponse>> Ask(const std::string& topic);
  Status Apply(const std::string& topic, const protocol::DescribeClusterResponse& r);

  Address bootstrap_;
  int connect_timeout_ms_;
  Security security_;
  int refresh_backoff_ms_;
  bool cluster_mode_ = false;
  bool stale_ = true;
  int64_t next_refresh_ms_ = 0;
  Status last_refresh_;
  std::vector<int32_t> leaders_;
  std::vector<int32_t> offsets_leaders_;  // of each offsets-log partition
  std::map<int32_t, Address> brokers_;  // live brokers from the last answer
  std::map<int32_t, Address> ever_;     // every broker heard of (for Refresh)
  std::map<int32_t, Open> clients_;
  uint64_t next_serial_ = 1;
};

}  // namespace sentry::client
