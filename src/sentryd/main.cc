// sentryd: parses the settings, starts a Broker and runs it until SIGTERM or
// SIGINT, logging the stats line every stats.interval.ms.
//
// Threads: main (signals, stats line), acceptor, num.network.threads network
// threads, num.writer.threads writers, one flusher, one prefaulter, one
// admin thread, one maintenance thread.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <ctime>

#include "sentryd/broker.h"
#include "sentryd/broker_config.h"

namespace {

constexpr int64_t kNoStatsWakeMs = 3600 * 1000;

// Every connection is a descriptor: max.connections defaults to 10,000 while
// the usual soft limit is 1,024. Raise the soft limit to the hard one (what
// any process may do) and say what it is, as Kafka's docs ask operators to.
void RaiseDescriptorLimit(int64_t max_connections) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &rl);
    (void)::getrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur != RLIM_INFINITY && static_cast<int64_t>(rl.rlim_cur) < max_connections + 64) {
    spdlog::warn("open files limit is {}: fewer than max.connections ({}) + 64; raise it "
                 "(ulimit -n, LimitNOFILE=) or lower max.connections",
                 rl.rlim_cur, max_connections);
  }
}

int Run(const sentry::sentryd::BrokerConfig& cfg, const sigset_t& signals) {
  sentry::sentryd::Broker broker(cfg);
  if (sentry::Status s = broker.Start(); !s.ok()) {
    spdlog::critical("{}", s.message());
    return 1;
  }
  while (true) {
    const int64_t wait_ms = cfg.stats_interval_ms > 0 ? cfg.stats_interval_ms : kNoStatsWakeMs;
    timespec ts{};
    ts.tv_sec = wait_ms / 1000;
    ts.tv_nsec = (wait_ms % 1000) * 1000000;
    const int sig = ::sigtimedwait(&signals, nullptr, &ts);
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("Received {}, shutting down...", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      break;
    }
    if (cfg.stats_interval_ms > 0) broker.LogStats();
  }
  if (sentry::Status s = broker.Stop(); !s.ok()) {
    spdlog::error("{}", s.message());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Signals are taken by the main thread alone (sigtimedwait): block them
  // before any other thread exists so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  sentry::sentryd::BrokerConfig cfg;
  int exit_code = 0;
  if (!sentry::sentryd::BrokerConfig::Parse(argc, argv, &cfg, &exit_code)) return exit_code;
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %v");
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  RaiseDescriptorLimit(cfg.max_connections);
  spdlog::flush_on(spdlog::level::info);
  return Run(cfg, signals);
}
