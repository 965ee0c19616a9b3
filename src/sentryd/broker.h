// Broker: one sentryd, wired together. Owns every part of the broker and the
// one place that knows the order in which they start and stop.
//
// Start: lock the data directory, read the clean-shutdown marker, recover
// every partition (recovery::LoadPartition through the registry), replay the
// committed offsets, then start network threads, maintenance, admin thread,
// pipeline, and finally the listener.
// Stop: listener, network threads (answering what is in flight for up to
// shutdown.grace.ms), admin thread, pipeline (drains its queues), late
// completions, maintenance, then flush and close every log, checkpoint, and
// write the clean-shutdown marker.
//
// Threads: Start/Stop/LogStats from one thread (main, or a test).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "broker/admin_executor.h"
#include "broker/broker_core.h"
#include "broker/offset_store.h"
#include "broker/cleaner.h"
#include "broker/retention.h"
#include "broker/topic_registry.h"
#include "cluster/cluster_manager.h"
#include "common/age_clock.h"
#include "security/authorizer.h"
#include "security/credential_store.h"
#include "common/status.h"
#include "frontend/kafka_frontend.h"
#include "frontend/native_frontend.h"
#include "http/http_server.h"
#include "net/network_thread.h"
#include "net/server.h"
#include "net/tls_context.h"
#include "pipeline/pipeline.h"
#include "replication/replica_manager.h"
#include "recovery/maintenance.h"
#include "sentryd/broker_config.h"
#include "sentryd/broker_http.h"
#include "sentryd/broker_view.h"
#include "storage/prefaulter.h"

namespace sentry::sentryd {

class Broker {
 public:
  explicit Broker(BrokerConfig cfg);
  ~Broker();  // stops the threads if Stop() was not called (no clean marker)
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Recovers the data directory and starts serving. On error nothing keeps
  // running and the data directory is left for the next start to recover.
  Status Start();
  // The native listener's port (after Start; useful with port 0).
  int port() const;
  // The Kafka listener's port (after Start), -1 when it is off.
  int kafka_port() const;
  // The HTTP listener's port (after Start), -1 when it is off.
  int http_port() const;
  // TLS listeners (docs/security.md): reloads their certificates, always
  // (`force`, SIGHUP) or when a file changed (the main thread's poll). A
  // failed reload keeps the old certificates and is logged.
  void ReloadTls(bool force);
  // The periodic stats line (stats.interval.ms).
  void LogStats();
  // Clean shutdown. OK when the clean-shutdown marker was written.
  Status Stop();

 private:
  Status LockDataDir();
  // The HTTP listener, up from the start (health probes during recovery).
  Status StartHttp();
  // What the HTTP side may look at, once everything runs.
  void FillView();
  Status Recover();
  void StartThreads();
  // Re-checks the fetches parked on `p` (its high watermark moved, or its
  // role changed): the core's and the replica manager's wake-up.
  void WakeFetches(const std::shared_ptr<pipeline::Partition>& p);
  // Cluster mode: joins the cluster (etcd) and takes this broker's roles
  // before any listener serves.
  Status StartCluster(const std::vector<pipeline::CompletionSink*>& sinks,
                      const std::string& advertised);
  // The group coordinator, with the groups the offsets log remembers.
  Status StartGroups(const std::vector<pipeline::CompletionSink*>& sinks);
  // The groups one partition of the offsets log holds (decodable group records).
  std::vector<std::pair<std::string, group::GroupRecord>> StoredGroups(
      const broker::OffsetStore& store);
  // Cluster mode: this broker starts (true) or stops (false) leading a
  // partition of the offsets log, i.e. coordinating the groups that hash to
  // it. The cluster thread.
  void OnCoordinatorRole(int32_t partition, bool leading);
  // kafka.tls.port / native.tls.port: their certificates and listeners
  // (bound, not yet accepting).
  Status ListenTls();
  Result<net::TlsSettings> TlsSettingsFromConfig() const;
  // Everything of Stop() before the logs are closed; safe to call twice.
  void StopThreads();

  const BrokerConfig cfg_;
  int lock_fd_ = -1;
  bool clean_start_ = false;
  bool threads_running_ = false;
  std::atomic<int64_t> open_connections_{0};
  // "Now" for deleting data by age (retention, tombstones, offsets): the
  // wall clock, never ahead of the monotonic one. First, so it outlives
  // everything that holds a pointer to it.
  std::unique_ptr<AgeClock> age_clock_;
  std::unique_ptr<security::CredentialStore> credentials_;  // users (docs/security.md)
  std::unique_ptr<security::Authorizer> authorizer_;  // ACLs; null: authorizer.enabled=false
  std::vector<std::unique_ptr<net::NetworkThread>> nets_;
  std::unique_ptr<pipeline::Pipeline> pipeline_;
  std::unique_ptr<Prefaulter> prefaulter_;
  std::unique_ptr<broker::TopicRegistry> registry_;
  // One per partition of the offsets log (one on a single node).
  std::vector<std::unique_ptr<broker::OffsetStore>> offsets_;
  std::unique_ptr<broker::AdminExecutor> admin_;
  std::unique_ptr<recovery::Maintenance> maintenance_;
  std::unique_ptr<broker::Retention> retention_;
  std::unique_ptr<broker::Cleaner> cleaner_;
  std::unique_ptr<net::Server> server_;
  std::unique_ptr<net::Server> kafka_server_;
  // TLS listeners (off unless kafka.tls.port / native.tls.port), each with
  // its own certificates' context (counters per listener) and front end
  // (Metadata names the listener's own port).
  std::unique_ptr<net::TlsContext> kafka_tls_, native_tls_, http_tls_;
  std::unique_ptr<net::Server> kafka_tls_server_, native_tls_server_;
  std::unique_ptr<broker::ProducerIds> producer_ids_;
  std::unique_ptr<broker::BrokerCore> core_;
  std::unique_ptr<group::GroupService> groups_;
  std::unique_ptr<frontend::NativeFrontend> native_;
  std::unique_ptr<frontend::KafkaFrontend> kafka_;
  std::unique_ptr<frontend::NativeFrontend> native_tls_frontend_;
  std::unique_ptr<frontend::KafkaFrontend> kafka_tls_frontend_;
  std::unique_ptr<replication::ReplicaManager> replicas_;  // cluster mode only
  std::unique_ptr<cluster::ClusterManager> cluster_;       // cluster mode only
  // Declared last: destroyed first, while what it looks at still exists.
  BrokerView view_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<BrokerHttp> http_handler_;
  std::unique_ptr<http::HttpServer> http_;

  struct StatsMark {
    uint64_t records = 0, bytes_in = 0, bytes_out = 0, syncs = 0, sync_us = 0;
    int64_t at_ms = 0;
  } last_stats_;
};

}  // namespace sentry::sentryd
