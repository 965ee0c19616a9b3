#include "broker/cleaner.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>

#include "common/clock.h"

namespace sentry::broker {

namespace {

// Nice 19 and the idle I/O class for the calling thread: compaction is
// background work that should never take CPU or disk time from requests.
void LowestPriority() {
  const pid_t tid = static_cast<pid_t>(::syscall(SYS_gettid));
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), 19) != 0) {
    spdlog::warn("log cleaner: could not lower its CPU priority");
  }
  constexpr int kIoprioWhoProcess = 1, kIoprioClassIdle = 3, kIoprioClassShift = 13;
  if (::syscall(SYS_ioprio_set, kIoprioWhoProcess, tid, kIoprioClassIdle << kIoprioClassShift) !=
      0) {
    spdlog::warn("log cleaner: could not lower its I/O priority");
  }
}

}  // namespace

SwapFaultHook CrashHookFromEnvironment() {
  const char* at = std::getenv("SENTRY_FAULT_CLEANER_CRASH_AT");
  if (!at || !*at) return {};
  const long n = std::strtol(at, nullptr, 10);
  if (n <= 0) return {};
  spdlog::warn("SENTRY_FAULT_CLEANER_CRASH_AT={}: this process kills itself at the {}th crash "
               "point of a compaction swap (a test setting)",
               n, n);
  auto count = std::make_shared<std::atomic<long>>(0);
  return [count, n](std::string_view step) {
    if (count->fetch_add(1) + 1 == n) {
      spdlog::warn("fault injection: killing the process at compaction step '{}'", step);
      spdlog::default_logger()->flush();
      std::raise(SIGKILL);
    }
    return true;
  };
}

Cleaner::Cleaner(TopicRegistry* registry, CleanerOptions opt)
    : registry_(registry), opt_(std::move(opt)) {}

Cleaner::~Cleaner() { Stop(); }

void Cleaner::Start() {
  for (int i = 0; i < opt_.threads; i++) {
    threads_.emplace_back([this, i] { Run(static_cast<size_t>(i)); });
  }
}

void Cleaner::Stop() {
  {
    MutexLock l(&mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

bool Cleaner::Stopping() const {
  MutexLock l(&mu_);
  return stop_;
}

CleanerTotals Cleaner::totals() const {
  MutexLock l(&mu_);
  return totals_;
}

bool Cleaner::RunOnce(OffsetMap* map) {
  const int64_t now = opt_.now_ms ? opt_.now_ms() : WallMillis();
  // The most due partition that nobody else is cleaning.
  std::shared_ptr<const Topic> best_topic;
  std::shared_ptr<pipeline::Partition> best;
  double best_score = -1;
  auto topics = registry_->List();
  for (auto& t : registry_->ListInternal()) topics.push_back(std::move(t));
  for (const auto& topic : topics) {
    if (!topic->config.cleanup_compact) continue;
    const CleanerConfig cc = topic->config.ToCleanerConfig();
    for (const auto& p : topic->partitions) {
      if (p->deleted() || p->log()->offline()) continue;
      {
        MutexLock l(&mu_);
        if (busy_.count(p.get()) || failed_.count(p.get())) continue;
      }
      // Rolled segments become cleanable once synced; sync them now rather
      // than wait for the next checkpoint.
      (void)p->log()->FlushSealed();
      const Cleanable c = FindCleanable(*p->log(), now, cc);
      if (!c.Due(cc)) continue;
      const double score = c.overdue ? 2.0 + c.dirty_ratio() : c.dirty_ratio();
      if (score > best_score) {
        best_score = score;
        best_topic = topic;
        best = p;
      }
    }
  }
  if (!best) return false;
  {
    MutexLock l(&mu_);
    if (!busy_.insert(best.get()).second) return true;  // another thread took it: look again
  }
  const std::string name = best_topic->name + "-" + std::to_string(best->index());
  CleanOptions co;
  co.now_ms = now;
  co.config = best_topic->config.ToCleanerConfig();
  co.fault = opt_.fault;
  co.stop = [this, p = best.get()] { return p->deleted() || Stopping(); };
  const auto started = std::chrono::steady_clock::now();
  Result<CleanStats> r = CleanStats{};
  {
    MutexLock l(&best->retention_mu());
    if (best->deleted()) {
      MutexLock b(&mu_);
      busy_.erase(best.get());
      return true;
    }
    r = CleanLog(best->log(), map, co);
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  MutexLock l(&mu_);
  busy_.erase(best.get());
  if (!r.ok()) {
    totals_.failures++;
    failed_.insert(best.get());
    spdlog::error("log cleaner: {} failed and is left alone until restart: {}", name,
                  r.status().ToString());
    return true;
  }
  if (r->cleaned_to < 0) return false;  // stopped early, or nothing after all
  totals_.passes++;
  totals_.bytes_in += r->bytes_in;
  totals_.bytes_out += r->bytes_out;
  spdlog::info("log cleaner: {} cleaned to offset {}: {} segment(s) of {} bytes -> {} of {} "
               "bytes, {} of {} records kept, {} tombstone(s) removed, {} keys mapped{}, "
               "{:.3f} s ({:.1f} MB/s)",
               name, r->cleaned_to, r->segments_in, r->bytes_in, r->segments_out, r->bytes_out,
               r->records_kept, r->records_in, r->tombstones_removed, r->keys_mapped,
               r->map_filled ? " (map full: the rest next pass)" : "", secs,
               secs > 0 ? static_cast<double>(r->bytes_in) / 1e6 / secs : 0.0);
  return true;
}

void Cleaner::Run(size_t /*thread_index*/) {
  LowestPriority();
  const size_t per_thread =
      opt_.dedupe_buffer_bytes / static_cast<size_t>(std::max(opt_.threads, 1));
  OffsetMap map(per_thread);
  while (!Stopping()) {
    if (RunOnce(&map)) continue;
    const auto due = std::chrono::steady_clock::now() + std::chrono::milliseconds(opt_.backoff_ms);
    MutexLock l(&mu_);
    while (!stop_ && std::chrono::steady_clock::now() < due) cv_.wait_until(mu_, due);
  }
}

}  // namespace sentry::broker
