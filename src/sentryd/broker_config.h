// BrokerConfig: sentryd's settings. Sources, later overriding earlier:
// built-in defaults, the TOML file (--config), command-line flags. Names are
// Kafka's where Kafka has one; topic-level defaults use the topic-config
// names (segment.bytes, flush.ms, ...). A bad value stops start-up with a
// message naming the key.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "broker/topic_config.h"
#include "common/status.h"

namespace sentry::sentryd {

struct BrokerConfig {
  std::string data_dir = "./data";          // --data-dir (Kafka: log.dirs)
  std::string host = "0.0.0.0";             // --host
  int port = 7070;                          // --port (native protocol)
  int kafka_port = 9092;                    // kafka.port (-1 = off, 0 = pick a free port)
  std::string advertised_host;              // advertised.host ("" = the listen address)
  bool auto_create_topics = false;          // auto.create.topics.enable
  int32_t num_partitions = 1;               // num.partitions (auto-created / -1 partitions)
  std::string config_file;                  // --config
  int32_t broker_id = 0;                    // broker.id
  int num_network_threads = 1;              // num.network.threads
  int num_writer_threads = 1;               // num.writer.threads
  int64_t queued_max_requests = 4096;       // queued.max.requests (per writer queue)
  int64_t log_retention_check_interval_ms = 300000;  // log.retention.check.interval.ms
  int log_cleaner_threads = 1;                  // log.cleaner.threads (0: no compaction)
  int64_t offsets_topic_segment_bytes = 104857600;  // offsets.topic.segment.bytes (Kafka's)
  int64_t log_cleaner_backoff_ms = 15000;       // log.cleaner.backoff.ms
  int64_t log_cleaner_dedupe_buffer_size = 128LL << 20;  // log.cleaner.dedupe.buffer.size
  int64_t inline_append_max_bytes = 65536;  // pipeline.inline.append.max.bytes
  int64_t max_frame_bytes = 16 << 20;       // max.frame.bytes
  int64_t max_connections = 10000;          // max.connections
  int64_t max_inflight_per_connection = 1024;  // max.in.flight.requests.per.connection
  int64_t max_output_bytes_per_connection = 64 << 20;  // connection.max.output.bytes
  int64_t connections_max_idle_ms = 600000;  // connections.max.idle.ms
  int64_t shutdown_grace_ms = 3000;         // shutdown.grace.ms
  int64_t network_poll_spin_us = 25;        // network.poll.spin.us
  int realtime_priority = 0;                // realtime.priority (0 = normal scheduling)
  int64_t max_partitions = 10000;           // max.partitions (per topic)
  int64_t stats_interval_ms = 10000;        // stats.interval.ms (0 = off)
  std::string log_level = "info";           // log.level
  std::string log_format = "text";          // log.format (text | json)
  int http_port = 9644;                     // http.port (-1 = off, 0 = pick a free port)
  std::string http_host;                    // http.host ("" = the value of host)
  int64_t http_max_connections = 128;       // http.max.connections
  int64_t http_request_timeout_ms = 10000;  // http.request.timeout.ms
  bool metrics_partition_level = false;     // metrics.partition.level
  int64_t min_free_bytes = 64 << 20;        // storage.min.free.bytes
  int64_t drop_behind_bytes = 256 << 20;    // storage.drop.behind.bytes (0 = off)
  int64_t prefault_max_bytes = 256 << 20;   // storage.prefault.max.bytes
  int64_t checkpoint_interval_ms = 10000;   // log.flush.offset.checkpoint.interval.ms
  bool recovery_truncate_corrupt = false;   // recovery.truncate.corrupt
  // Consumer groups (docs/groups.md), Kafka's names and defaults.
  int64_t group_initial_rebalance_delay_ms = 3000;  // group.initial.rebalance.delay.ms
  int64_t group_min_session_timeout_ms = 6000;      // group.min.session.timeout.ms
  int64_t group_max_session_timeout_ms = 1800000;   // group.max.session.timeout.ms
  int64_t group_max_size = INT32_MAX;               // group.max.size
  int64_t group_consumer_session_timeout_ms = 45000;   // group.consumer.session.timeout.ms
  int64_t group_consumer_heartbeat_interval_ms = 5000;  // group.consumer.heartbeat.interval.ms
  int64_t offsets_retention_minutes = 10080;            // offsets.retention.minutes
  int64_t offsets_retention_check_interval_ms = 600000;  // offsets.retention.check.interval.ms
  // Cluster mode (docs/cluster.md): off while cluster.etcd is empty.
  std::string cluster_etcd;                         // cluster.etcd (http://h:p[,...])
  std::string cluster_name = "sentry";              // cluster.name (key prefix in etcd)
  int64_t broker_session_timeout_ms = 9000;         // broker.session.timeout.ms (KRaft's)
  int64_t cluster_poll_ms = 200;                    // cluster.poll.ms
  int64_t replica_lag_time_max_ms = 30000;          // replica.lag.time.max.ms
  int64_t replica_fetch_wait_max_ms = 500;          // replica.fetch.wait.max.ms
  int64_t replica_fetch_max_bytes = 1 << 20;        // replica.fetch.max.bytes
  bool replica_sync_before_ack = false;             // replica.sync.before.ack
  bool unclean_leader_election = false;             // unclean.leader.election.enable
  int64_t default_replication_factor = 1;           // default.replication.factor
  int64_t offsets_topic_replication_factor = 3;     // offsets.topic.replication.factor
  int64_t offsets_topic_num_partitions = 50;        // offsets.topic.num.partitions (Kafka's)
  // Security (docs/security.md).
  bool kafka_sasl_required = false;                 // kafka.sasl (none | required)
  bool native_sasl_required = false;                // native.sasl (none | required)
  std::vector<std::string> sasl_mechanisms{"SCRAM-SHA-256", "SCRAM-SHA-512"};  // sasl.mechanisms
  bool sasl_plain_allow_plaintext = false;          // sasl.plain.allow.plaintext
  int64_t connections_max_reauth_ms = 0;            // connections.max.reauth.ms (KIP-368)
  int kafka_tls_port = -1;                          // kafka.tls.port (-1 = off, 0 = pick)
  int native_tls_port = -1;                         // native.tls.port (-1 = off, 0 = pick)
  bool http_tls = false;                            // http.tls (HTTPS only on http.port)
  std::string tls_cert_file;                        // tls.cert.file (PEM)
  std::string tls_key_file;                         // tls.key.file (PEM)
  std::string tls_ca_file;                          // tls.ca.file (PEM, client certificates)
  std::string tls_client_auth = "none";             // tls.client.auth (none|requested|required)
  bool authorizer_enabled = false;                  // authorizer.enabled (ACLs)
  std::string super_users;                          // super.users ("User:a;User:b" or commas)
  broker::TopicConfig topic_defaults;               // segment.bytes, flush.ms, ... as broker defaults

  // Parses flags (and the TOML file they name). On --help, prints and sets
  // *exit_code = 0; on error, prints the reason and sets *exit_code = 2.
  // Returns true when the broker should start.
  static bool Parse(int argc, char** argv, BrokerConfig* out, int* exit_code);
  // Every setting with its value (what Kafka's DescribeConfigs shows).
  std::vector<std::pair<std::string, std::string>> Describe() const;
};

}  // namespace sentry::sentryd
