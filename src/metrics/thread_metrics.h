// ThreadMetrics: what one thread counts, merged with the other threads' at
// scrape time. Its owner (a NetworkThread, a Writer, the Flusher) creates it
// and installs it as the thread's Current() when the thread starts; code
// that runs on many threads (front ends, the core's reads) records into
// Current() and skips when there is none (a test's thread, the admin thread).
//
// Cost on the hot path: a lookup in a small hash map the thread owns, and
// plain loads and stores of relaxed atomics (no read-modify-write, nothing
// another thread writes). A new key (the first request of an API, the first
// fetch of a partition) takes the map's mutex once; a scrape takes it while
// it copies.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "metrics/histogram.h"

namespace sentry::metrics {

// Steady-clock nanoseconds (the time base of every duration here).
int64_t SteadyNanos();

enum class Listener : uint8_t { kNative = 0, kKafka = 1 };
const char* ListenerName(Listener l);

// A map that one thread grows and reads without a lock while others iterate
// under its mutex: the owner's lookups only race with other readers.
template <typename Key, typename Value, typename Hash, typename Eq = std::equal_to<>>
class OwnedMap {
 public:
  template <typename K>
  Value& Get(const K& k) {
    auto it = map_.find(k);
    if (it != map_.end()) return *it->second;
    std::lock_guard<std::mutex> l(mu_);
    return *map_.emplace(Key(k), std::make_unique<Value>()).first->second;
  }
  template <typename F>
  void ForEach(F&& f) const {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [k, v] : map_) f(k, *v);
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<Key, std::unique_ptr<Value>, Hash, Eq> map_;
};

// (listener, api[, error code]); `api` names a string with static storage
// (an API name table, a literal).
struct RequestKey {
  Listener listener = Listener::kNative;
  std::string_view api;
  int16_t error = 0;
  bool operator==(const RequestKey&) const = default;
};
struct RequestKeyHash {
  size_t operator()(const RequestKey& k) const {
    return std::hash<std::string_view>()(k.api) * 31 + static_cast<size_t>(k.listener) * 7 +
           static_cast<size_t>(static_cast<uint16_t>(k.error));
  }
};

// (topic, partition), looked up without building a string.
struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  TopicPartition(const std::pair<std::string_view, int32_t>& k)  // NOLINT: implicit on purpose
      : topic(k.first), partition(k.second) {}
};
struct TopicPartitionHash {
  using is_transparent = void;
  size_t operator()(const std::pair<std::string_view, int32_t>& k) const {
    return std::hash<std::string_view>()(k.first) * 31 + static_cast<size_t>(k.second);
  }
  size_t operator()(const TopicPartition& k) const { return (*this)({k.topic, k.partition}); }
};
struct TopicPartitionEq {
  using is_transparent = void;
  static std::pair<std::string_view, int32_t> View(const TopicPartition& k) {
    return {k.topic, k.partition};
  }
  static std::pair<std::string_view, int32_t> View(const std::pair<std::string_view, int32_t>& k) {
    return k;
  }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return View(a) == View(b);
  }
};

class ThreadMetrics {
 public:
  struct RequestCell {
    LocalHistogram latency;  // its count is the number of requests
  };
  struct OutCell {
    std::atomic<uint64_t> records{0};
    std::atomic<uint64_t> bytes{0};
  };

  ThreadMetrics();

  // --- the owner thread ---
  void Request(Listener l, std::string_view api, int64_t nanos) {
    requests_.Get(RequestKey{l, api, 0}).latency.Observe(nanos);
  }
  void Error(Listener l, std::string_view api, int16_t code) {
    Bump(errors_.Get(RequestKey{l, api, code}));
  }
  void Out(std::string_view topic, int32_t partition, uint64_t records, uint64_t bytes) {
    OutCell& c = out_.Get(std::pair<std::string_view, int32_t>(topic, partition));
    Bump(c.records, records);
    Bump(c.bytes, bytes);
  }
  // A histogram of the thread's own (writer queue wait, msync latency).
  LocalHistogram& histogram() { return histogram_; }
  // Time spent waiting for work (epoll_wait, a queue's wait).
  void AddIdle(int64_t nanos) { Bump(idle_nanos_, static_cast<uint64_t>(nanos)); }

  // --- any thread ---
  template <typename F>
  void ForEachRequest(F&& f) const {
    requests_.ForEach(f);
  }
  template <typename F>
  void ForEachError(F&& f) const {
    errors_.ForEach(f);
  }
  template <typename F>
  void ForEachOut(F&& f) const {
    out_.ForEach(f);
  }
  const LocalHistogram& histogram() const { return histogram_; }
  // Nanoseconds since this object was made that were not spent waiting.
  int64_t BusyNanos(int64_t now_nanos) const;

  // The calling thread's metrics (null when it has none).
  static ThreadMetrics* Current() { return current_; }
  static void SetCurrent(ThreadMetrics* m) { current_ = m; }

  // The request the calling thread is serving (front ends set it when they
  // take a request or its completion), so that code which maps an error to
  // a wire code, and knows no API, can count it (ErrorInRequest), and the
  // front end can time it (EndRequest). `api` has static storage.
  static void BeginRequest(Listener l, std::string_view api, int64_t start_nanos) {
    request_listener_ = l;
    request_api_ = api;
    request_start_ = start_nanos;
  }
  // Names the request more precisely once decoded (produce: by acks).
  static void SetRequestApi(std::string_view api) { request_api_ = api; }
  static std::string_view RequestApi() { return request_api_; }
  static int64_t RequestStart() { return request_start_; }
  static void ErrorInRequest(int16_t code) {
    if (code != 0 && current_ && !request_api_.empty()) {
      current_->Error(request_listener_, request_api_, code);
    }
  }
  // The current request was answered: counts it and its latency (at the
  // end of the pass when the thread runs passes).
  static void EndRequest() {
    if (!current_ || request_api_.empty()) return;
    if (pass_nanos_ != 0) {
      current_->answered_.push_back({request_listener_, request_api_, request_start_});
    } else {
      current_->Request(request_listener_, request_api_, SteadyNanos() - request_start_);
    }
  }

  // A thread that works in passes (a network thread: wait, then handle
  // everything that is ready) reads the clock twice per pass instead of
  // twice per request: BeginPass(now) after its wait, Now() is that time
  // for every request the pass takes, and EndPass(now) counts the requests
  // the pass answered with `now` as their end (their answers are written
  // in the pass). Clock reads cost ~30-70 ns on a VM: per request that
  // was 5-10% of a network thread's time in scenario (b).
  static void BeginPass(int64_t now_nanos) { pass_nanos_ = now_nanos; }
  static int64_t Now() { return pass_nanos_ != 0 ? pass_nanos_ : SteadyNanos(); }
  void EndPass(int64_t now_nanos);

 private:
  OwnedMap<RequestKey, RequestCell, RequestKeyHash> requests_;
  OwnedMap<RequestKey, std::atomic<uint64_t>, RequestKeyHash> errors_;
  OwnedMap<TopicPartition, OutCell, TopicPartitionHash, TopicPartitionEq> out_;
  LocalHistogram histogram_;
  std::atomic<uint64_t> idle_nanos_{0};
  const int64_t created_nanos_;

  static thread_local ThreadMetrics* current_;
  static thread_local Listener request_listener_;
  static thread_local std::string_view request_api_;
  static thread_local int64_t request_start_;
  static thread_local int64_t pass_nanos_;
  // Requests answered in the current pass (owner only).
  struct Answered {
    Listener listener;
    std::string_view api;
    int64_t start_nanos;
  };
  std::vector<Answered> answered_;
};

// The `api` label of a produce, by its acks (both protocols).
inline std::string_view ProduceMetricApi(int16_t acks) {
  return acks == -1 ? "produce_acks_all" : acks == 0 ? "produce_acks_0" : "produce_acks_1";
}

// "ListOffsets" or "LIST_OFFSETS" -> "list_offsets": the `api` label.
std::string MetricApiName(std::string_view api);

}  // namespace sentry::metrics
