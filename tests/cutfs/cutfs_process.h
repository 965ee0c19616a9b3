// CutFs: runs tests/cutfs (CUTFS_PATH, a compile definition) for a test:
// mounts it, cuts power on it, unmounts it when the test ends.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace sentry::testing {

// The cutfs process: mounts at `mount`, cuts on SIGUSR1/SIGUSR2.
class CutFs {
 public:
  // `extra`: more cutfs arguments (--sync-delay-ms N).
  CutFs(std::string mount, uint64_t seed, std::vector<std::string> extra = {})
      : mount_(std::move(mount)), seed_(seed), extra_(std::move(extra)) {}
  ~CutFs() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st;
      ::waitpid(pid_, &st, 0);
    }
    if (out_ >= 0) ::close(out_);
  }

  // Starts cutfs and waits until it has mounted. False (with the reason in
  // *why) when FUSE is not available.
  bool Mount(std::string* why) {
    std::filesystem::create_directories(mount_);
    int fds[2];
    if (::pipe(fds) != 0) return false;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      std::string seed = std::to_string(seed_);
      std::vector<const char*> argv{"cutfs", mount_.c_str(), "--seed", seed.c_str()};
      for (const auto& a : extra_) argv.push_back(a.c_str());
      argv.push_back(nullptr);
      ::execv(CUTFS_PATH, const_cast<char* const*>(argv.data()));
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = fds[0];
    if (WaitForLine("mounted 1", 20000)) return true;
    *why = "cutfs did not mount " + mount_ + " (it needs /dev/fuse, fuse3 and root); it said: " +
           lines_;
    return false;
  }

  // The power cut: the disk keeps what was synced (`random`: and a random
  // part of the rest). Waits for cutfs to have mounted the disk again and
  // returns what it reported, or "" on failure.
  std::string Cut(bool random) {
    generation_++;
    ::kill(pid_, random ? SIGUSR2 : SIGUSR1);
    std::string cut = "cut " + std::to_string(generation_ - 1);
    if (!WaitForLine("mounted " + std::to_string(generation_), 30000)) return "";
    auto at = lines_.rfind(cut);
    return at == std::string::npos ? "" : lines_.substr(at, lines_.find('\n', at) - at);
  }

  const std::string& output() const { return lines_; }

 private:
  bool WaitForLine(const std::string& line, int timeout_ms) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (lines_.find(line + "\n") == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) return false;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[512];
      ssize_t n = ::read(out_, buf, sizeof(buf));
      if (n <= 0) return false;  // cutfs exited
      lines_.append(buf, static_cast<size_t>(n));
    }
    return true;
  }

  std::string mount_;
  uint64_t seed_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
  int out_ = -1;
  int generation_ = 1;
  std::string lines_;
};

}  // namespace sentry::testing
