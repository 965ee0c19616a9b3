#include "cluster/cluster_state.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

namespace sentry::cluster {

using nlohmann::json;

bool PartitionRecord::InIsr(int32_t id) const {
  return std::find(isr.begin(), isr.end(), id) != isr.end();
}

const PartitionRecord* ClusterSnapshot::Partition(const std::string& topic, int32_t p) const {
  auto it = partitions.find({topic, p});
  return it == partitions.end() ? nullptr : &it->second;
}

std::string EncodeBroker(const BrokerInfo& b) {
  return json{{"id", b.id}, {"host", b.host}, {"native_port", b.native_port},
              {"kafka_port", b.kafka_port}}
      .dump();
}

std::string EncodeTopic(const TopicRecord& t) {
  json configs = json::object();
  for (const auto& [k, v] : t.configs) configs[k] = v;
  return json{{"name", t.name},
              {"partitions", t.partitions},
              {"replication_factor", t.replication_factor},
              {"configs", configs},
              {"replicas", t.replicas}}
      .dump();
}

std::string EncodePartition(const PartitionRecord& p) {
  return json{{"leader", p.leader},
              {"leader_epoch", p.leader_epoch},
              {"partition_epoch", p.partition_epoch},
              {"isr", p.isr}}
      .dump();
}

namespace {

std::optional<json> Parse(const std::string& s) {
  json j = json::parse(s, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

}  // namespace

std::optional<BrokerInfo> DecodeBroker(const std::string& s) {
  auto j = Parse(s);
  if (!j) return std::nullopt;
  try {
    BrokerInfo b;
    b.id = j->at("id").get<int32_t>();
    b.host = j->at("host").get<std::string>();
    b.native_port = j->at("native_port").get<int32_t>();
    b.kafka_port = j->at("kafka_port").get<int32_t>();
    return b;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::optional<TopicRecord> DecodeTopic(const std::string& s) {
  auto j = Parse(s);
  if (!j) return std::nullopt;
  try {
    TopicRecord t;
    t.name = j->at("name").get<std::string>();
    t.partitions = j->at("partitions").get<int32_t>();
    t.replication_factor = j->at("replication_factor").get<int16_t>();
    for (const auto& [k, v] : j->at("configs").items()) t.configs.emplace_back(k, v.get<std::string>());
    t.replicas = j->at("replicas").get<std::vector<std::vector<int32_t>>>();
    if (t.partitions <= 0 || static_cast<int32_t>(t.replicas.size()) != t.partitions) {
      return std::nullopt;
    }
    return t;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::optional<PartitionRecord> DecodePartition(const std::string& s) {
  auto j = Parse(s);
  if (!j) return std::nullopt;
  try {
    PartitionRecord p;
    p.leader = j->at("leader").get<int32_t>();
    p.leader_epoch = j->at("leader_epoch").get<int32_t>();
    p.partition_epoch = j->at("partition_epoch").get<int32_t>();
    p.isr = j->at("isr").get<std::vector<int32_t>>();
    return p;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

namespace {

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

std::optional<int32_t> ParseInt(std::string_view s) {
  int32_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

ClusterSnapshot ParseSnapshot(const ClusterKeys& keys, const std::vector<KeyValue>& kvs) {
  ClusterSnapshot s;
  for (const auto& kv : kvs) {
    bool ok = true;
    if (StartsWith(kv.key, keys.Brokers())) {
      auto b = DecodeBroker(kv.value);
      ok = b.has_value() && b->id >= 0;
      if (ok) s.brokers[b->id] = *b;
    } else if (kv.key == keys.Controller()) {
      auto id = ParseInt(kv.value);
      ok = id.has_value();
      if (ok) {
        s.controller = *id;
        s.controller_revision = kv.mod_revision;
      }
    } else if (StartsWith(kv.key, keys.Topics())) {
      auto t = DecodeTopic(kv.value);
      ok = t.has_value() && kv.key == keys.Topic(t->name);
      if (ok) {
        t->mod_revision = kv.mod_revision;
        s.topics[t->name] = std::move(*t);
      }
    } else if (StartsWith(kv.key, keys.Partitions())) {
      // <root>/partitions/<topic>/<p>: the topic name may not hold '/'.
      const std::string rest = kv.key.substr(keys.Partitions().size());
      const size_t slash = rest.rfind('/');
      auto p = DecodePartition(kv.value);
      std::optional<int32_t> index;
      if (slash != std::string::npos) index = ParseInt(std::string_view(rest).substr(slash + 1));
      ok = p.has_value() && index.has_value();
      if (ok) {
        p->mod_revision = kv.mod_revision;
        s.partitions[{rest.substr(0, slash), *index}] = std::move(*p);
      }
    }
    if (!ok) spdlog::warn("cluster: ignoring a malformed record at {}", kv.key);
  }
  return s;
}

}  // namespace sentry::cluster
