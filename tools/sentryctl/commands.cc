#include "sentryctl/commands.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>
#include <map>
#include <memory>

#include "client/admin.h"
#include "client/broker_pool.h"
#include "client/client.h"
#include "client/error_status.h"
#include "client/consumer.h"
#include "client/producer.h"

namespace sentry::ctl {

int Fail(const Status& s) {
  fmt::print(stderr, "sentryctl: {}\n", s.message());
  return 1;
}

Result<std::unique_ptr<client::Client>> Connect(const BrokerAddress& b) {
  return client::Client::Connect(b.host, b.port, 5000, b.security);
}

Result<std::unique_ptr<client::Client>> ConnectToCoordinator(const BrokerAddress& b,
                                                             const std::string& group) {
  return client::BrokerPool::ConnectToCoordinator(b.host, b.port, group, 5000, b.security);
}

namespace {
// KEY=VALUE arguments; false (after a message) when one is not.
bool ParseConfigs(const std::vector<std::string>& configs,
                  std::vector<std::pair<std::string, std::string>>* kv) {
  for (const auto& c : configs) {
    auto eq = c.find('=');
    if (eq == std::string::npos || eq == 0) {
      fmt::print(stderr, "sentryctl: --config expects KEY=VALUE, got '{}'\n", c);
      return false;
    }
    kv->emplace_back(c.substr(0, eq), c.substr(eq + 1));
  }
  return true;
}
}  // namespace

int TopicCreate(const BrokerAddress& b, const std::string& name, int32_t partitions,
                const std::vector<std::string>& configs, int32_t replication_factor) {
  std::vector<std::pair<std::string, std::string>> kv;
  if (!ParseConfigs(configs, &kv)) return 2;
  // The native CREATE_TOPIC carries it as a pseudo config (docs/protocol.md).
  if (replication_factor > 0) kv.emplace_back("replication.factor", std::to_string(replication_factor));
  auto c = Connect(b);
  if (!c.ok()) return Fail(c.status());
  client::Admin admin(c->get());
  Status s = admin.CreateTopic(name, partitions, kv);
  if (!s.ok()) return Fail(s);
  fmt::print("Created topic {} with {} partition{}.\n", name, partitions,
             partitions == 1 ? "" : "s");
  return 0;
}

int ClusterStatus(const BrokerAddress& b) {
  auto c = Connect(b);
  if (!c.ok()) return Fail(c.status());
  auto r = c->get()->DescribeCluster({});
  if (!r.ok()) return Fail(r.status());
  if (!r->ok()) return Fail(client::ErrorStatus(r->error, "describe cluster"));
  const auto& cl = r->body;
  if (!cl.cluster_mode) {
    fmt::print("single-node broker {} (no cluster.etcd): it leads every partition\n",
               cl.controller_id);
    return 0;
  }
  fmt::print("brokers: {} live, controller {}\n", cl.brokers.size(),
             cl.controller_id < 0 ? std::string("none") : std::to_string(cl.controller_id));
  fmt::print("{:>9}  {:<24} {:>11} {:>10}\n", "BROKER", "HOST", "NATIVE_PORT", "KAFKA_PORT");
  for (const auto& br : cl.brokers) {
    fmt::print("{:>9}  {:<24} {:>11} {:>10}\n", br.broker_id, br.host, br.port, br.kafka_port);
  }
  int partitions = 0, under = 0, offline = 0;
  std::vector<std::string> lines;
  for (const auto& t : cl.topics) {
    for (const auto& p : t.partitions) {
      partitions++;
      if (p.leader < 0) {
        offline++;
      } else if (p.isr.size() >= p.replicas.size()) {
        continue;
      } else {
        under++;
      }
      lines.push_back(fmt::format("{:>24}-{:<5} leader {:>4}  replicas {:<12} isr {:<12} {}", t.name,
                                  p.partition, p.leader, fmt::join(p.replicas, ","),
                                  fmt::join(p.isr, ","),
                                  p.leader < 0 ? "OFFLINE" : "UNDER-REPLICATED"));
    }
  }
  fmt::print("partitions: {}, under-replicated: {}, offline: {}\n", partitions, under, offline);
  for (const auto& l : lines) fmt::print("{}\n", l);
  return offline > 0 ? 1 : 0;
}

int TopicDelete(const BrokerAddress& b, const std::string& name) {
  auto c = Connect(b);
  if (!c.ok()) return Fail(c.status());
  client::Admin admin(c->get());
  Status s = admin.DeleteTopic(name);
  if (!s.ok()) return Fail(s);
  fmt::print("Deleted topic {}.\n", name);
  return 0;
}

int TopicTrim(const BrokerAddress& b, const std::string& name, int32_t partition,
              int64_t before) {
  // The partition's leader moves its log start (in a cluster, not
  // necessarily the broker given; its followers follow).
  client::BrokerPool pool(b.host, b.port, 5000, 100, b.security);
  if (Status s = pool.Refresh(name); !s.ok()) return Fail(s);
  auto c = pool.Get(pool.Leader(partition));
  if (!c.ok()) return Fail(c.status());
  client::Admin admin(c.value());
  auto start = admin.DeleteRecords(name, partition, before);
  if (!start.ok()) return Fail(start.status());
  fmt::print("{}-{} now starts at offset {}.\n", name, partition, *start);
  return 0;
}

int TopicAlter(const BrokerAddress& b, const std::string& name, const std::vector<std::string>& set,
               const std::vector<std::string>& reset) {
  std::vector<std::pair<std::string, std::string>> kv;
  if (!ParseConfigs(set, &kv)) return 2;
  if (kv.empty() && reset.empty()) {
    fmt::print(stderr, "sentryctl: topic alter needs --config KEY=VALUE or --delete-config KEY\n");
    return 2;
  }
  std::vector<std::pair<std::string, std::optional<std::string>>> changes;
  for (auto& [k, v] : kv) changes.emplace_back(k, v);
  for (const auto& k : reset) changes.emplace_back(k, std::nullopt);
  auto c = Connect(b);
  if (!c.ok()) return Fail(c.status());
  client::Admin admin(c->get());
  Status s = admin.AlterTopicConfig(name, changes);
  if (!s.ok()) return Fail(s);
  fmt::print("Altered topic {} ({} setting{}).\n", name, changes.size(),
             changes.size() == 1 ? "" : "s");
  return 0;
}

int TopicList(const BrokerAddress& b) {
  auto c = Connect(b);
  if (!c.ok()) return Fail(c.status());
  client::Admin admin(c->get());
  auto topics = admin.ListTopics();
  if (!topics.ok()) return Fail(topics.status());
  fmt::print("{:<40} {:>10}\n", "TOPIC", "PARTITIONS");
  for (const auto& t : topics.value()) fmt::print("{:<40} {:>10}\n", t.name, t.partitions.size());
  return 0;
}

int TopicDescribe(const BrokerAddress& b, const std::string& name) {
  auto c = Connect(b);
  if (!c.ok()) return Fail(c.status());
  client::Admin admin(c->get());
  auto parts = admin.DescribeLog(name);
  if (!parts.ok()) return Fail(parts.status());
  fmt::print("topic {}: {} partition{}\n", name, parts->size(), parts->size() == 1 ? "" : "s");
  // In a cluster, who leads each partition and who is in sync.
  auto cl = c->get()->DescribeCluster({name});
  if (cl.ok() && cl->ok() && cl->body.cluster_mode && cl->body.topics.size() == 1) {
    fmt::print("{:>9} {:>7} {:>6} {:>16} {:>16}\n", "PARTITION", "LEADER", "EPOCH", "REPLICAS",
               "ISR");
    for (const auto& p : cl->body.topics[0].partitions) {
      fmt::print("{:>9} {:>7} {:>6} {:>16} {:>16}{}\n", p.partition,
                 p.leader < 0 ? std::string("none") : std::to_string(p.leader), p.leader_epoch,
                 fmt::format("{}", fmt::join(p.replicas, ",")),
                 fmt::format("{}", fmt::join(p.isr, ",")),
                 p.leader < 0 ? "  OFFLINE" : p.isr.size() < p.replicas.size() ? "  UNDER-REPLICATED" : "");
    }
    fmt::print("(this broker's copy below; followers' copies may trail the leader's)\n");
  }
  // RECORDS counts offsets (a compacted log holds fewer); SIZE is the bytes
  // of its batches; DIRTY is the share of the cleanable bytes not compacted
  // yet (compacted topics, "-" otherwise).
  fmt::print("{:>9} {:>16} {:>16} {:>12} {:>14} {:>8} {:>16} {:>6} {:>7}\n", "PARTITION",
             "LOG_START_OFFSET", "LOG_END_OFFSET", "RECORDS", "SIZE_BYTES", "SEGMENTS",
             "CLEANED_TO", "DIRTY", "STATE");
  for (const auto& p : *parts) {
    const int64_t cleanable = p.clean_bytes + p.dirty_bytes;
    const std::string dirty =
        cleanable > 0 ? fmt::format("{:.0f}%", 100.0 * static_cast<double>(p.dirty_bytes) /
                                                    static_cast<double>(cleanable))
                      : "-";
    fmt::print("{:>9} {:>16} {:>16} {:>12} {:>14} {:>8} {:>16} {:>6} {:>7}\n", p.partition,
               p.log_start_offset, p.high_watermark, p.high_watermark - p.log_start_offset,
               p.size_bytes, p.segments, p.cleaned_offset, dirty,
               p.offline ? "OFFLINE" : "online");
  }
  return 0;
}

int Produce(const BrokerAddress& b, const ProduceArgs& a) {
  client::ProducerOptions o;
  o.host = b.host;
  o.port = b.port;
  o.security = b.security;
  o.acks = static_cast<int16_t>(a.acks);
  auto p = client::Producer::Create(o, a.topic);
  if (!p.ok()) return Fail(p.status());
  if (a.partition >= p.value()->partitions()) {
    fmt::print(stderr,
               "sentryctl: produce to {}-{}: UNKNOWN_TOPIC_OR_PARTITION: the topic has {} "
               "partitions (0-{}).\n",
               a.topic, a.partition, p.value()->partitions(), p.value()->partitions() - 1);
    return 1;
  }
  std::string line;
  int64_t lines = 0;
  while (std::getline(std::cin, line)) {
    std::optional<std::string_view> key;
    std::string_view value = line;
    if (!a.key_separator.empty()) {
      auto at = line.find(a.key_separator);
      if (at != std::string::npos) {
        key = std::string_view(line).substr(0, at);
        value = std::string_view(line).substr(at + a.key_separator.size());
      }
    }
    Status s = p.value()->Send(key, value, a.partition);
    if (!s.ok()) return Fail(s);
    lines++;
  }
  Status s = p.value()->Flush();
  if (!s.ok()) return Fail(s);
  fmt::print(stderr, "Produced {} records to {}{}.\n", lines, a.topic,
             a.acks == 0 ? " (acks=0: not confirmed by the broker)" : "");
  return 0;
}

std::string FormatRecord(const std::string& f, const std::string& topic, int32_t partition,
                         int64_t offset, int64_t timestamp, const std::string* key,
                         const std::string* value) {
  std::string out;
  for (size_t i = 0; i < f.size(); i++) {
    const char c = f[i];
    if ((c == '%' || c == '\\') && i + 1 < f.size()) {
      const char n = f[++i];
      if (c == '\\') {
        out += n == 'n' ? '\n' : n == 't' ? '\t' : n;
        continue;
      }
      switch (n) {
        case 'v': if (value) out += *value; break;
        case 'k': if (key) out += *key; break;
        case 'o': out += std::to_string(offset); break;
        case 'p': out += std::to_string(partition); break;
        case 't': out += std::to_string(timestamp); break;
        case 'T': out += topic; break;
        case '%': out += '%'; break;
        default: out += '%'; out += n;
      }
      continue;
    }
    out += c;
  }
  return out;
}

int Consume(const BrokerAddress& b, const ConsumeArgs& a) {
  auto start = client::StartPosition::Parse(a.from);
  if (!start.ok()) {
    fmt::print(stderr, "sentryctl: --from: {}\n", start.status().message());
    return 2;
  }
  // A group without --partition: a member of the group, partitions assigned
  // by the broker (Kafka's subscribe); with --partition: assigned by hand.
  if (!a.group.empty() && a.partition < 0) return ConsumeInGroup(b, a, start.value());
  client::ConsumerOptions o;
  o.host = b.host;
  o.port = b.port;
  o.security = b.security;
  o.group = a.group;
  std::vector<int32_t> parts;
  if (a.partition >= 0) parts.push_back(a.partition);
  auto consumer = client::Consumer::Create(o, a.topic, parts, start.value());
  if (!consumer.ok()) return Fail(consumer.status());
  client::Consumer& cons = *consumer.value();
  // Without --follow, stop at the log end offsets seen now.
  std::map<int32_t, int64_t> end;
  if (!a.follow) {
    auto c = Connect(b);
    if (!c.ok()) return Fail(c.status());
    client::Admin admin(c->get());
    for (int32_t p : cons.partitions()) {
      auto e = admin.ListOffset(a.topic, p, -1);
      if (!e.ok()) return Fail(e.status());
      end[p] = e.value();
    }
  }
  std::map<int32_t, int64_t> next;  // offset after the last record printed
  for (int32_t p : cons.partitions()) next[p] = cons.position(p);
  auto done = [&] {
    if (a.follow) return false;
    for (auto& [p, e] : end) {
      if (next[p] < e) return false;
    }
    return true;
  };
  int64_t printed = 0;
  while ((a.count < 0 || printed < a.count) && !done()) {
    auto records = cons.Poll(1000);
    if (!records.ok()) return Fail(records.status());
    for (const auto& r : records.value()) {
      if (a.count >= 0 && printed >= a.count) break;
      if (!a.follow && r.offset >= end[r.partition]) continue;
      std::string line = FormatRecord(a.format, a.topic, r.partition, r.offset, r.timestamp,
                                      r.key ? &*r.key : nullptr, r.value ? &*r.value : nullptr);
      line += '\n';
      std::fwrite(line.data(), 1, line.size(), stdout);
      next[r.partition] = r.offset + 1;
      printed++;
    }
    if (a.follow) std::fflush(stdout);
    // Records past the limit were read but not printed: the committed
    // position is the one after the last record printed.
    for (int32_t p : cons.partitions()) {
      if (!a.follow && next[p] < end[p] && cons.position(p) >= end[p] &&
          (a.count < 0 || printed < a.count)) {
        next[p] = end[p];  // only skipped offsets (e.g. compaction gaps) remain
      }
    }
  }
  std::fflush(stdout);
  if (!a.group.empty()) {
    for (int32_t p : cons.partitions()) {
      Status s = cons.Seek(p, next[p]);
      if (!s.ok()) return Fail(s);
    }
    Status s = cons.Commit();
    if (!s.ok()) return Fail(s);
  }
  return 0;
}

int Offsets(const BrokerAddress& b, const std::string& topic, int32_t partition) {
  auto c = Connect(b);
  if (!c.ok()) return Fail(c.status());
  client::Admin admin(c->get());
  std::vector<int32_t> parts;
  if (partition >= 0) {
    parts.push_back(partition);
  } else {
    auto n = admin.PartitionCount(topic);
    if (!n.ok()) return Fail(n.status());
    for (int32_t p = 0; p < n.value(); p++) parts.push_back(p);
  }
  std::vector<std::pair<int64_t, int64_t>> rows;
  for (int32_t p : parts) {
    auto s = admin.ListOffset(topic, p, -2);
    if (!s.ok()) return Fail(s.status());
    auto e = admin.ListOffset(topic, p, -1);
    if (!e.ok()) return Fail(e.status());
    rows.emplace_back(s.value(), e.value());
  }
  fmt::print("{:>9} {:>16} {:>16}\n", "PARTITION", "LOG_START_OFFSET", "LOG_END_OFFSET");
  for (size_t i = 0; i < parts.size(); i++) {
    fmt::print("{:>9} {:>16} {:>16}\n", parts[i], rows[i].first, rows[i].second);
  }
  return 0;
}

int GroupCommit(const BrokerAddress& b, const std::string& group, const std::string& topic,
                int32_t partition, int64_t offset) {
  // In a cluster the group's coordinator keeps its offsets: go there.
  auto c = ConnectToCoordinator(b, group);
  if (!c.ok()) return Fail(c.status());
  client::Admin admin(c->get());
  Status s = admin.CommitOffset(group, topic, partition, offset);
  if (!s.ok()) return Fail(s);
  fmt::print("Committed offset {} for group {} on {}-{}.\n", offset, group, topic, partition);
  return 0;
}

int GroupFetch(const BrokerAddress& b, const std::string& group, const std::string& topic,
               int32_t partition) {
  auto c = ConnectToCoordinator(b, group);
  if (!c.ok()) return Fail(c.status());
  client::Admin admin(c->get());
  auto o = admin.FetchCommittedOffset(group, topic, partition);
  if (!o.ok()) return Fail(o.status());
  fmt::print("{}\n", o.value());
  if (o.value() < 0) {
    fmt::print(stderr, "(group {} has committed nothing for {}-{})\n", group, topic, partition);
  }
  return 0;
}

}  // namespace sentry::ctl
