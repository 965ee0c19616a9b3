// ClusterState: what a Sentry cluster keeps in its metadata store (etcd), as
// plain values, and the keys it keeps them under (docs/cluster.md):
//
//   <root>/brokers/<id>            BrokerInfo, put under the broker's lease
//   <root>/controller              the controller's broker id, under its lease
//   <root>/topics/<name>           TopicRecord: partitions, settings, replicas
//   <root>/partitions/<name>/<p>   PartitionRecord: leader, epochs, ISR
//
// with <root> = "/sentry/<cluster.name>". Every change of a partition record
// is a compare-and-set on its mod revision (KvStore::PutIf), so of two
// writers racing on the same state only one wins; the loser re-reads.
//
// Threads: values; no sharing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cluster/kv_store.h"

namespace sentry::cluster {

struct BrokerInfo {
  int32_t id = -1;
  std::string host;
  int32_t native_port = -1;
  int32_t kafka_port = -1;
};

// The offsets log's topic (broker::kOffsetsTopic): offsets.topic.num.partitions
// partitions, created by the controller once offsets.topic.replication.factor
// brokers are alive; the leader of the partition a group id hashes to is
// that group's coordinator.
inline constexpr const char* kOffsetsTopic = "__consumer_offsets";

struct TopicRecord {
  std::string name;
  int32_t partitions = 0;
  int16_t replication_factor = 1;
  std::vector<std::pair<std::string, std::string>> configs;
  std::vector<std::vector<int32_t>> replicas;  // per partition, preferred leader first
  int64_t mod_revision = 0;
};

struct PartitionRecord {
  int32_t leader = -1;        // -1: offline (no eligible replica alive)
  int32_t leader_epoch = 0;   // bumped with every leader change
  int32_t partition_epoch = 0;  // bumped with every change of this record
  std::vector<int32_t> isr;   // in-sync replicas, leader included
  int64_t mod_revision = 0;   // the store's revision of this record
  bool InIsr(int32_t id) const;
};

using PartitionKey = std::pair<std::string, int32_t>;

struct ClusterSnapshot {
  std::map<int32_t, BrokerInfo> brokers;  // live (registered, lease held)
  int32_t controller = -1;
  int64_t controller_revision = 0;
  std::map<std::string, TopicRecord> topics;
  std::map<PartitionKey, PartitionRecord> partitions;

  const PartitionRecord* Partition(const std::string& topic, int32_t p) const;
  bool Live(int32_t id) const { return brokers.count(id) != 0; }
};

// Key names under `root` ("/sentry/<cluster>").
struct ClusterKeys {
  std::string root;
  std::string Broker(int32_t id) const { return root + "/brokers/" + std::to_string(id); }
  std::string Brokers() const { return root + "/brokers/"; }
  std::string Controller() const { return root + "/controller"; }
  std::string Topic(const std::string& name) const { return root + "/topics/" + name; }
  std::string Topics() const { return root + "/topics/"; }
  std::string Partition(const std::string& topic, int32_t p) const {
    return root + "/partitions/" + topic + "/" + std::to_string(p);
  }
  std::string Partitions() const { return root + "/partitions/"; }
  std::string Prefix() const { return root + "/"; }
};

std::string EncodeBroker(const BrokerInfo& b);
std::string EncodeTopic(const TopicRecord& t);
std::string EncodePartition(const PartitionRecord& p);
std::optional<BrokerInfo> DecodeBroker(const std::string& json);
std::optional<TopicRecord> DecodeTopic(const std::string& json);
std::optional<PartitionRecord> DecodePartition(const std::string& json);

// Builds a snapshot from every key under keys.Prefix() (one GetPrefix: one
// consistent revision of the store). Keys that do not parse are skipped
// with a warning: a hostile or garbled record never stops the cluster.
ClusterSnapshot ParseSnapshot(const ClusterKeys& keys, const std::vector<KeyValue>& kvs);

}  // namespace sentry::cluster
