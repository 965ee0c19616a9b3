#include "sentryd/broker.h"

#include <fcntl.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/clock.h"
#include "cluster/etcd_client.h"
#include "common/file_util.h"
#include "recovery/recovery_checkpoint.h"

namespace sentry::sentryd {

namespace {
constexpr const char* kCleanShutdownMarker = ".clean_shutdown";
constexpr const char* kLockFile = kDataDirLockFile;

std::string AdvertisedHost(const std::string& host) {
  return host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host;
}
}  // namespace

Broker::Broker(BrokerConfig cfg)
    : cfg_(std::move(cfg)),
      age_clock_(std::make_unique<AgeClock>([] { return WallMillis(); },
                                            [] { return SteadyMillis(); })) {}

Broker::~Broker() {
  StopThreads();
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

int Broker::port() const { return server_ ? server_->port() : 0; }
int Broker::kafka_port() const { return kafka_server_ ? kafka_server_->port() : -1; }
int Broker::http_port() const { return http_ ? http_->port() : -1; }

Status Broker::LockDataDir() {
  std::error_code ec;
  const bool existed = std::filesystem::exists(cfg_.data_dir, ec);
  std::filesystem::create_directories(cfg_.data_dir, ec);
  if (ec) return Status::IoError("cannot create data directory " + cfg_.data_dir + ": " + ec.message());
  if (!existed) {
    // The new directory's own entry must survive a power cut too.
    auto parent = std::filesystem::absolute(cfg_.data_dir, ec).parent_path();
    SENTRY_RETURN_IF_ERROR(SyncDirectory(parent.string()));
  }
  // One broker per data directory.
  lock_fd_ = ::open((cfg_.data_dir + "/" + kLockFile).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0 || ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Status::Unavailable("data directory " + cfg_.data_dir +
                               " is in use by another sentryd (" + std::strerror(errno) + ")");
  }
  const std::string marker = cfg_.data_dir + "/" + kCleanShutdownMarker;
  clean_start_ = std::filesystem::exists(marker);
  // Nothing but the lock file (and users or ACLs made offline before the
  // first start, docs/security.md): this data directory never held a broker.
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(cfg_.data_dir, ec)) {
    const auto name = e.path().filename();
    if (name != kLockFile && name != security::CredentialStore::kFileName &&
        name != security::Authorizer::kFileName) {
      entries++;
    }
  }
  view_.recovery.first_start = entries == 0;
  view_.recovery.clean_shutdown = clean_start_;
  spdlog::info("Data directory ready: {} ({})", cfg_.data_dir,
               view_.recovery.first_start ? "first start"
               : clean_start_             ? "clean shutdown last time"
                                          : "no clean shutdown last time: recovering");
  // From here on, a crash is an unclean shutdown.
  return RemoveFileDurably(marker);
}

Status Broker::Recover() {
  spdlog::info("Loading log segments from disk...");
  registry_ = std::make_unique<broker::TopicRegistry>(cfg_.data_dir, pipeline_.get(),
                                                      prefaulter_.get(), cfg_.max_partitions,
                                                      cfg_.topic_defaults);
  registry_->set_min_free_bytes(static_cast<uint64_t>(cfg_.min_free_bytes));
  registry_->set_drop_behind_bytes(static_cast<uint64_t>(cfg_.drop_behind_bytes));
  recovery::StartupState startup;
  startup.clean_shutdown = clean_start_;
  startup.truncate_corrupt = cfg_.recovery_truncate_corrupt;
  if (!clean_start_) {
    auto points = recovery::ReadRecoveryCheckpoint(cfg_.data_dir);
    if (points.ok()) {
      startup.recovery_points = std::move(points).value();
    } else {
      spdlog::warn("{}; walking every segment", points.status().ToString());
    }
  }
  const int64_t load_start = SteadyMillis();
  broker::LoadSummary summary;
  if (Status s = registry_->LoadAll(startup, &summary); !s.ok()) {
    return Status(s.code(), "loading topics: " + s.message());
  }
  // One partition on a single node (it coordinates every group anyway); in
  // a cluster, as many as the cluster's offsets log has (docs/cluster.md).
  const bool clustered = !cfg_.cluster_etcd.empty();
  const int32_t offsets_count =
      clustered ? static_cast<int32_t>(cfg_.offsets_topic_num_partitions) : 1;
  auto offsets_partitions =
      registry_->OpenInternal(broker::kOffsetsTopic, offsets_count,
                              cfg_.offsets_topic_segment_bytes, /*compact=*/true, &summary);
  if (!offsets_partitions.ok()) {
    return Status(offsets_partitions.status().code(),
                  "consumer offsets: " + offsets_partitions.status().message());
  }
  const int64_t replay_start = SteadyMillis();
  int64_t replayed = 0;
  size_t committed = 0;
  for (auto& p : *offsets_partitions) {
    offsets_.push_back(std::make_unique<broker::OffsetStore>(p));
    auto n = offsets_.back()->Load();
    if (!n.ok()) {
      return Status(n.status().code(), fmt::format("consumer offsets, partition {}: {}",
                                                   p->index(), n.status().message()));
    }
    replayed += *n;
    committed += offsets_.back()->size();
  }
  spdlog::info("Replayed {} records of the offsets log ({} partition{}) in {} ms (it is "
               "compacted: the latest record of each key stays)",
               replayed, offsets_count, offsets_count == 1 ? "" : "s",
               SteadyMillis() - replay_start);
  int64_t max_end = 0;
  for (auto& t : registry_->List()) {
    for (auto& p : t->partitions) max_end = std::max(max_end, p->log()->log_end_offset());
  }
  view_.recovery.duration_ms = SteadyMillis() - load_start;
  view_.recovery.segments = summary.segments;
  view_.recovery.segments_walked = summary.segments_walked;
  view_.recovery.truncations = summary.truncations;
  spdlog::info("Loaded {} log segments from disk in {} ms ({} topics, {} partitions, {} segments "
               "walked, {} truncated, {} offline)",
               summary.segments, SteadyMillis() - load_start, summary.topics, summary.partitions,
               summary.segments_walked, summary.truncations, summary.offline);
  spdlog::info("Recovered offsets up to {} ({} records, {} committed consumer offsets)", max_end,
               summary.records, committed);
  return Status::OK();
}

Status Broker::Start() {
  spdlog::info("Sentry Broker Starting...");
  view_.start_wall_ms = WallMillis();
  SENTRY_RETURN_IF_ERROR(LockDataDir());
  SENTRY_RETURN_IF_ERROR(StartHttp());

  net::NetOptions nopt;
  nopt.max_frame_bytes = cfg_.max_frame_bytes;
  nopt.max_inflight_per_connection = cfg_.max_inflight_per_connection;
  nopt.max_output_bytes_per_connection = cfg_.max_output_bytes_per_connection;
  nopt.idle_timeout_ms = cfg_.connections_max_idle_ms;
  nopt.poll_spin_us = cfg_.network_poll_spin_us;
  std::vector<pipeline::CompletionSink*> sinks;
  std::vector<net::NetworkThread*> net_ptrs;
  for (int i = 0; i < cfg_.num_network_threads; i++) {
    nets_.push_back(std::make_unique<net::NetworkThread>(i, nopt, &open_connections_));
    sinks.push_back(nets_.back().get());
    net_ptrs.push_back(nets_.back().get());
  }
  pipeline::PipelineOptions popt;
  popt.writer_threads = static_cast<uint32_t>(cfg_.num_writer_threads);
  popt.queue_capacity = static_cast<size_t>(cfg_.queued_max_requests);
  popt.inline_append_max_bytes = static_cast<size_t>(cfg_.inline_append_max_bytes);
  pipeline_ = std::make_unique<pipeline::Pipeline>(popt, sinks);
  prefaulter_ = std::make_unique<Prefaulter>(static_cast<size_t>(cfg_.prefault_max_bytes));
  SENTRY_RETURN_IF_ERROR(Recover());

  server_ = std::make_unique<net::Server>(net_ptrs, cfg_.max_connections, &open_connections_);
  SENTRY_RETURN_IF_ERROR(server_->Listen(cfg_.host, cfg_.port));
  if (cfg_.kafka_port >= 0) {
    kafka_server_ =
        std::make_unique<net::Server>(net_ptrs, cfg_.max_connections, &open_connections_);
    SENTRY_RETURN_IF_ERROR(kafka_server_->Listen(cfg_.host, cfg_.kafka_port));
  }
  SENTRY_RETURN_IF_ERROR(ListenTls());
  const std::string advertised =
      cfg_.advertised_host.empty() ? AdvertisedHost(cfg_.host) : cfg_.advertised_host;
  producer_ids_ = std::make_unique<broker::ProducerIds>(cfg_.data_dir);
  SENTRY_RETURN_IF_ERROR(producer_ids_->Load());
  SENTRY_ASSIGN_OR_RETURN(credentials_, security::CredentialStore::Open(cfg_.data_dir));
  if (cfg_.kafka_sasl_required || cfg_.native_sasl_required) {
    const size_t users = credentials_->List().size();
    spdlog::log(users == 0 ? spdlog::level::warn : spdlog::level::info,
                "{} listener: SASL required ({}); {} user(s) with SCRAM credentials{}",
                cfg_.kafka_sasl_required && cfg_.native_sasl_required ? "Kafka and native"
                : cfg_.kafka_sasl_required                            ? "Kafka"
                                                                      : "Native",
                fmt::join(cfg_.sasl_mechanisms, ", "), users,
                users == 0 ? ": no Kafka client can authenticate (sentryctl user create "
                             "--data-dir, docs/security.md)"
                           : "");
  }
  if (cfg_.authorizer_enabled) {
    SENTRY_ASSIGN_OR_RETURN(
        authorizer_, security::Authorizer::Open(
                         cfg_.data_dir, security::Authorizer::ParseSuperUsers(cfg_.super_users)));
    const size_t acls = authorizer_->List(security::AclFilter{}).size();
    spdlog::info("Authorizer enabled: {} ACL(s), super users: {}", acls,
                 authorizer_->super_users().empty() ? std::string("none")
                                                    : fmt::format("{}", fmt::join(
                                                          authorizer_->super_users(), "; ")));
  }
  admin_ = std::make_unique<broker::AdminExecutor>(sinks);
  std::vector<broker::OffsetStore*> offset_stores;
  for (const auto& store : offsets_) offset_stores.push_back(store.get());
  core_ = std::make_unique<broker::BrokerCore>(
      registry_.get(), offset_stores, pipeline_.get(), admin_.get(),
      broker::BrokerIdentity{cfg_.broker_id, advertised, server_->port()},
      [this](const std::shared_ptr<pipeline::Partition>& p) { WakeFetches(p); },
      producer_ids_.get());
  SENTRY_RETURN_IF_ERROR(StartGroups(sinks));
  security::SaslPolicy sasl;
  sasl.mechanisms = cfg_.sasl_mechanisms;
  sasl.credentials = credentials_.get();
  sasl.plain_allow_plaintext = cfg_.sasl_plain_allow_plaintext;
  sasl.max_reauth_ms = cfg_.connections_max_reauth_ms;
  frontend::NativeOptions native_opt;
  native_opt.authorizer = authorizer_.get();
  native_opt.sasl_required = cfg_.native_sasl_required;
  native_opt.sasl = sasl;
  if (native_tls_server_) {
    frontend::NativeOptions topt = native_opt;
    topt.port = native_tls_server_->port();
    topt.sasl.tls = true;
    native_tls_frontend_ = std::make_unique<frontend::NativeFrontend>(core_.get(), topt);
  }
  native_ = std::make_unique<frontend::NativeFrontend>(core_.get(), std::move(native_opt));
  if (kafka_server_ || kafka_tls_server_) {
    frontend::KafkaOptions kopt;
    kopt.advertised_host = advertised;
    kopt.auto_create_topics = cfg_.auto_create_topics;
    kopt.default_partitions = cfg_.num_partitions;
    kopt.broker_configs = cfg_.Describe();
    kopt.sasl_required = cfg_.kafka_sasl_required;
    kopt.sasl = sasl;
    kopt.authorizer = authorizer_.get();
    // One front end per listener: Metadata names the listener's own port.
    if (kafka_tls_server_) {
      frontend::KafkaOptions topt = kopt;
      topt.port = kafka_tls_server_->port();
      topt.sasl.tls = true;
      kafka_tls_frontend_ = std::make_unique<frontend::KafkaFrontend>(core_.get(), topt);
    }
    if (kafka_server_) {
      kopt.port = kafka_server_->port();
      kafka_ = std::make_unique<frontend::KafkaFrontend>(core_.get(), std::move(kopt));
    }
  }
  recovery::MaintenanceOptions mopt;
  mopt.data_dir = cfg_.data_dir;
  mopt.checkpoint_interval_ms = cfg_.checkpoint_interval_ms;
  maintenance_ = std::make_unique<recovery::Maintenance>(
      mopt, [this](std::vector<std::shared_ptr<const void>>* keep) {
        return registry_->AllLogs(keep);
      });

  AgeClock* age = age_clock_.get();
  retention_ = std::make_unique<broker::Retention>(
      registry_.get(), cfg_.log_retention_check_interval_ms, [age] { return age->Now(); });
  broker::CleanerOptions copt;
  copt.threads = cfg_.log_cleaner_threads;
  copt.backoff_ms = cfg_.log_cleaner_backoff_ms;
  copt.dedupe_buffer_bytes = static_cast<size_t>(cfg_.log_cleaner_dedupe_buffer_size);
  copt.now_ms = [age] { return age->Now(); };
  copt.fault = broker::CrashHookFromEnvironment();
  cleaner_ = std::make_unique<broker::Cleaner>(registry_.get(), std::move(copt));

  StartThreads();
  if (cfg_.realtime_priority > 0) {
    // Before listening: a broker that cannot honour the setting does not serve.
    Status s = pipeline_->SetRealtimePriority(cfg_.realtime_priority);
    for (auto& n : nets_) {
      if (s.ok()) s = n->SetRealtimePriority(cfg_.realtime_priority);
    }
    if (!s.ok()) {
      StopThreads();
      return Status(s.code(), "realtime.priority: " + s.message());
    }
    spdlog::info("Network and writer threads run under SCHED_FIFO priority {}",
                 cfg_.realtime_priority);
  }
  if (!cfg_.cluster_etcd.empty()) {
    Status s = StartCluster(sinks, advertised);
    if (!s.ok()) {
      StopThreads();
      return Status(s.code(), "cluster: " + s.message());
    }
  }
  server_->Start(native_.get());
  if (kafka_server_) kafka_server_->Start(kafka_.get());
  if (native_tls_server_) native_tls_server_->Start(native_tls_frontend_.get(), native_tls_.get());
  if (kafka_tls_server_) kafka_tls_server_->Start(kafka_tls_frontend_.get(), kafka_tls_.get());
  spdlog::info("Listening for producer connections on {}:{}", cfg_.host, server_->port());
  if (kafka_server_) {
    spdlog::info("Listening for Kafka protocol connections on {}:{} (advertised as {}:{})",
                 cfg_.host, kafka_server_->port(), advertised, kafka_server_->port());
  } else {
    spdlog::info("Kafka protocol listener off (kafka.port=-1)");
  }
  if (native_tls_server_) {
    spdlog::info("Listening for native TLS connections on {}:{} ({})", cfg_.host,
                 native_tls_server_->port(), native_tls_->Describe());
  }
  if (kafka_tls_server_) {
    spdlog::info("Listening for Kafka TLS connections on {}:{} ({}, {})", cfg_.host,
                 kafka_tls_server_->port(), cfg_.kafka_sasl_required ? "SASL_SSL" : "SSL",
                 kafka_tls_->Describe());
  }
  last_stats_.at_ms = SteadyMillis();
  FillView();
  ready_.store(true, std::memory_order_release);
  spdlog::info("Ready: recovery done, every listener up");
  return Status::OK();
}

Result<net::TlsSettings> Broker::TlsSettingsFromConfig() const {
  net::TlsSettings ts;
  ts.cert_file = cfg_.tls_cert_file;
  ts.key_file = cfg_.tls_key_file;
  ts.ca_file = cfg_.tls_ca_file;
  SENTRY_ASSIGN_OR_RETURN(ts.client_auth, net::ParseTlsClientAuth(cfg_.tls_client_auth));
  return ts;
}

Status Broker::ListenTls() {
  if (cfg_.kafka_tls_port < 0 && cfg_.native_tls_port < 0) return Status::OK();
  SENTRY_ASSIGN_OR_RETURN(const net::TlsSettings ts, TlsSettingsFromConfig());
  std::vector<net::NetworkThread*> threads;
  for (auto& n : nets_) threads.push_back(n.get());
  auto listen = [&](int port, std::unique_ptr<net::TlsContext>* tls,
                    std::unique_ptr<net::Server>* server) -> Status {
    if (port < 0) return Status::OK();
    SENTRY_ASSIGN_OR_RETURN(*tls, net::TlsContext::Create(ts));
    *server = std::make_unique<net::Server>(threads, cfg_.max_connections, &open_connections_);
    return (*server)->Listen(cfg_.host, port);
  };
  SENTRY_RETURN_IF_ERROR(listen(cfg_.native_tls_port, &native_tls_, &native_tls_server_));
  SENTRY_RETURN_IF_ERROR(listen(cfg_.kafka_tls_port, &kafka_tls_, &kafka_tls_server_));
  return Status::OK();
}

void Broker::ReloadTls(bool force) {
  const std::pair<const char*, net::TlsContext*> listeners[] = {
      {"native-tls", native_tls_.get()}, {"kafka-tls", kafka_tls_.get()}, {"http", http_tls_.get()}};
  for (const auto& [name, tls] : listeners) {
    if (!tls) continue;
    bool reloaded = force;
    Status s = force ? tls->Reload() : tls->ReloadIfChanged(&reloaded);
    if (!s.ok()) {
      spdlog::error("TLS certificates not reloaded for the {} listener, the old ones stay in "
                    "use: {}",
                    name, s.message());
    } else if (reloaded) {
      spdlog::info("TLS certificates reloaded for the {} listener{}: {}", name,
                   force ? " (SIGHUP)" : " (a file changed)", tls->Describe());
    }
  }
}

void Broker::WakeFetches(const std::shared_ptr<pipeline::Partition>& p) {
  for (uint32_t t : p->Watchers()) nets_[t]->WakeFetches(p);
}

Status Broker::StartCluster(const std::vector<pipeline::CompletionSink*>& sinks,
                            const std::string& advertised) {
  if (!kafka_server_) {
    return Status::InvalidArgument("cluster mode needs the Kafka listener (followers fetch "
                                   "through it): set kafka.port");
  }
  auto store = cluster::EtcdClient::Create(cfg_.cluster_etcd);
  if (!store.ok()) return store.status();
  cluster::ClusterOptions copt;
  copt.name = cfg_.cluster_name;
  copt.self = {cfg_.broker_id, advertised, server_->port(), kafka_server_->port()};
  copt.session_timeout_ms = cfg_.broker_session_timeout_ms;
  copt.poll_ms = cfg_.cluster_poll_ms;
  copt.unclean_leader_election = cfg_.unclean_leader_election;
  copt.offsets_replication_factor = static_cast<int16_t>(cfg_.offsets_topic_replication_factor);
  copt.offsets_partitions = static_cast<int32_t>(offsets_.size());
  cluster_ = std::make_unique<cluster::ClusterManager>(std::move(*store), copt);
  replication::ReplicationOptions ropt;
  ropt.broker_id = cfg_.broker_id;
  ropt.replica_lag_time_max_ms = cfg_.replica_lag_time_max_ms;
  ropt.default_replication_factor = static_cast<int16_t>(cfg_.default_replication_factor);
  ropt.fetcher.broker_id = cfg_.broker_id;
  ropt.fetcher.max_wait_ms = static_cast<int32_t>(cfg_.replica_fetch_wait_max_ms);
  ropt.fetcher.partition_max_bytes = static_cast<int32_t>(cfg_.replica_fetch_max_bytes);
  ropt.fetcher.sync_before_ack = cfg_.replica_sync_before_ack;
  ropt.fetcher.after_truncate = [this] {
    Status s = maintenance_->CheckpointNow();
    if (!s.ok()) spdlog::error("recovery checkpoint after a truncation failed: {}", s.ToString());
  };
  replicas_ = std::make_unique<replication::ReplicaManager>(
      ropt, cluster_.get(), registry_.get(), sinks,
      [this](const std::shared_ptr<pipeline::Partition>& p) { WakeFetches(p); });
  // Until the cluster says otherwise, no topic partition here is served:
  // the cluster, not the data directory, decides who leads.
  for (const auto& t : registry_->List()) {
    for (const auto& p : t->partitions) {
      p->replica().gate.store(replicas_.get());
      p->replica().role.store(pipeline::ReplicaRoleState::kNone);
    }
  }
  registry_->set_cluster_gate(replicas_.get());
  // A group is coordinated by the leader of its offsets-log partition; until
  // this broker leads one, it coordinates none.
  groups_->Resign();
  std::vector<std::shared_ptr<pipeline::Partition>> offsets_log;
  for (const auto& o : offsets_) offsets_log.push_back(o->partition());
  replicas_->SetOffsetsLog(std::move(offsets_log), [this](int32_t partition, bool leading) {
    OnCoordinatorRole(partition, leading);
  });
  producer_ids_->set_block_source(
      [c = cluster_.get()](int64_t size) { return c->AllocateProducerIds(size); });
  core_->set_cluster(replicas_.get());
  replicas_->Start();
  SENTRY_RETURN_IF_ERROR(cluster_->Start(
      [r = replicas_.get()](const std::shared_ptr<const cluster::ClusterSnapshot>& s) {
        r->Apply(s);
      },
      [r = replicas_.get()] { r->OnFenced(); }));
  spdlog::info("Cluster mode: cluster {} on etcd {}, broker {}", cfg_.cluster_name,
               cfg_.cluster_etcd, cfg_.broker_id);
  return Status::OK();
}

Status Broker::StartHttp() {
  if (cfg_.http_port < 0) {
    spdlog::info("HTTP listener off (http.port=-1)");
    return Status::OK();
  }
  http::HttpOptions hopt;
  if (cfg_.http_tls) {
    SENTRY_ASSIGN_OR_RETURN(net::TlsSettings ts, TlsSettingsFromConfig());
    SENTRY_ASSIGN_OR_RETURN(http_tls_, net::TlsContext::Create(std::move(ts)));
    net::TlsContext* tls = http_tls_.get();
    hopt.tls_context = [tls] { return tls->Current(); };
    hopt.on_handshake = [tls](bool ok, const std::string& error) {
      (ok ? tls->handshakes : tls->handshake_failures).fetch_add(1, std::memory_order_relaxed);
      if (!ok && tls->handshake_warn.Allow()) {
        spdlog::warn("http: TLS handshake failed: {}; closing the connection{}", error,
                     tls->handshake_warn.Suppressed());
      }
    };
  }
  hopt.host = cfg_.http_host.empty() ? cfg_.host : cfg_.http_host;
  hopt.port = cfg_.http_port;
  hopt.max_connections = cfg_.http_max_connections;
  hopt.request_timeout_ms = cfg_.http_request_timeout_ms;
  http_handler_ = std::make_unique<BrokerHttp>(&view_, &ready_);
  http_ = std::make_unique<http::HttpServer>(
      hopt, [h = http_handler_.get()](const http::HttpRequest& r) { return h->Handle(r); });
  SENTRY_RETURN_IF_ERROR(http_->Listen());
  http_->Start();
  spdlog::info("Listening for HTTP on {}:{} ({}dashboard /, metrics /metrics, admin API /v1, "
               "health /health/live and /health/ready)",
               hopt.host, http_->port(),
               http_tls_ ? "HTTPS only, " + http_tls_->Describe() + "; " : "");
  return Status::OK();
}

void Broker::FillView() {
  view_.cfg = &cfg_;
  view_.registry = registry_.get();
  view_.core = core_.get();
  view_.groups = groups_.get();
  view_.pipeline = pipeline_.get();
  view_.nets.clear();
  for (auto& n : nets_) view_.nets.push_back(n.get());
  view_.listeners.clear();
  view_.listeners.push_back({"native", cfg_.host, server_->port(), server_.get()});
  if (kafka_server_) {
    view_.listeners.push_back({"kafka", cfg_.host, kafka_server_->port(), kafka_server_.get()});
  }
  if (native_tls_server_) {
    view_.listeners.push_back(
        {"native-tls", cfg_.host, native_tls_server_->port(), native_tls_server_.get(),
         native_tls_.get()});
  }
  if (kafka_tls_server_) {
    view_.listeners.push_back(
        {"kafka-tls", cfg_.host, kafka_tls_server_->port(), kafka_tls_server_.get(),
         kafka_tls_.get()});
  }
  if (http_) {
    view_.listeners.push_back(
        {"http", cfg_.http_host.empty() ? cfg_.host : cfg_.http_host, http_->port(), nullptr,
         http_tls_.get()});
  }
  view_.http = http_.get();
  view_.age_clock = age_clock_.get();
  view_.authorizer = authorizer_.get();
}

std::vector<std::pair<std::string, group::GroupRecord>> Broker::StoredGroups(
    const broker::OffsetStore& store) {
  std::vector<std::pair<std::string, group::GroupRecord>> out;
  for (const auto& [id, bytes] : store.GroupRecords()) {
    auto rec = group::GroupRecord::Decode(bytes);
    if (!rec) {
      spdlog::warn("consumer offsets: group '{}' has a record this version cannot read; "
                   "it starts empty",
                   id);
      continue;
    }
    out.emplace_back(id, std::move(*rec));
  }
  return out;
}

void Broker::OnCoordinatorRole(int32_t partition, bool leading) {
  if (partition < 0 || static_cast<size_t>(partition) >= offsets_.size()) return;
  if (!leading) {
    groups_->Resign(partition);
    return;
  }
  // What the partition holds now came by replication (or was written while
  // this broker led it before): read it all again.
  broker::OffsetStore& store = *offsets_[static_cast<size_t>(partition)];
  auto replayed = store.Reload();
  if (!replayed.ok()) {
    spdlog::error("consumer offsets: cannot read {}-{} as its new leader: {}; its groups "
                  "answer NOT_COORDINATOR",
                  broker::kOffsetsTopic, partition, replayed.status().ToString());
    groups_->Resign(partition);
    return;
  }
  const auto stored = StoredGroups(store);
  groups_->TakeOver(partition, stored, store.Groups());
  // One line per partition that holds anything (50 empty ones say nothing).
  spdlog::log(stored.empty() && store.size() == 0 ? spdlog::level::debug : spdlog::level::info,
              "Group coordinator for {}-{}: {} group(s) and {} committed offset(s) loaded "
              "from {} records",
              broker::kOffsetsTopic, partition, stored.size(), store.size(), *replayed);
}

Status Broker::StartGroups(const std::vector<pipeline::CompletionSink*>& sinks) {
  group::CoordinatorConfig gc;
  gc.classic.initial_rebalance_delay_ms = static_cast<int32_t>(cfg_.group_initial_rebalance_delay_ms);
  gc.classic.min_session_timeout_ms = static_cast<int32_t>(cfg_.group_min_session_timeout_ms);
  gc.classic.max_session_timeout_ms = static_cast<int32_t>(cfg_.group_max_session_timeout_ms);
  gc.classic.max_size = static_cast<int32_t>(cfg_.group_max_size);
  gc.native.session_timeout_ms = static_cast<int32_t>(cfg_.group_consumer_session_timeout_ms);
  gc.native.heartbeat_interval_ms =
      static_cast<int32_t>(cfg_.group_consumer_heartbeat_interval_ms);
  gc.native.max_size = static_cast<int32_t>(cfg_.group_max_size);
  gc.offsets_retention_ms = cfg_.offsets_retention_minutes * 60000;
  gc.retention_check_interval_ms = cfg_.offsets_retention_check_interval_ms;
  gc.offsets_partitions = static_cast<int32_t>(offsets_.size());
  broker::BrokerCore* core = core_.get();
  groups_ = std::make_unique<group::GroupService>(
      gc, sinks,
      [core](const std::string& group_id, const std::optional<group::GroupRecord>& rec) {
        core->AppendGroupRecord(group_id,
                                rec ? std::optional<std::string>(rec->Encode()) : std::nullopt);
        return true;
      },
      [core](const std::string& topic) -> int32_t {
        auto t = core->FindTopic(topic);
        return t ? static_cast<int32_t>(t->partitions.size()) : -1;
      },
      [] { return SteadyMillis(); },
      [core, retention = gc.offsets_retention_ms, age = age_clock_.get()](
          const std::string& group_id, int64_t empty_for) {
        return core->ExpireOffsets(group_id, empty_for, retention, age->Now());
      });
  size_t restored = 0;
  for (const auto& store : offsets_) {
    const auto stored = StoredGroups(*store);
    for (const auto& [id, rec] : stored) groups_->Restore(id, rec);
    for (const auto& id : store->Groups()) groups_->RestoreOffsetsOnly(id);
    restored += stored.size();
  }
  spdlog::info("Consumer groups: {} restored (members rejoin)", restored);
  core_->set_groups(groups_.get());
  return Status::OK();
}

void Broker::StartThreads() {
  for (auto& n : nets_) n->Start();
  maintenance_->Start();
  retention_->Start();
  cleaner_->Start();
  admin_->Start();
  if (groups_) groups_->Start();
  pipeline_->Start();
  threads_running_ = true;
}

void Broker::StopThreads() {
  // Probes say "not ready" at once; then the HTTP side stops looking at the
  // parts that are about to stop.
  ready_.store(false, std::memory_order_release);
  if (http_) http_->Stop();
  if (!threads_running_) return;
  threads_running_ = false;
  if (server_) server_->Stop();
  if (kafka_server_) kafka_server_->Stop();
  if (native_tls_server_) native_tls_server_->Stop();
  if (kafka_tls_server_) kafka_tls_server_->Stop();
  // Leaving the cluster first hands leadership over at once (the session is
  // revoked) instead of after the session timeout.
  if (cluster_) cluster_->Stop();
  if (replicas_) replicas_->Stop();
  // Members waiting for a rebalance are answered (and rediscover the
  // coordinator) instead of holding their connections through the grace.
  if (groups_) groups_->Stop();
  for (auto& n : nets_) n->Stop(cfg_.shutdown_grace_ms);
  admin_->Stop();     // before the writers: a delete waits for them
  pipeline_->Stop();  // everything queued is appended and completed
  // What completed after its network thread stopped is finished (offset
  // commits applied) and freed here; nothing can complete any more.
  size_t late = 0;
  for (auto& n : nets_) late += n->DrainLateCompletions();
  if (late > 0) spdlog::info("{} request(s) completed after their connections closed", late);
  maintenance_->Stop();
  retention_->Stop();
  cleaner_->Stop();
}

Status Broker::Stop() {
  StopThreads();
  Status closed = registry_ ? registry_->CloseAll() : Status::OK();
  if (closed.ok() && maintenance_) closed = maintenance_->CheckpointNow();
  if (!closed.ok()) {
    return Status(closed.code(),
                  "shutdown was not clean: " + closed.message() + "; the next start will recover");
  }
  SENTRY_RETURN_IF_ERROR(
      WriteFileAtomically(cfg_.data_dir + "/" + kCleanShutdownMarker, "clean\n"));
  spdlog::info("Sentry Broker stopped cleanly");
  return Status::OK();
}

void Broker::LogStats() {
  uint64_t records = 0, bytes_in = 0, bytes_out = 0;
  size_t depth = 0;
  for (uint32_t w = 0; w < pipeline_->writer_count(); w++) {
    records += pipeline_->writer(w).stats().records_in.load();
    bytes_in += pipeline_->writer(w).stats().bytes_in.load();
    depth += pipeline_->writer(w).depth();
  }
  for (auto& n : nets_) bytes_out += n->stats().bytes_out.load();
  const auto& fs = pipeline_->flusher().stats();
  const uint64_t syncs = fs.syncs.load();
  const uint64_t sync_us = fs.sync_micros_total.load();
  const int64_t now = SteadyMillis();
  const double secs = std::max<int64_t>(1, now - last_stats_.at_ms) / 1000.0;
  const StatsMark& l = last_stats_;
  spdlog::info(
      "stats: in {:.0f} records/s {:.1f} MB/s, out {:.1f} MB/s, connections {}, queue depth "
      "{}, flushes {} (avg {:.2f} ms, max {:.2f} ms)",
      (records - l.records) / secs, (bytes_in - l.bytes_in) / secs / 1e6,
      (bytes_out - l.bytes_out) / secs / 1e6, open_connections_.load(), depth, syncs - l.syncs,
      syncs > l.syncs ? (sync_us - l.sync_us) / 1000.0 / (syncs - l.syncs) : 0.0,
      fs.sync_micros_max.load() / 1000.0);
  last_stats_ = StatsMark{records, bytes_in, bytes_out, syncs, sync_us, now};
}

}  // namespace sentry::sentryd
