// Completion: an operation that finished on another thread (a writer, the
// flusher, the admin thread) on its way back to the network thread of the
// connection that asked for it.
//
// Ownership is explicit: a Completion is always held by exactly one
// std::unique_ptr (a queue slot, a thread's local, an inbox message), so one
// that can no longer be delivered (its connection closed, the network thread
// stopped) is freed by whoever holds it last, never lost.
//
// Knows no wire format: the front end that asked keeps what it needs to
// answer (correlation id, API version, ...) in `reply`, a small trivially
// copyable struct of its own stored inline (no allocation per request).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <string_view>
#include <type_traits>

#include "common/status.h"

namespace sentry::pipeline {

// Where a completion goes: a network thread and one of its connections.
struct Route {
  uint32_t net_thread = 0;
  uint64_t conn_id = 0;
};

// What a front end carries with an operation to answer it later: a value of
// its own type T, stored inline. Only the front end that stored it reads it
// back, as the same T.
class ReplyContext {
 public:
  static constexpr size_t kCapacity = 24;
  template <typename T>
  void Set(const T& v) {
    static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= kCapacity,
                  "a reply context is a small trivially copyable struct");
    std::memcpy(bytes_.data(), &v, sizeof(T));
  }
  template <typename T>
  T Get() const {
    static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= kCapacity);
    T v;
    std::memcpy(&v, bytes_.data(), sizeof(T));
    return v;
  }

 private:
  alignas(8) std::array<uint8_t, kCapacity> bytes_{};
};

struct Completion {
  // What kind of operation it is, so the receiver needs no dynamic_cast.
  enum class Kind : uint8_t { kWrite, kAdmin, kGroup };
  explicit Completion(Kind k) : kind(k) {}
  virtual ~Completion() = default;
  const Kind kind;
  Route route;
  Status status;       // the operation's result
  ReplyContext reply;  // the asking front end's
  // Request metrics: when the front end took the request and the API name
  // it is counted under (static storage; empty: not counted).
  int64_t start_nanos = 0;
  std::string_view metric_api;
  // Runs on the network thread once the operation is done, before the answer
  // and whether or not the connection is still open (e.g. an offset commit
  // updates the in-memory store). May be empty.
  std::function<void(Completion&)> on_done;

  // Runs on_done once (later calls do nothing). The network layer calls it
  // for every completion it receives, delivered or not.
  void Finish() {
    if (!on_done) return;
    auto f = std::move(on_done);
    on_done = nullptr;
    f(*this);
  }
};

using CompletionPtr = std::unique_ptr<Completion>;

}  // namespace sentry::pipeline
