// AdminExecutor: the one thread that runs CREATE_TOPIC and DELETE_TOPIC.
//
// Why: creating a topic creates, allocates and maps files and fsyncs
// directories (60-80 ms for 16 partitions here), and a delete waits for the
// writers to pass any append in progress. On a network thread that stalled
// every other connection of that thread for as long. Here only the asking
// connection waits: its later frames are held (ClientSession::admin_pending), as
// Kafka mutes a connection until its response is sent.
//
// Threads: Submit from network threads; the operation runs on this thread and
// its AdminCompletion (result in `result`) goes back through the asking
// network thread's CompletionSink. Stop() runs what is queued first.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "broker/error.h"
#include "common/mutex.h"
#include "pipeline/write_request.h"

namespace sentry::broker {

// The answer to an admin operation on its way back to the asking connection.
struct AdminCompletion final : pipeline::Completion {
  AdminCompletion() : Completion(Kind::kAdmin) {}
  Error result;
  int64_t value = -1;  // an operation's number, e.g. DeleteRecords' new log start
};

class AdminExecutor {
 public:
  using Operation = std::function<Error()>;
  explicit AdminExecutor(std::vector<pipeline::CompletionSink*> sinks);
  ~AdminExecutor();
  AdminExecutor(const AdminExecutor&) = delete;
  AdminExecutor& operator=(const AdminExecutor&) = delete;
  void Start();
  void Stop();
  // Runs `op`, stores its result in c->result and completes `c` to its
  // network thread. After Stop() it runs on the calling thread instead.
  void Submit(std::unique_ptr<AdminCompletion> c, Operation op);

 private:
  void Run();
  void Execute(std::unique_ptr<AdminCompletion> c, const Operation& op);
  const std::vector<pipeline::CompletionSink*> sinks_;
  Mutex mu_;
  std::condition_variable_any cv_;
  std::deque<std::pair<std::unique_ptr<AdminCompletion>, Operation>> queue_ GUARDED_BY(mu_);
  bool running_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace sentry::broker
