// BrokerProcess: a real sentryd on an ephemeral port with a temporary data
// directory, for integration and crash tests. The port is read from the
// "Listening for producer connections on HOST:PORT" log line (awaited, never
// slept for). All output is kept for assertions on log lines.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"

namespace sentry::testing {

class BrokerProcess {
 public:
  // `data_dir` is kept across restarts; `extra_args` are appended to the flags.
  BrokerProcess(std::string data_dir, std::vector<std::string> extra_args = {});
  ~BrokerProcess();

  // Starts sentryd and waits (up to 20 s) for it to listen. False on failure.
  bool Start();
  // SIGTERM and wait; returns the exit code (or -signal, or -1000 on timeout).
  int Stop(int timeout_ms = 15000);
  // SIGKILL and reap.
  void Kill();
  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  // The Kafka protocol listener's port; -1 when it is off.
  int kafka_port() const { return kafka_port_; }
  // The HTTP listener's port, -1 when it is off.
  int http_port() const { return http_port_; }
  pid_t pid() const { return pid_; }
  // Everything the broker printed so far.
  std::string Output();
  // Waits until the output contains `needle`.
  bool WaitForOutput(const std::string& needle, int timeout_ms = 10000);
  // Peak resident set (VmHWM) of the running broker, in KiB.
  long PeakRssKb() const;
  // Resident set now (VmRSS), in KiB.
  long RssKb() const;

  std::unique_ptr<client::Client> NewClient();
  void set_extra_args(std::vector<std::string> a) { extra_args_ = std::move(a); }
  // RLIMIT_NOFILE for the broker process (0 = inherit).
  void set_fd_limit(int n) { fd_limit_ = n; }
  // CPU time (user + system) the broker has used, in clock ticks.
  long CpuTicks() const;

 private:
  void ReadOutput(int fd);
  // A "Field:  N kB" line of /proc/PID/status, in KiB; -1 when missing.
  long StatusKb(const std::string& field) const;
  std::string data_dir_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  int fd_limit_ = 0;
  int port_ = 0;
  int kafka_port_ = -1;
  int http_port_ = -1;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string output_;
  bool output_closed_ = false;  // guarded by mu_
};

// Path of the sentryd binary under test (set by CMake).
const char* SentrydPath();

}  // namespace sentry::testing
