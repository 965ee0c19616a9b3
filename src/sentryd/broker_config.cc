#include "sentryd/broker_config.h"

#include "security/authorizer.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <map>
#include <toml++/toml.h>
#include <vector>

namespace sentry::sentryd {

using broker::TopicConfig;
using broker::TopicConfigKeys;

namespace {

// One setting: its name, default (for --help), and how to apply a value.
struct Setting {
  std::string name;
  std::string help;
  std::string def;
  std::function<Status(const std::string&)> apply;
};

Status ParseInt(const std::string& key, const std::string& v, int64_t lo, int64_t hi,
                int64_t* out) {
  try {
    size_t used = 0;
    long long x = std::stoll(v, &used);
    if (used != v.size()) throw std::invalid_argument(v);
    if (x < lo || x > hi) {
      return Status::InvalidArgument(fmt::format("{}: {} is outside [{}, {}]", key, x, lo, hi));
    }
    *out = x;
    return Status::OK();
  } catch (const std::exception&) {
    return Status::InvalidArgument(fmt::format("{}: '{}' is not an integer", key, v));
  }
}

std::vector<Setting> MakeSettings(BrokerConfig* c) {
  std::vector<Setting> s;
  auto add_int = [&](std::string name, std::string help, int64_t* field, int64_t lo,
                     int64_t hi) {
    s.push_back({name, help, std::to_string(*field), [=](const std::string& v) {
                   return ParseInt(name, v, lo, hi, field);
                 }});
  };
  auto add_small = [&](std::string name, std::string help, int* field, int lo, int hi) {
    s.push_back({name, help, std::to_string(*field), [=](const std::string& v) {
                   int64_t x;
                   SENTRY_RETURN_IF_ERROR(ParseInt(name, v, lo, hi, &x));
                   *field = static_cast<int>(x);
                   return Status::OK();
                 }});
  };
  s.push_back({"data-dir", "data directory (Kafka: log.dirs)", c->data_dir,
               [c](const std::string& v) {
                 if (v.empty()) return Status::InvalidArgument("data-dir: empty path");
                 c->data_dir = v;
                 return Status::OK();
               }});
  s.push_back({"host", "address to listen on", c->host, [c](const std::string& v) {
                 c->host = v;
                 return Status::OK();
               }});
  add_small("port", "TCP port for clients (0 = pick a free port and log it)", &c->port, 0, 65535);
  add_small("kafka.port",
            "TCP port of the Apache Kafka protocol listener (0 = pick a free port and log it, "
            "-1 = off)",
            &c->kafka_port, -1, 65535);
  s.push_back({"advertised.host",
               "host name clients are told to connect to (Kafka METADATA); default: the listen "
               "address, 127.0.0.1 when that is 0.0.0.0",
               c->advertised_host, [c](const std::string& v) {
                 c->advertised_host = v;
                 return Status::OK();
               }});
  s.push_back({"auto.create.topics.enable",
               "create a topic a Kafka client asks METADATA about when it does not exist",
               c->auto_create_topics ? "true" : "false", [c](const std::string& v) {
                 if (v != "true" && v != "false") {
                   return Status::InvalidArgument("auto.create.topics.enable: '" + v +
                                                  "' is not true or false");
                 }
                 c->auto_create_topics = v == "true";
                 return Status::OK();
               }});
  s.push_back({"num.partitions",
               "partitions of an auto-created topic, or of a Kafka CreateTopics with -1",
               std::to_string(c->num_partitions), [c](const std::string& v) {
                 int64_t x;
                 SENTRY_RETURN_IF_ERROR(ParseInt("num.partitions", v, 1, 100000, &x));
                 c->num_partitions = static_cast<int32_t>(x);
                 return Status::OK();
               }});
  s.push_back({"broker.id", "id reported in METADATA", std::to_string(c->broker_id),
               [c](const std::string& v) {
                 int64_t x;
                 SENTRY_RETURN_IF_ERROR(ParseInt("broker.id", v, 0, INT32_MAX, &x));
                 c->broker_id = static_cast<int32_t>(x);
                 return Status::OK();
               }});
  auto add_bool = [&s](const std::string& name, const std::string& help, bool* field) {
    s.push_back({name, help, *field ? "true" : "false", [field, name](const std::string& v) {
                   if (v != "true" && v != "false") {
                     return Status::InvalidArgument(name + ": '" + v + "' is not true or false");
                   }
                   *field = v == "true";
                   return Status::OK();
                 }});
  };
  auto add_sasl = [&s](const char* name, const char* help, bool* field) {
    s.push_back({name, help, *field ? "required" : "none", [name, field](const std::string& v) {
                   if (v != "none" && v != "required") {
                     return Status::InvalidArgument(std::string(name) + ": '" + v +
                                                    "' is not none or required");
                   }
                   *field = v == "required";
                   return Status::OK();
                 }});
  };
  add_sasl("kafka.sasl",
           "none | required: whether the Kafka listeners demand SASL authentication "
           "(SASL_PLAINTEXT / SASL_SSL; docs/security.md)",
           &c->kafka_sasl_required);
  add_sasl("native.sasl",
           "none | required: whether the native listeners demand SASL authentication "
           "(AUTHENTICATE, docs/protocol.md; docs/security.md)",
           &c->native_sasl_required);
  s.push_back({"sasl.mechanisms",
               "SASL mechanisms offered, comma-separated: SCRAM-SHA-256, SCRAM-SHA-512, PLAIN "
               "(PLAIN only on a TLS listener unless sasl.plain.allow.plaintext)",
               "SCRAM-SHA-256,SCRAM-SHA-512", [c](const std::string& v) {
                 std::vector<std::string> list;
                 size_t from = 0;
                 while (from <= v.size()) {
                   size_t comma = v.find(',', from);
                   if (comma == std::string::npos) comma = v.size();
                   std::string m = v.substr(from, comma - from);
                   if (m != "SCRAM-SHA-256" && m != "SCRAM-SHA-512" && m != "PLAIN") {
                     return Status::InvalidArgument("sasl.mechanisms: '" + m +
                                                    "' is not SCRAM-SHA-256, SCRAM-SHA-512 or "
                                                    "PLAIN");
                   }
                   list.push_back(m);
                   from = comma + 1;
                 }
                 c->sasl_mechanisms = std::move(list);
                 return Status::OK();
               }});
  add_bool("sasl.plain.allow.plaintext",
           "offer SASL PLAIN (passwords in the clear) on plaintext listeners too; without it "
           "PLAIN is offered on TLS listeners only",
           &c->sasl_plain_allow_plaintext);
  add_bool("authorizer.enabled",
           "check every request on every listener against the ACLs (docs/security.md); "
           "nothing is allowed without an ACL but to super.users",
           &c->authorizer_enabled);
  s.push_back({"super.users",
               "principals allowed everything whatever the ACLs say, e.g. User:admin; separated "
               "by ';' (or ',' when no principal holds a comma)",
               c->super_users, [c](const std::string& v) {
                 for (const auto& p : security::Authorizer::ParseSuperUsers(v)) {
                   const size_t colon = p.find(':');
                   if (colon == std::string::npos || colon == 0 || colon + 1 == p.size()) {
                     return Status::InvalidArgument("super.users: '" + p +
                                                    "' is not a principal like User:admin");
                   }
                 }
                 c->super_users = v;
                 return Status::OK();
               }});
  add_int("connections.max.reauth.ms",
          "SASL sessions on the Kafka listeners last this long: clients re-authenticate on the "
          "same connection (KIP-368) or are disconnected at their next request; 0 = forever",
          &c->connections_max_reauth_ms, 0, INT64_C(1) << 40);
  add_small("kafka.tls.port",
            "TCP port of a second Kafka listener that speaks TLS (SSL, or SASL_SSL with "
            "kafka.sasl=required); -1 = off, 0 = pick a free port and log it",
            &c->kafka_tls_port, -1, 65535);
  add_small("native.tls.port",
            "TCP port of a second native-protocol listener that speaks TLS; -1 = off, 0 = pick "
            "a free port and log it",
            &c->native_tls_port, -1, 65535);
  add_bool("http.tls",
           "serve the HTTP listener (metrics, admin API, dashboard) over TLS only, with "
           "tls.cert.file / tls.key.file",
           &c->http_tls);
  auto add_path = [&s](const std::string& name, const std::string& help, std::string* field) {
    s.push_back({name, help, *field, [field](const std::string& v) {
                   *field = v;
                   return Status::OK();
                 }});
  };
  add_path("tls.cert.file",
           "PEM file: the TLS listeners' certificate, then any intermediates (reloaded on "
           "SIGHUP or when it changes)",
           &c->tls_cert_file);
  add_path("tls.key.file", "PEM file: the private key of tls.cert.file (unencrypted)",
           &c->tls_key_file);
  add_path("tls.ca.file", "PEM file: the CAs client certificates must chain to",
           &c->tls_ca_file);
  s.push_back({"tls.client.auth",
               "none | requested | required: whether TLS clients are asked for a certificate "
               "(its subject becomes the principal, User:CN=...)",
               c->tls_client_auth, [c](const std::string& v) {
                 if (v != "none" && v != "requested" && v != "required") {
                   return Status::InvalidArgument("tls.client.auth: '" + v +
                                                  "' is not none, requested or required");
                 }
                 c->tls_client_auth = v;
                 return Status::OK();
               }});
  s.push_back({"cluster.etcd",
               "etcd endpoints (http://host:port, comma-separated) of the cluster this broker "
               "joins; empty = a single-node broker (docs/cluster.md)",
               c->cluster_etcd, [c](const std::string& v) {
                 c->cluster_etcd = v;
                 return Status::OK();
               }});
  s.push_back({"cluster.name", "the cluster's name: its keys in etcd live under /sentry/<name>/",
               c->cluster_name, [c](const std::string& v) {
                 if (v.empty() || v.find('/') != std::string::npos) {
                   return Status::InvalidArgument("cluster.name: empty or holds '/'");
                 }
                 c->cluster_name = v;
                 return Status::OK();
               }});
  add_int("broker.session.timeout.ms",
          "a broker that has not renewed its etcd session for this long is dead to the cluster "
          "(its partitions get new leaders)",
          &c->broker_session_timeout_ms, 1000, 3600000);
  add_int("cluster.poll.ms", "how often the cluster state is read from etcd",
          &c->cluster_poll_ms, 10, 60000);
  add_int("replica.lag.time.max.ms",
          "a follower not caught up with its leader for this long leaves the ISR",
          &c->replica_lag_time_max_ms, 100, INT64_MAX);
  add_int("replica.fetch.wait.max.ms", "how long a follower's fetch waits at the leader for data",
          &c->replica_fetch_wait_max_ms, 0, 60000);
  add_int("replica.fetch.max.bytes", "bytes a follower fetches per partition and request",
          &c->replica_fetch_max_bytes, 1024, 1 << 30);
  add_bool("replica.sync.before.ack",
           "a follower msyncs what it fetched before it fetches on (before the leader counts "
           "it), so acks=-1 means durable on every in-sync replica",
           &c->replica_sync_before_ack);
  add_bool("unclean.leader.election.enable",
           "elect a replica outside the ISR when no in-sync replica is alive (may lose "
           "acknowledged records)",
           &c->unclean_leader_election);
  add_int("default.replication.factor",
          "replicas of a topic created without a replication factor (cluster mode)",
          &c->default_replication_factor, 1, 0x7FFF);
  add_int("offsets.topic.replication.factor",
          "replicas of the offsets log (__consumer_offsets, cluster mode); the controller "
          "creates it once this many brokers are alive, and until then groups have no "
          "coordinator",
          &c->offsets_topic_replication_factor, 1, 0x7FFF);
  add_int("offsets.topic.num.partitions",
          "partitions of the offsets log in cluster mode; a group is coordinated by the "
          "leader of the partition its id hashes to. Must be the same on every broker of a "
          "cluster (a broker whose count differs from the cluster's coordinates no group). "
          "A single broker keeps one partition",
          &c->offsets_topic_num_partitions, 1, 1000);
  add_small("num.network.threads", "epoll network threads", &c->num_network_threads, 1, 64);
  add_small("num.writer.threads", "partition writer threads", &c->num_writer_threads, 1, 64);
  add_int("queued.max.requests", "capacity of each writer queue", &c->queued_max_requests, 64,
          1 << 22);
  // Kafka's broker-level names for the topic defaults retention.ms and
  // retention.bytes (which set the same defaults under the topic names).
  add_int("log.retention.ms", "default retention.ms of topics (Kafka's broker name)",
          &c->topic_defaults.retention_ms, -1, INT64_MAX);
  add_int("log.retention.bytes", "default retention.bytes of topics (Kafka's broker name)",
          &c->topic_defaults.retention_bytes, -1, INT64_MAX);
  add_int("log.retention.check.interval.ms",
          "how often each topic's retention.ms / retention.bytes is applied (whole sealed "
          "segments are deleted); the first check runs one interval after start",
          &c->log_retention_check_interval_ms, 1, INT64_MAX);
  add_small("log.cleaner.threads",
            "threads compacting topics with cleanup.policy=compact (lowest CPU and I/O "
            "priority; 0 = no compaction)",
            &c->log_cleaner_threads, 0, 64);
  add_int("offsets.topic.segment.bytes",
          "segment size of the internal offsets log (compacted like any compacted topic: "
          "smaller segments are compacted sooner, so a restart replays less)",
          &c->offsets_topic_segment_bytes, 1024, 0x7FFFFFFF);
  add_int("log.cleaner.backoff.ms", "how long a cleaner thread sleeps when nothing is due",
          &c->log_cleaner_backoff_ms, 1, INT64_MAX);
  add_int("log.cleaner.dedupe.buffer.size",
          "memory for the cleaners' key maps, all threads together (24 bytes per key; a "
          "pass whose map fills ends there and the next goes on)",
          &c->log_cleaner_dedupe_buffer_size, 1 << 16, 1LL << 40);
  add_int("pipeline.inline.append.max.bytes",
          "a network thread appends a write of at most this many bytes itself when its "
          "partition is idle and no file-system call is needed, instead of handing it to "
          "the writer thread (0 = always the writer)",
          &c->inline_append_max_bytes, 0, 1 << 30);
  add_int("max.frame.bytes", "largest request frame accepted", &c->max_frame_bytes, 1024,
          1LL << 30);
  add_int("max.connections", "connections accepted at once", &c->max_connections, 1,
          1 << 20);
  add_int("max.in.flight.requests.per.connection",
          "requests of one connection being processed before it stops being read",
          &c->max_inflight_per_connection, 1, 1 << 20);
  add_int("connection.max.output.bytes",
          "unsent response bytes of one connection before it stops being read",
          &c->max_output_bytes_per_connection, 1 << 16, 1LL << 32);
  add_int("connections.max.idle.ms", "idle connections are closed after this",
          &c->connections_max_idle_ms, 1000, INT64_MAX);
  add_int("group.initial.rebalance.delay.ms",
          "how long the first rebalance of an empty classic group waits for more members",
          &c->group_initial_rebalance_delay_ms, 0, 600000);
  add_int("group.min.session.timeout.ms", "smallest session.timeout.ms a Kafka consumer may ask",
          &c->group_min_session_timeout_ms, 1, 3600000);
  add_int("group.max.session.timeout.ms", "largest session.timeout.ms a Kafka consumer may ask",
          &c->group_max_session_timeout_ms, 1, 3600000);
  add_int("group.max.size", "members of one consumer group at most", &c->group_max_size, 1,
          INT32_MAX);
  add_int("group.consumer.session.timeout.ms",
          "native groups: a member that sent no heartbeat for this long is removed",
          &c->group_consumer_session_timeout_ms, 1000, 3600000);
  add_int("group.consumer.heartbeat.interval.ms",
          "native groups: how often members are told to send a heartbeat",
          &c->group_consumer_heartbeat_interval_ms, 100, 3600000);
  add_int("offsets.retention.minutes",
          "committed offsets of a group without members expire after this (counted from the "
          "last commit and from when the group became empty; 0: at the next check)",
          &c->offsets_retention_minutes, 0, 1LL << 40);
  add_int("offsets.retention.check.interval.ms", "how often offsets are checked for expiry",
          &c->offsets_retention_check_interval_ms, 100, INT64_MAX);
  add_int("shutdown.grace.ms",
          "on SIGTERM, how long requests in flight may take to be answered before the "
          "connections close (what they wrote is kept either way)",
          &c->shutdown_grace_ms, 0, 600000);
  add_int("network.poll.spin.us",
          "network threads busy-poll this long after activity before sleeping (0 = never): "
          "more throughput for small requests, some CPU",
          &c->network_poll_spin_us, 0, 10000);
  add_small("realtime.priority",
            "SCHED_FIFO priority (1-99) of the network and writer threads, for a steadier "
            "latency tail on a busy machine; 0 = normal scheduling. Start-up fails when it "
            "cannot be set (needs CAP_SYS_NICE or RLIMIT_RTPRIO)",
            &c->realtime_priority, 0, 99);
  add_int("max.partitions", "largest partition count of one topic", &c->max_partitions, 1,
          100000);
  add_int("stats.interval.ms", "period of the stats log line (0 = off)", &c->stats_interval_ms,
          0, INT64_MAX);
  s.push_back({"log.level", "trace, debug, info, warn, error", c->log_level,
               [c](const std::string& v) {
                 static const char* ok[] = {"trace", "debug", "info", "warn", "error"};
                 for (const char* o : ok) {
                   if (v == o) {
                     c->log_level = v;
                     return Status::OK();
                   }
                 }
                 return Status::InvalidArgument("log.level: '" + v + "' is not a level");
               }});
  s.push_back({"log.format",
               "text (for people) or json (one JSON object per line, for log shippers)",
               c->log_format, [c](const std::string& v) {
                 if (v != "text" && v != "json") {
                   return Status::InvalidArgument("log.format: '" + v +
                                                  "' is not text or json");
                 }
                 c->log_format = v;
                 return Status::OK();
               }});
  add_small("http.port",
            "TCP port of the HTTP listener: dashboard (/), Prometheus metrics (/metrics), admin "
            "API (/v1/...), health probes (0 = pick a free port and log it, -1 = off)",
            &c->http_port, -1, 65535);
  s.push_back({"http.host", "address of the HTTP listener (default: the value of host)",
               c->http_host, [c](const std::string& v) {
                 c->http_host = v;
                 return Status::OK();
               }});
  add_int("http.max.connections",
          "open HTTP connections at most; more are answered 503 and closed",
          &c->http_max_connections, 1, 100000);
  add_int("http.request.timeout.ms",
          "an HTTP request must arrive whole within this time (slow clients are closed), and "
          "an idle keep-alive connection is closed after it",
          &c->http_request_timeout_ms, 100, 3600000);
  s.push_back({"metrics.partition.level",
               "label the records/bytes in/out metrics by partition too (many series with many "
               "partitions)",
               "false", [c](const std::string& v) {
                 if (v != "true" && v != "false") {
                   return Status::InvalidArgument("metrics.partition.level: '" + v +
                                                  "' is not true or false");
                 }
                 c->metrics_partition_level = v == "true";
                 return Status::OK();
               }});
  add_int("storage.min.free.bytes",
          "refuse produce (KAFKA_STORAGE_ERROR) rather than leave less free disk than this",
          &c->min_free_bytes, 0, INT64_MAX);
  s.push_back({"storage.drop.behind.bytes",
               "per partition, keep this many bytes behind the write position in the page "
               "cache; older pages are written back and dropped so their memory is reused, "
               "and a reader behind that window has its reads started ahead (0 = leave "
               "caching to the kernel, as Kafka does; else >= 33554432)",
               std::to_string(c->drop_behind_bytes), [c](const std::string& v) {
                 int64_t x;
                 SENTRY_RETURN_IF_ERROR(ParseInt("storage.drop.behind.bytes", v, 0, INT64_MAX, &x));
                 if (x != 0 && x < (32 << 20)) {
                   return Status::InvalidArgument(
                       "storage.drop.behind.bytes: " + v +
                       " is under 33554432 (two 16 MiB allocation steps); use 0 to turn it off");
                 }
                 c->drop_behind_bytes = x;
                 return Status::OK();
               }});
  add_int("storage.prefault.max.bytes",
          "memory the prefaulter may populate ahead of all writers together (pages ahead of "
          "each written partition, at most as much as it holds, at most 4 MiB); past it, "
          "writers fault their own pages",
          &c->prefault_max_bytes, 0, INT64_MAX);
  add_int("log.flush.offset.checkpoint.interval.ms",
          "how often rolled segments are synced and the recovery checkpoint written",
          &c->checkpoint_interval_ms, 100, INT64_MAX);
  s.push_back({"recovery.truncate.corrupt",
               "at start, truncate a partition at a corrupt synced batch (DATA LOSS) instead "
               "of taking it offline",
               "false", [c](const std::string& v) {
                 if (v != "true" && v != "false") {
                   return Status::InvalidArgument("recovery.truncate.corrupt: '" + v +
                                                  "' is not true or false");
                 }
                 c->recovery_truncate_corrupt = v == "true";
                 return Status::OK();
               }});
  for (const char* const* k = TopicConfigKeys(); *k; k++) {
    std::string key = *k;
    TopicConfig* t = &c->topic_defaults;
    s.push_back({key, "default for topics (topic config " + key + ")", t->ToMap()[key],
                 [t, key](const std::string& v) { return t->Set(key, v); }});
  }
  return s;
}

// Flattens nested TOML tables into dotted keys: [segment] bytes = 1 and
// "segment.bytes" = 1 both give segment.bytes.
void Flatten(const toml::table& t, const std::string& prefix,
             std::map<std::string, std::string>* out, std::vector<std::string>* errors) {
  for (auto&& [k, node] : t) {
    std::string key = prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    if (auto* sub = node.as_table()) {
      Flatten(*sub, key, out, errors);
    } else if (auto* i = node.as_integer()) {
      (*out)[key] = std::to_string(i->get());
    } else if (auto* str = node.as_string()) {
      (*out)[key] = str->get();
    } else if (auto* b = node.as_boolean()) {
      (*out)[key] = b->get() ? "true" : "false";
    } else {
      errors->push_back(key + ": unsupported TOML value type");
    }
  }
}

// Every setting as a commented TOML line under its help: integers and
// booleans bare, everything else a string (the reader accepts a string for
// any setting).
std::string ConfigTemplate(const std::vector<Setting>& settings) {
  std::string out =
      "# sentryd settings. Every setting is listed with its default, commented out;\n"
      "# uncomment a line to change it. Flags on the command line override this file.\n"
      "# Topic settings here are the defaults of new topics.\n";
  for (const Setting& s : settings) {
    bool bare = s.def == "true" || s.def == "false";
    if (!bare && !s.def.empty()) {
      size_t i = s.def[0] == '-' ? 1 : 0;
      bare = i < s.def.size() && s.def.find_first_not_of("0123456789", i) == std::string::npos;
    }
    std::string value = bare ? s.def : "\"" + s.def + "\"";
    out += "\n# " + s.help + "\n# \"" + s.name + "\" = " + value + "\n";
  }
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> BrokerConfig::Describe() const {
  BrokerConfig copy = *this;
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& s : MakeSettings(&copy)) out.emplace_back(s.name, s.def);
  return out;
}

bool BrokerConfig::Parse(int argc, char** argv, BrokerConfig* out, int* exit_code) {
  *out = BrokerConfig{};
  std::vector<Setting> settings = MakeSettings(out);
  CLI::App app{"sentryd: the Sentry message broker"};
  app.get_formatter()->column_width(44);
  std::map<std::string, std::string> flag_values;
  std::string config_file;
  app.add_option("--config", config_file, "TOML file with settings (flags override it)");
  bool print_config = false;
  app.add_flag("--print-config", print_config,
               "print every setting with its help and default as a commented TOML file, and exit");
  for (auto& s : settings) {
    app.add_option("--" + s.name, flag_values[s.name], s.help)->default_str(s.def);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    *exit_code = app.exit(e);
    if (*exit_code != 0) *exit_code = 2;
    return false;
  }
  if (print_config) {
    std::cout << ConfigTemplate(settings);
    *exit_code = 0;
    return false;
  }
  std::map<std::string, std::string> file_values;
  if (!config_file.empty()) {
    try {
      toml::table t = toml::parse_file(config_file);
      std::vector<std::string> errors;
      Flatten(t, "", &file_values, &errors);
      if (!errors.empty()) {
        std::cerr << "sentryd: " << config_file << ": " << errors.front() << "\n";
        *exit_code = 2;
        return false;
      }
    } catch (const toml::parse_error& e) {
      std::cerr << "sentryd: cannot read config file " << config_file << ": " << e.description()
                << " (line " << e.source().begin.line << ")\n";
      *exit_code = 2;
      return false;
    }
    for (auto& [k, v] : file_values) {
      bool known = false;
      for (auto& s : settings) known |= s.name == k;
      if (!known) {
        std::cerr << "sentryd: " << config_file << ": unknown setting '" << k << "'\n";
        *exit_code = 2;
        return false;
      }
    }
  }
  for (auto& s : settings) {
    const std::string* v = nullptr;
    if (app.get_option("--" + s.name)->count() > 0) {
      v = &flag_values[s.name];
    } else if (auto it = file_values.find(s.name); it != file_values.end()) {
      v = &it->second;
    }
    if (!v) continue;
    Status st = s.apply(*v);
    if (!st.ok()) {
      std::cerr << "sentryd: bad setting " << st.message() << "\n";
      *exit_code = 2;
      return false;
    }
  }
  if (out->authorizer_enabled && !out->cluster_etcd.empty()) {
    // ACLs live in one broker's data dir; a cluster would need them in etcd.
    std::cerr << "sentryd: authorizer.enabled is not supported in cluster mode yet (ACLs are "
                 "not replicated)\n";
    *exit_code = 2;
    return false;
  }
  if (out->kafka_sasl_required && !out->cluster_etcd.empty()) {
    // Replica fetchers reach the leaders' Kafka listeners and do not
    // authenticate yet: replication would stop (docs/security.md).
    std::cerr << "sentryd: kafka.sasl=required is not supported in cluster mode yet (replica "
                 "fetchers do not authenticate)\n";
    *exit_code = 2;
    return false;
  }
  if (out->native_sasl_required && !out->cluster_etcd.empty()) {
    // The credentials live in one broker's data dir; a cluster would need
    // them in etcd.
    std::cerr << "sentryd: native.sasl=required is not supported in cluster mode yet "
                 "(credentials are not replicated)\n";
    *exit_code = 2;
    return false;
  }
  const bool tls = out->kafka_tls_port >= 0 || out->native_tls_port >= 0;
  std::string bad;
  if ((tls || out->http_tls) && (out->tls_cert_file.empty() || out->tls_key_file.empty())) {
    bad = "kafka.tls.port / native.tls.port / http.tls need tls.cert.file and tls.key.file";
  } else if (out->tls_client_auth != "none" && out->tls_ca_file.empty()) {
    bad = "tls.client.auth=" + out->tls_client_auth + " needs tls.ca.file";
  } else if (tls && !out->cluster_etcd.empty()) {
    // Metadata would list the other brokers' plaintext ports (the cluster
    // state records no TLS ports yet).
    bad = "kafka.tls.port / native.tls.port are not supported in cluster mode yet";
  }
  if (!bad.empty()) {
    std::cerr << "sentryd: " << bad << "\n";
    *exit_code = 2;
    return false;
  }
  out->config_file = config_file;
  return true;
}

}  // namespace sentry::sentryd
