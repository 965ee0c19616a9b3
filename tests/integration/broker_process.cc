#include "integration/broker_process.h"

#include <signal.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

namespace sentry::testing {

const char* SentrydPath() { return SENTRYD_PATH; }

BrokerProcess::BrokerProcess(std::string data_dir, std::vector<std::string> extra_args)
    : data_dir_(std::move(data_dir)), extra_args_(std::move(extra_args)) {}

BrokerProcess::~BrokerProcess() {
  if (pid_ > 0) Kill();
  if (reader_.joinable()) reader_.join();
}

bool BrokerProcess::Start() {
  if (reader_.joinable()) reader_.join();
  {
    std::lock_guard<std::mutex> l(mu_);
    output_.clear();
    output_closed_ = false;
  }
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return false;
  std::vector<std::string> args = {SentrydPath(), "--data-dir", data_dir_, "--port", "0",
                                   "--host", "127.0.0.1", "--stats.interval.ms", "0"};
  // The Kafka listener on a free port too, unless the test chose one.
  if (std::find(extra_args_.begin(), extra_args_.end(), "--kafka.port") == extra_args_.end()) {
    args.insert(args.end(), {"--kafka.port", "0"});
  }
  // And the HTTP listener (its default port would clash between tests).
  if (std::find(extra_args_.begin(), extra_args_.end(), "--http.port") == extra_args_.end()) {
    args.insert(args.end(), {"--http.port", "0"});
  }
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  pid_ = ::fork();
  if (pid_ == 0) {
    if (fd_limit_ > 0) {
      rlimit rl{static_cast<rlim_t>(fd_limit_), static_cast<rlim_t>(fd_limit_)};
      ::setrlimit(RLIMIT_NOFILE, &rl);
    }
    ::dup2(pipefd[1], 1);
    ::dup2(pipefd[1], 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::fprintf(stderr, "exec %s: %s\n", argv[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(pipefd[1]);
  reader_ = std::thread([this, fd = pipefd[0]] { ReadOutput(fd); });
  std::unique_lock<std::mutex> l(mu_);
  static const std::regex kListening(R"(Listening for producer connections on [^ \n"]+:(\d+))");
  static const std::regex kKafka(R"(Listening for Kafka protocol connections on [^ \n"]+:(\d+))");
  std::smatch m;
  // The Kafka line (or the line saying it is off) follows the native one.
  auto started = [&] {
    return std::regex_search(output_, m, kListening) &&
           (std::regex_search(output_, kKafka) ||
            output_.find("Kafka protocol listener off") != std::string::npos);
  };
  bool ok = cv_.wait_for(l, std::chrono::seconds(20), [&] {
    return started() || output_closed_ || output_.find("[critical]") != std::string::npos;
  });
  if (!ok || !started()) return false;
  port_ = std::stoi(m[1]);
  kafka_port_ = std::regex_search(output_, m, kKafka) ? std::stoi(m[1]) : -1;
  static const std::regex kHttp(R"(Listening for HTTP on [^ \n"]+:(\d+))");
  http_port_ = std::regex_search(output_, m, kHttp) ? std::stoi(m[1]) : -1;
  return true;
}

void BrokerProcess::ReadOutput(int fd) {
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    std::lock_guard<std::mutex> l(mu_);
    output_.append(buf, static_cast<size_t>(n));
    cv_.notify_all();
  }
  ::close(fd);
  std::lock_guard<std::mutex> l(mu_);
  output_closed_ = true;  // the process exited (or closed its output)
  cv_.notify_all();
}

int BrokerProcess::Stop(int timeout_ms) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  // A pidfd becomes readable when the process exits: wait on it, no polling.
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    int r = ::poll(&p, 1, timeout_ms);
    ::close(pidfd);
    if (r != 1) {
      Kill();
      return -1000;
    }
  }
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  if (reader_.joinable()) reader_.join();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

void BrokerProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  if (reader_.joinable()) reader_.join();
}

std::string BrokerProcess::Output() {
  std::lock_guard<std::mutex> l(mu_);
  return output_;
}

bool BrokerProcess::WaitForOutput(const std::string& needle, int timeout_ms) {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, std::chrono::milliseconds(timeout_ms),
                      [&] { return output_.find(needle) != std::string::npos; });
}

long BrokerProcess::CpuTicks() const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
  std::string all((std::istreambuf_iterator<char>(in)), {});
  auto close = all.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(all.substr(close + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; i++) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

long BrokerProcess::StatusKb(const std::string& field) const {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
  std::string line;
  const std::string key = field + ":";
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stol(line.substr(key.size()));
  }
  return -1;
}

long BrokerProcess::PeakRssKb() const { return StatusKb("VmHWM"); }
long BrokerProcess::RssKb() const { return StatusKb("VmRSS"); }

std::unique_ptr<client::Client> BrokerProcess::NewClient() {
  auto c = client::Client::Connect("127.0.0.1", port_);
  return c.ok() ? std::move(c).value() : nullptr;
}

}  // namespace sentry::testing
