#include "metrics/thread_metrics.h"

#include <time.h>

namespace sentry::metrics {

thread_local ThreadMetrics* ThreadMetrics::current_ = nullptr;
thread_local Listener ThreadMetrics::request_listener_ = Listener::kNative;
thread_local std::string_view ThreadMetrics::request_api_;
thread_local int64_t ThreadMetrics::request_start_ = 0;
thread_local int64_t ThreadMetrics::pass_nanos_ = 0;

int64_t SteadyNanos() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

const char* ListenerName(Listener l) {
  switch (l) {
    case Listener::kNative: return "native";
    case Listener::kKafka: return "kafka";
  }
  return "unknown";
}

std::string MetricApiName(std::string_view api) {
  std::string out;
  for (size_t i = 0; i < api.size(); i++) {
    const char c = api[i];
    if (c >= 'A' && c <= 'Z') {
      // A capital after a lower-case letter or digit starts a word (CamelCase).
      if (i > 0 && ((api[i - 1] >= 'a' && api[i - 1] <= 'z') ||
                    (api[i - 1] >= '0' && api[i - 1] <= '9'))) {
        out += '_';
      }
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      out += c;
    }
  }
  return out;
}

ThreadMetrics::ThreadMetrics() : created_nanos_(SteadyNanos()) {}

void ThreadMetrics::EndPass(int64_t now_nanos) {
  // Consecutive answers are mostly of one API: look its cell up once.
  RequestCell* cell = nullptr;
  Listener last_listener = Listener::kNative;
  std::string_view last_api;
  for (const Answered& a : answered_) {
    if (!cell || a.listener != last_listener || a.api.data() != last_api.data() ||
        a.api.size() != last_api.size()) {
      cell = &requests_.Get(RequestKey{a.listener, a.api, 0});
      last_listener = a.listener;
      last_api = a.api;
    }
    cell->latency.Observe(now_nanos - a.start_nanos);
  }
  answered_.clear();
}

int64_t ThreadMetrics::BusyNanos(int64_t now_nanos) const {
  const int64_t busy = now_nanos - created_nanos_ -
                       static_cast<int64_t>(idle_nanos_.load(std::memory_order_relaxed));
  return busy > 0 ? busy : 0;
}

}  // namespace sentry::metrics
