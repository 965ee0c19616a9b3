#include "sentryd/broker_metrics.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "http/http_server.h"
#include "kafka/errors.h"
#include "metrics/exposition.h"
#include "metrics/thread_metrics.h"
#include "net/server.h"
#include "net/tls_context.h"
#include "protocol/errors.h"

namespace sentry::sentryd {

using metrics::Exposition;
using metrics::HistogramSnapshot;
using metrics::Label;
using Type = metrics::Exposition::Type;

namespace {

std::string Num(int64_t v) { return std::to_string(v); }

// Error code -> its name (the native protocol and Kafka share the numbers).
std::string ErrorLabel(int16_t code) {
  const char* name = protocol::ErrorName(code);
  if (name && std::string_view(name) != "UNKNOWN_ERROR_CODE") return name;
  // Codes only the Kafka listener answers (SASL: docs/security.md).
  switch (static_cast<kafka::ErrorCode>(code)) {
    case kafka::ErrorCode::kUnsupportedSaslMechanism: return "UNSUPPORTED_SASL_MECHANISM";
    case kafka::ErrorCode::kIllegalSaslState: return "ILLEGAL_SASL_STATE";
    case kafka::ErrorCode::kSaslAuthenticationFailed: return "SASL_AUTHENTICATION_FAILED";
    default: break;
  }
  return "code_" + std::to_string(code);
}

void WriteRequests(const BrokerView& v, Exposition* e) {
  // (listener, api) -> merged latency; (listener, api, error) -> count.
  std::map<std::pair<std::string, std::string>, HistogramSnapshot> latency;
  std::map<std::tuple<std::string, std::string, int16_t>, uint64_t> errors;
  for (const net::NetworkThread* n : v.nets) {
    n->metrics().ForEachRequest([&](const metrics::RequestKey& k, const auto& cell) {
      cell.latency.AddTo(&latency[{metrics::ListenerName(k.listener), std::string(k.api)}]);
    });
    n->metrics().ForEachError([&](const metrics::RequestKey& k, const auto& count) {
      errors[{metrics::ListenerName(k.listener), std::string(k.api), k.error}] +=
          count.load(std::memory_order_relaxed);
    });
  }
  e->Family("sentry_requests_total", Type::kCounter,
            "Requests answered (acks=0 produce: handled), by listener and API.");
  for (const auto& [k, h] : latency) {
    e->Sample("sentry_requests_total", {{"listener", k.first}, {"api", k.second}},
              static_cast<double>(h.count()));
  }
  e->Family("sentry_request_errors_total", Type::kCounter,
            "Error codes answered, one per failed partition or resource, by listener, API and "
            "error.");
  for (const auto& [k, n] : errors) {
    const std::string err = ErrorLabel(std::get<2>(k));
    e->Sample("sentry_request_errors_total",
              {{"listener", std::get<0>(k)}, {"api", std::get<1>(k)}, {"error", err}},
              static_cast<double>(n));
  }
  e->Family("sentry_request_duration_seconds", Type::kHistogram,
            "Time from taking a request to answering it, by listener and API (produce by acks).");
  for (const auto& [k, h] : latency) {
    e->Histogram("sentry_request_duration_seconds", {{"listener", k.first}, {"api", k.second}},
                 h);
  }
}

struct TopicTotals {
  uint64_t records_in = 0, bytes_in = 0, records_out = 0, bytes_out = 0;
};

void WriteTraffic(const BrokerView& v, const std::vector<std::shared_ptr<const broker::Topic>>& topics,
                  Exposition* e) {
  const bool by_partition = v.cfg->metrics_partition_level;
  // (topic, partition or -1) -> totals.
  std::map<std::pair<std::string, int32_t>, TopicTotals> totals;
  for (const auto& t : topics) {
    for (const auto& p : t->partitions) {
      TopicTotals& tt = totals[{t->name, by_partition ? p->index() : -1}];
      tt.records_in += p->records_in.load(std::memory_order_relaxed);
      tt.bytes_in += p->bytes_in.load(std::memory_order_relaxed);
    }
  }
  for (const net::NetworkThread* n : v.nets) {
    n->metrics().ForEachOut([&](const metrics::TopicPartition& k, const auto& c) {
      // Only topics that exist now (a deleted topic's series end with it).
      auto it = totals.find({k.topic, by_partition ? k.partition : -1});
      if (it == totals.end()) return;
      it->second.records_out += c.records.load(std::memory_order_relaxed);
      it->second.bytes_out += c.bytes.load(std::memory_order_relaxed);
    });
  }
  struct Family {
    const char* name;
    const char* help;
    uint64_t TopicTotals::*field;
  };
  static constexpr Family kFamilies[] = {
      {"sentry_records_in_total", "Records appended, by topic.", &TopicTotals::records_in},
      {"sentry_bytes_in_total", "Record batch bytes appended, by topic.", &TopicTotals::bytes_in},
      {"sentry_records_out_total", "Records sent to consumers, by topic.",
       &TopicTotals::records_out},
      {"sentry_bytes_out_total", "Record batch bytes sent to consumers, by topic.",
       &TopicTotals::bytes_out},
  };
  for (const Family& f : kFamilies) {
    e->Family(f.name, Type::kCounter, f.help);
    for (const auto& [k, tt] : totals) {
      const std::string part = Num(k.second);
      std::vector<Label> labels = {{"topic", k.first}};
      if (k.second >= 0) labels.emplace_back("partition", part);
      e->Sample(f.name, labels, static_cast<double>(tt.*f.field));
    }
  }
}

void WritePipeline(const BrokerView& v, Exposition* e) {
  const pipeline::Pipeline& p = *v.pipeline;
  e->Family("sentry_writer_queue_depth", Type::kGauge,
            "Write requests waiting in each writer thread's queue.");
  HistogramSnapshot wait;
  for (uint32_t w = 0; w < p.writer_count(); w++) {
    e->Sample("sentry_writer_queue_depth", {{"writer", Num(w)}},
              static_cast<double>(p.writer(w).depth()));
    p.writer(w).metrics().histogram().AddTo(&wait);
  }
  e->Family("sentry_writer_queue_wait_seconds", Type::kHistogram,
            "Time a write request waited in a writer queue (inline appends do not queue).");
  e->Histogram("sentry_writer_queue_wait_seconds", {}, wait);
  HistogramSnapshot sync;
  p.flusher().metrics().histogram().AddTo(&sync);
  e->Family("sentry_msync_duration_seconds", Type::kHistogram,
            "One partition's sync to disk (msync of the log, fdatasync of its indexes).");
  e->Histogram("sentry_msync_duration_seconds", {}, sync);

  const int64_t now = metrics::SteadyNanos();
  e->Family("sentry_thread_busy_seconds_total", Type::kCounter,
            "Time each thread spent not waiting for work; rate() is its busy ratio.");
  for (size_t i = 0; i < v.nets.size(); i++) {
    e->Sample("sentry_thread_busy_seconds_total", {{"thread", "network"}, {"index", Num(i)}},
              static_cast<double>(v.nets[i]->metrics().BusyNanos(now)) / 1e9);
  }
  for (uint32_t w = 0; w < p.writer_count(); w++) {
    e->Sample("sentry_thread_busy_seconds_total", {{"thread", "writer"}, {"index", Num(w)}},
              static_cast<double>(p.writer(w).metrics().BusyNanos(now)) / 1e9);
  }
}

void WriteLogs(const BrokerView& v, const std::vector<std::shared_ptr<const broker::Topic>>& topics,
               Exposition* e) {
  struct PartitionRow {
    std::string topic;
    broker::PartitionLogState s;
  };
  std::vector<PartitionRow> rows;
  for (const auto& t : topics) {
    std::vector<broker::PartitionLogState> parts;
    if (v.core->DescribeLog(t->name, &parts) != broker::Errc::kNone) continue;
    for (auto& s : parts) rows.push_back({t->name, s});
  }
  int64_t online = 0, offline = 0;
  std::map<std::string, std::pair<int64_t, int64_t>> per_topic;  // size, segments
  for (const auto& r : rows) {
    (r.s.offline ? offline : online)++;
    auto& pt = per_topic[r.topic];
    pt.first += r.s.size_bytes;
    pt.second += r.s.segments;
  }
  e->Family("sentry_partitions", Type::kGauge, "Partitions by state (offline: not served).");
  e->Sample("sentry_partitions", {{"state", "online"}}, static_cast<double>(online));
  e->Sample("sentry_partitions", {{"state", "offline"}}, static_cast<double>(offline));
  e->Family("sentry_partition_high_watermark", Type::kGauge,
            "The next offset to be written, for partitions holding data.");
  for (const auto& r : rows) {
    if (r.s.high_watermark == 0) continue;
    e->Sample("sentry_partition_high_watermark",
              {{"topic", r.topic}, {"partition", Num(r.s.index)}},
              static_cast<double>(r.s.high_watermark));
  }
  e->Family("sentry_partition_durable_lag_records", Type::kGauge,
            "High watermark minus durable offset (records not yet synced), for partitions "
            "holding data.");
  for (const auto& r : rows) {
    if (r.s.high_watermark == 0) continue;
    e->Sample("sentry_partition_durable_lag_records",
              {{"topic", r.topic}, {"partition", Num(r.s.index)}},
              static_cast<double>(std::max<int64_t>(0, r.s.high_watermark - r.s.durable_offset)));
  }
  e->Family("sentry_log_size_bytes", Type::kGauge, "Bytes of record batches on disk, by topic.");
  for (const auto& [t, pt] : per_topic) {
    e->Sample("sentry_log_size_bytes", {{"topic", t}}, static_cast<double>(pt.first));
  }
  e->Family("sentry_log_segments", Type::kGauge, "Log segments, by topic.");
  for (const auto& [t, pt] : per_topic) {
    e->Sample("sentry_log_segments", {{"topic", t}}, static_cast<double>(pt.second));
  }
}

void WriteGroups(const BrokerView& v, Exposition* e) {
  if (!v.groups) return;
  struct Row {
    std::string group, topic;
    int32_t partition;
    int64_t committed, lag;
  };
  std::vector<Row> rows;
  std::vector<std::pair<std::string, size_t>> members;
  for (const auto& g : v.groups->List()) {
    const group::GroupDescription d = v.groups->Describe(g.group_id);
    members.emplace_back(g.group_id, d.classic_members.size() + d.native_members.size());
    for (const auto& o : v.core->CommittedOffsetsOf(g.group_id)) {
      if (o.committed.offset < 0) continue;
      int64_t hwm = -1;
      if (auto t = v.core->FindTopic(o.topic);
          t && o.partition >= 0 && static_cast<size_t>(o.partition) < t->partitions.size()) {
        hwm = t->partitions[static_cast<size_t>(o.partition)]->log()->high_watermark();
      }
      rows.push_back({g.group_id, o.topic, o.partition, o.committed.offset,
                      hwm < 0 ? -1 : std::max<int64_t>(0, hwm - o.committed.offset)});
    }
  }
  e->Family("sentry_consumer_group_members", Type::kGauge, "Members of each consumer group.");
  for (const auto& [g, n] : members) {
    e->Sample("sentry_consumer_group_members", {{"group", g}}, static_cast<double>(n));
  }
  e->Family("sentry_consumer_group_committed_offset", Type::kGauge,
            "Committed offset of each group, topic and partition.");
  for (const auto& r : rows) {
    e->Sample("sentry_consumer_group_committed_offset",
              {{"group", r.group}, {"topic", r.topic}, {"partition", Num(r.partition)}},
              static_cast<double>(r.committed));
  }
  e->Family("sentry_consumer_group_lag", Type::kGauge,
            "High watermark minus committed offset, by group, topic and partition.");
  for (const auto& r : rows) {
    if (r.lag < 0) continue;  // the topic is gone
    e->Sample("sentry_consumer_group_lag",
              {{"group", r.group}, {"topic", r.topic}, {"partition", Num(r.partition)}},
              static_cast<double>(r.lag));
  }
}

void WriteHost(const BrokerView& v, Exposition* e) {
  const RecoveryFacts& r = v.recovery;
  e->Family("sentry_recovery_duration_seconds", Type::kGauge,
            "Time the start-up load of every log took.");
  e->Sample("sentry_recovery_duration_seconds", {}, static_cast<double>(r.duration_ms) / 1000.0);
  e->Family("sentry_recovery_segments_walked", Type::kGauge,
            "Segments validated batch by batch at start-up.");
  e->Sample("sentry_recovery_segments_walked", {}, static_cast<double>(r.segments_walked));
  e->Family("sentry_recovery_truncations", Type::kGauge,
            "Torn or corrupt log tails cut at start-up.");
  e->Sample("sentry_recovery_truncations", {}, static_cast<double>(r.truncations));
  e->Family("sentry_recovery_clean_shutdown", Type::kGauge, "1 when the last stop was clean.");
  e->Sample("sentry_recovery_clean_shutdown", {}, r.clean_shutdown ? 1 : 0);

  e->Family("sentry_connections", Type::kGauge, "Open connections, by listener.");
  for (const ListenerView& l : v.listeners) {
    const double open = l.server ? static_cast<double>(l.server->open_connections())
                        : v.http  ? static_cast<double>(v.http->open_connections())
                                  : 0;
    e->Sample("sentry_connections", {{"listener", l.name}}, open);
  }
  e->Family("sentry_connections_accepted_total", Type::kCounter,
            "Connections accepted, by listener.");
  for (const ListenerView& l : v.listeners) {
    const double n = l.server ? static_cast<double>(l.server->accepted_connections())
                     : v.http  ? static_cast<double>(v.http->accepted_connections())
                               : 0;
    e->Sample("sentry_connections_accepted_total", {{"listener", l.name}}, n);
  }
  bool tls_family = false;
  for (const ListenerView& l : v.listeners) {
    const net::TlsContext* tls = l.tls;
    if (!tls) continue;
    if (!tls_family) {
      e->Family("sentry_tls_handshakes_total", Type::kCounter,
                "TLS handshakes, by listener and result (failed: refused, broken or not done "
                "within 10 s).");
      tls_family = true;
    }
    e->Sample("sentry_tls_handshakes_total", {{"listener", l.name}, {"result", "ok"}},
              static_cast<double>(tls->handshakes.load(std::memory_order_relaxed)));
    e->Sample("sentry_tls_handshakes_total", {{"listener", l.name}, {"result", "failed"}},
              static_cast<double>(tls->handshake_failures.load(std::memory_order_relaxed)));
  }
  if (tls_family) {
    e->Family("sentry_tls_certificate_reloads_total", Type::kCounter,
              "Successful reloads of the TLS certificates (SIGHUP or a changed file).");
    for (const ListenerView& l : v.listeners) {
      const net::TlsContext* tls = l.tls;
      if (!tls) continue;
      e->Sample("sentry_tls_certificate_reloads_total", {{"listener", l.name}},
                static_cast<double>(tls->reloads.load(std::memory_order_relaxed)));
    }
  }
  if (const security::Authorizer* a = v.authorizer) {
    e->Family("sentry_authorizer_decisions_total", Type::kCounter,
              "Authorization decisions on every listener (authorizer.enabled), by result; a "
              "denied one is a request, or part of one, refused by the ACLs.");
    e->Sample("sentry_authorizer_decisions_total", {{"result", "allowed"}},
              static_cast<double>(a->stats().allowed.load(std::memory_order_relaxed)));
    e->Sample("sentry_authorizer_decisions_total", {{"result", "denied"}},
              static_cast<double>(a->stats().denied.load(std::memory_order_relaxed)));
    e->Family("sentry_authorizer_acls", Type::kGauge, "ACLs the broker holds.");
    e->Sample("sentry_authorizer_acls", {},
              static_cast<double>(a->List(security::AclFilter{}).size()));
  }
  struct statvfs fs {};
  if (::statvfs(v.cfg->data_dir.c_str(), &fs) == 0) {
    e->Family("sentry_disk_free_bytes", Type::kGauge,
              "Free bytes of the data directory's file system (for unprivileged users).");
    e->Sample("sentry_disk_free_bytes", {{"dir", v.cfg->data_dir}},
              static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize));
    e->Family("sentry_disk_total_bytes", Type::kGauge,
              "Size of the data directory's file system.");
    e->Sample("sentry_disk_total_bytes", {{"dir", v.cfg->data_dir}},
              static_cast<double>(fs.f_blocks) * static_cast<double>(fs.f_frsize));
  }
  if (v.http) {
    e->Family("sentry_http_requests_total", Type::kCounter, "HTTP answers, by status code.");
    for (const auto& [code, n] : v.http->responses()) {
      e->Sample("sentry_http_requests_total", {{"code", Num(code)}}, static_cast<double>(n));
    }
  }
}

}  // namespace

// Cluster mode (docs/cluster.md): brokers, the controller, and the
// partitions this broker leads, by replication state (Kafka's
// UnderReplicatedPartitions and OfflinePartitionsCount, per broker).
void WriteCluster(const BrokerView& v, const std::vector<std::shared_ptr<const broker::Topic>>& topics,
                  Exposition* e) {
  broker::ClusterHooks* cluster = v.core->cluster();
  if (!cluster) return;
  const int32_t me = v.core->identity().broker_id;
  e->Family("sentry_cluster_brokers", Type::kGauge, "Live brokers of the cluster (etcd sessions).");
  e->Sample("sentry_cluster_brokers", {}, static_cast<double>(cluster->Brokers().size()));
  e->Family("sentry_cluster_controller", Type::kGauge, "1 when this broker is the controller.");
  e->Sample("sentry_cluster_controller", {}, cluster->ControllerId() == me ? 1 : 0);
  int64_t leading = 0, under = 0, offline = 0, following = 0;
  for (const auto& t : topics) {
    for (const auto& p : t->partitions) {
      auto l = cluster->Leadership(t->name, p->index());
      if (!l) continue;
      const bool replica = std::find(l->replicas.begin(), l->replicas.end(), me) != l->replicas.end();
      if (l->leader < 0) {
        // Counted by the first replica only, so a sum over brokers is right.
        if (!l->replicas.empty() && l->replicas.front() == me) offline++;
      } else if (l->leader == me) {
        leading++;
        if (l->isr.size() < l->replicas.size()) under++;
      } else if (replica) {
        following++;
      }
    }
  }
  e->Family("sentry_cluster_partitions", Type::kGauge,
            "Partitions by this broker's role: leader, follower; offline ones (no leader) are "
            "counted by their first replica.");
  e->Sample("sentry_cluster_partitions", {{"role", "leader"}}, static_cast<double>(leading));
  e->Sample("sentry_cluster_partitions", {{"role", "follower"}}, static_cast<double>(following));
  e->Sample("sentry_cluster_partitions", {{"role", "offline"}}, static_cast<double>(offline));
  e->Family("sentry_cluster_under_replicated_partitions", Type::kGauge,
            "Partitions this broker leads whose ISR is smaller than their replicas.");
  e->Sample("sentry_cluster_under_replicated_partitions", {}, static_cast<double>(under));
}

std::string BrokerMetricsText(const BrokerView& v, bool ready) {
  Exposition e;
  e.Family("sentry_build_info", Type::kGauge, "The running build: version and git commit.");
  e.Sample("sentry_build_info", {{"version", BuildVersion()}, {"commit", BuildCommit()}}, 1);
  e.Family("sentry_start_time_seconds", Type::kGauge, "Unix time sentryd started.");
  e.Sample("sentry_start_time_seconds", {}, static_cast<double>(v.start_wall_ms) / 1000.0);
  if (v.age_clock != nullptr) {
    // Read now (a scrape notices a jump before the next retention pass).
    (void)v.age_clock->Now();
    e.Family("sentry_wall_clock_ahead_seconds", Type::kGauge,
             "How far the wall clock runs ahead of where the monotonic clock puts it while a "
             "forward jump is held back (retention ages data by the monotonic rate); 0 normally.");
    e.Sample("sentry_wall_clock_ahead_seconds", {},
             static_cast<double>(v.age_clock->ahead_ms()) / 1000.0);
  }
  e.Family("sentry_ready", Type::kGauge,
           "1 once recovery finished and the listeners are up (GET /health/ready).");
  e.Sample("sentry_ready", {}, ready ? 1 : 0);
  if (!ready) return e.Take();
  const auto topics = v.registry->List();
  WriteRequests(v, &e);
  WriteTraffic(v, topics, &e);
  WritePipeline(v, &e);
  WriteLogs(v, topics, &e);
  WriteCluster(v, topics, &e);
  WriteGroups(v, &e);
  WriteHost(v, &e);
  return e.Take();
}

}  // namespace sentry::sentryd
