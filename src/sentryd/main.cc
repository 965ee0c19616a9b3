// sentryd: parses the settings, starts a Broker and runs it until SIGTERM or
// SIGINT, logging the stats line every stats.interval.ms and reloading the
// TLS certificates on SIGHUP or when their files change.
//
// Threads: main (signals, stats line), acceptor, num.network.threads network
// threads, num.writer.threads writers, one flusher, one prefaulter, one
// admin thread, one maintenance thread.
#include <signal.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>

#include <algorithm>
#include <ctime>
#include <memory>

#include "common/clock.h"
#include "sentryd/broker.h"
#include "sentryd/broker_config.h"
#include "storage/mapping_faults.h"

namespace {

// How often the main thread looks at the TLS files for a changed certificate.
constexpr int64_t kTlsPollMs = 2000;

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

// %* in a log pattern: the message escaped for a JSON string.
class JsonEscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    for (char c : msg.payload) {
      switch (c) {
        case '"': dest.append(std::string_view("\\\"")); break;
        case '\\': dest.append(std::string_view("\\\\")); break;
        case '\n': dest.append(std::string_view("\\n")); break;
        case '\t': dest.append(std::string_view("\\t")); break;
        case '\r': dest.append(std::string_view("\\r")); break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            fmt::format_to(std::back_inserter(dest), "\\u{:04x}", static_cast<int>(c));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedMessage>();
  }
};

void SetLogFormat(const std::string& format) {
  if (format != "json") {
    spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %v");
    return;
  }
  // One JSON object per line (log shippers: Vector, Fluent Bit, Loki).
  auto f = std::make_unique<spdlog::pattern_formatter>();
  f->add_flag<JsonEscapedMessage>('*').set_pattern(
      R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","thread":%t,"message":"%*"})");
  spdlog::set_formatter(std::move(f));
}

int Run(const sentry::sentryd::BrokerConfig& cfg, const sigset_t& signals) {
  sentry::sentryd::Broker broker(cfg);
  if (sentry::Status s = broker.Start(); !s.ok()) {
    spdlog::critical("{}", s.message());
    return 1;
  }
  // systemd (Type=notify): started once recovery is done and the listeners
  // are up. Without systemd (no NOTIFY_SOCKET) this does nothing.
  sd_notify(0, "READY=1");
  // The loop also polls the TLS files (a changed certificate is reloaded
  // within kTlsPollMs); SIGHUP reloads them at once.
  int64_t next_stats_ms = sentry::SteadyMillis() + cfg.stats_interval_ms;
  while (true) {
    const int64_t now_ms = sentry::SteadyMillis();
    int64_t wait_ms = kTlsPollMs;
    if (cfg.stats_interval_ms > 0) wait_ms = std::clamp<int64_t>(next_stats_ms - now_ms, 0, wait_ms);
    timespec ts{};
    ts.tv_sec = wait_ms / 1000;
    ts.tv_nsec = (wait_ms % 1000) * 1000000;
    const int sig = ::sigtimedwait(&signals, nullptr, &ts);
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("Received {}, shutting down...", sig == SIGTERM ? "SIGTERM" : "SIGINT");
      sd_notify(0, "STOPPING=1");
      break;
    }
    broker.ReloadTls(/*force=*/sig == SIGHUP);
    if (cfg.stats_interval_ms > 0 && sentry::SteadyMillis() >= next_stats_ms) {
      broker.LogStats();
      next_stats_ms = sentry::SteadyMillis() + cfg.stats_interval_ms;
    }
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
  sigaddset(&signals, SIGHUP);  // reload the TLS certificates
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // A mapped page that cannot be read takes its partition offline instead
  // of killing the broker (storage/mapping_faults.h).
  sentry::MappingFaults::InstallHandler();

  sentry::sentryd::BrokerConfig cfg;
  int exit_code = 0;
  if (!sentry::sentryd::BrokerConfig::Parse(argc, argv, &cfg, &exit_code)) return exit_code;
  spdlog::set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %v");
  SetLogFormat(cfg.log_format);
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  RaiseDescriptorLimit(cfg.max_connections);
  spdlog::flush_on(spdlog::level::info);
  return Run(cfg, signals);
}
