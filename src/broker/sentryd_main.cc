// sentryd: wires the broker together and runs it until SIGTERM / SIGINT.
//
// Threads: main (signals, stats line), acceptor, num.network.threads network
// threads, num.writer.threads writers, one flusher, one prefaulter.
#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "broker/broker_config.h"
#include "broker/offset_store.h"
#include "broker/request_handler.h"
#include "broker/topic_registry.h"
#include "common/clock.h"
#include "common/file_util.h"
#include "net/network_thread.h"
#include "net/server.h"
#include "pipeline/pipeline.h"
#include "recovery/maintenance.h"
#include "recovery/recovery_checkpoint.h"
#include "storage/prefaulter.h"

namespace sentry {
namespace {

constexpr const char* kCleanShutdownMarker = ".clean_shutdown";
constexpr const char* kOffsetsTopic = "__consumer_offsets";

int Fail(const std::string& what) {
  spdlog::critical("{}", what);
  return 1;
}

int RunBroker(const broker::BrokerConfig& cfg) {
  spdlog::info("Sentry Broker Starting...");
  std::error_code ec;
  std::filesystem::create_directories(cfg.data_dir, ec);
  if (ec) return Fail("cannot create data directory " + cfg.data_dir + ": " + ec.message());
  // One broker per data directory.
  int lock_fd = ::open((cfg.data_dir + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
    return Fail("data directory " + cfg.data_dir + " is in use by another sentryd (" +
                std::strerror(errno) + ")");
  }
  const std::string marker = cfg.data_dir + "/" + kCleanShutdownMarker;
  const bool clean = std::filesystem::exists(marker);
  spdlog::info("Data directory ready: {} ({} shutdown last time)", cfg.data_dir,
               clean ? "clean" : "no clean");
  if (Status s = RemoveFileDurably(marker); !s.ok()) return Fail(s.ToString());

  std::atomic<int64_t> open_connections{0};
  net::NetOptions nopt;
  nopt.max_frame_bytes = cfg.max_frame_bytes;
  nopt.max_inflight_per_connection = cfg.max_inflight_per_connection;
  nopt.max_output_bytes_per_connection = cfg.max_output_bytes_per_connection;
  nopt.idle_timeout_ms = cfg.connections_max_idle_ms;
  nopt.poll_spin_us = cfg.network_poll_spin_us;
  std::vector<std::unique_ptr<net::NetworkThread>> nets;
  std::vector<pipeline::CompletionSink*> sinks;
  std::vector<net::NetworkThread*> net_ptrs;
  for (int i = 0; i < cfg.num_network_threads; i++) {
    nets.push_back(std::make_unique<net::NetworkThread>(i, nopt, &open_connections));
    sinks.push_back(nets.back().get());
    net_ptrs.push_back(nets.back().get());
  }
  pipeline::PipelineOptions popt;
  popt.writer_threads = static_cast<uint32_t>(cfg.num_writer_threads);
  popt.queue_capacity = static_cast<size_t>(cfg.queued_max_requests);
  pipeline::Pipeline pipeline(popt, sinks);
  Prefaulter prefaulter;

  spdlog::info("Loading log segments from disk...");
  broker::TopicRegistry registry(cfg.data_dir, &pipeline, &prefaulter, cfg.max_partitions,
                                 cfg.topic_defaults);
  registry.set_min_free_bytes(static_cast<uint64_t>(cfg.min_free_bytes));
  registry.set_drop_behind_bytes(static_cast<uint64_t>(cfg.drop_behind_bytes));
  broker::RecoveryContext rctx;
  rctx.clean_shutdown = clean;
  rctx.truncate_corrupt = cfg.recovery_truncate_corrupt;
  if (!clean) {
    auto points = recovery::ReadRecoveryCheckpoint(cfg.data_dir);
    if (points.ok()) {
      rctx.recovery_points = std::move(points).value();
    } else {
      spdlog::warn("{}; walking every segment", points.status().ToString());
    }
  }
  const int64_t load_start = SteadyMillis();
  broker::LoadSummary summary;
  if (Status s = registry.LoadAll(rctx, &summary); !s.ok()) {
    return Fail("loading topics: " + s.ToString());
  }
  auto offsets_partition = registry.OpenInternal(kOffsetsTopic, &summary);
  if (!offsets_partition.ok()) return Fail("consumer offsets: " + offsets_partition.status().ToString());
  broker::OffsetStore offsets(offsets_partition.value());
  if (Status s = offsets.Load(); !s.ok()) return Fail("consumer offsets: " + s.ToString());
  spdlog::info("Loaded {} log segments from disk in {} ms ({} topics, {} partitions, {} segments "
               "walked, {} truncated, {} offline)",
               summary.segments, SteadyMillis() - load_start, summary.topics, summary.partitions,
               summary.segments_walked, summary.truncations, summary.offline);
  spdlog::info("Recovered offsets up to {} ({} records, {} committed consumer offsets)",
               [&] {
                 int64_t mx = 0;
                 for (auto& t : registry.List()) {
                   for (auto& p : t->partitions) mx = std::max(mx, p->log()->log_end_offset());
                 }
                 return mx;
               }(),
               summary.records, offsets.size());

  net::Server server(net_ptrs, cfg.max_connections, &open_connections);
  if (Status s = server.Listen(cfg.host, cfg.port); !s.ok()) return Fail(s.ToString());
  broker::BrokerIdentity identity{cfg.broker_id,
                                  cfg.host == "0.0.0.0" || cfg.host == "::" ? "127.0.0.1" : cfg.host,
                                  server.port()};
  broker::AdminExecutor admin(sinks);
  broker::RequestHandler handler(&registry, &offsets, &pipeline, &admin, identity,
                                 [&](const std::shared_ptr<pipeline::Partition>& p) {
                                   for (uint32_t t : p->Watchers()) nets[t]->WakeFetches(p);
                                 });
  recovery::MaintenanceOptions mopt;
  mopt.data_dir = cfg.data_dir;
  mopt.checkpoint_interval_ms = cfg.checkpoint_interval_ms;
  recovery::Maintenance maintenance(mopt, [&](std::vector<std::shared_ptr<const void>>* keep) {
    return registry.AllLogs(keep);
  });
  for (auto& n : nets) {
    n->SetHandler(&handler);
    n->Start();
  }
  maintenance.Start();
  admin.Start();
  pipeline.Start();
  if (cfg.realtime_priority > 0) {
    // Before listening: a broker that cannot honour the setting does not serve.
    Status s = pipeline.SetRealtimePriority(cfg.realtime_priority);
    for (auto& n : nets) {
      if (s.ok()) s = n->SetRealtimePriority(cfg.realtime_priority);
    }
    if (!s.ok()) {
      for (auto& n : nets) n->Stop(0);
      admin.Stop();
      pipeline.Stop();
      maintenance.Stop();
      return Fail("realtime.priority: " + s.message());
    }
    spdlog::info("Network and writer threads run under SCHED_FIFO priority {}",
                 cfg.realtime_priority);
  }
  server.Start();
  spdlog::info("Listening for producer connections on {}:{}", cfg.host, server.port());

  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  uint64_t last_records = 0, last_bytes_in = 0, last_bytes_out = 0, last_syncs = 0,
           last_sync_us = 0;
  int64_t last_stats = SteadyMillis();
  while (true) {
    timespec ts{};
    int64_t wait_ms = cfg.stats_interval_ms > 0 ? cfg.stats_interval_ms : 3600 * 1000;
    ts.tv_sec = wait_ms / 1000;
    ts.tv_nsec = (wait_ms % 1000) * 1000000;
    int sig = ::sigtimedwait(&set, nullptr, &ts);
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("Received {}, shutting down...", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
    if (cfg.stats_interval_ms <= 0) continue;
    uint64_t records = 0, bytes_in = 0, bytes_out = 0;
    size_t depth = 0;
    for (uint32_t w = 0; w < pipeline.writer_count(); w++) {
      records += pipeline.writer(w).stats().records_in.load();
      bytes_in += pipeline.writer(w).stats().bytes_in.load();
      depth += pipeline.writer(w).depth();
    }
    for (auto& n : nets) bytes_out += n->stats().bytes_out.load();
    uint64_t syncs = pipeline.flusher().stats().syncs.load();
    uint64_t sync_us = pipeline.flusher().stats().sync_micros_total.load();
    int64_t now = SteadyMillis();
    double secs = std::max<int64_t>(1, now - last_stats) / 1000.0;
    spdlog::info(
        "stats: in {:.0f} records/s {:.1f} MB/s, out {:.1f} MB/s, connections {}, queue depth "
        "{}, flushes {} (avg {:.2f} ms, max {:.2f} ms)",
        (records - last_records) / secs, (bytes_in - last_bytes_in) / secs / 1e6,
        (bytes_out - last_bytes_out) / secs / 1e6, open_connections.load(), depth,
        syncs - last_syncs,
        syncs > last_syncs ? (sync_us - last_sync_us) / 1000.0 / (syncs - last_syncs) : 0.0,
        pipeline.flusher().stats().sync_micros_max.load() / 1000.0);
    last_records = records;
    last_bytes_in = bytes_in;
    last_bytes_out = bytes_out;
    last_syncs = syncs;
    last_sync_us = sync_us;
    last_stats = now;
  }

  server.Stop();
  for (auto& n : nets) n->Stop(/*grace_ms=*/3000);
  admin.Stop();  // before the writers: a delete waits for them
  pipeline.Stop();
  maintenance.Stop();
  Status closed = registry.CloseAll();
  if (closed.ok()) closed = maintenance.CheckpointNow();
  if (!closed.ok()) {
    spdlog::error("Shutdown was not clean: {}; the next start will recover", closed.ToString());
    return 1;
  }
  if (Status s = WriteFileAtomically(marker, "clean\n"); !s.ok()) {
    spdlog::error("cannot write the clean-shutdown marker: {}", s.ToString());
    return 1;
  }
  spdlog::info("Sentry Broker stopped cleanly");
  return 0;
}

}  // namespace
}  // namespace sentry

int main(int argc, char** argv) {
  // Signals are taken by the main thread alone (sigtimedwait): block them
  // before any other thread exists so every thread inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  sentry::broker::BrokerConfig cfg;
  int exit_code = 0;
  if (!sentry::broker::BrokerConfig::Parse(argc, argv, &cfg, &exit_code)) return exit_code;
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %v");
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  spdlog::flush_on(spdlog::level::info);
  return sentry::RunBroker(cfg);
}
