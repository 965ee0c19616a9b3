#include "broker/admin_executor.h"

#include <spdlog/spdlog.h>

#include <exception>

namespace sentry::broker {

AdminExecutor::AdminExecutor(std::vector<pipeline::CompletionSink*> sinks)
    : sinks_(std::move(sinks)) {}

AdminExecutor::~AdminExecutor() { Stop(); }

void AdminExecutor::Start() {
  MutexLock l(&mu_);
  running_ = true;
  thread_ = std::thread([this] { Run(); });
}

void AdminExecutor::Stop() {
  {
    MutexLock l(&mu_);
    if (!running_) return;
    stop_ = true;
    running_ = false;
  }
  cv_.notify_one();
  thread_.join();
}

void AdminExecutor::Submit(std::unique_ptr<AdminCompletion> c, Operation op) {
  {
    MutexLock l(&mu_);
    if (running_) {
      queue_.emplace_back(std::move(c), std::move(op));
      cv_.notify_one();
      return;
    }
  }
  Execute(std::move(c), op);
}

void AdminExecutor::Execute(std::unique_ptr<AdminCompletion> c, const Operation& op) {
  try {
    c->result = op();
  } catch (const std::exception& e) {
    spdlog::error("admin operation of connection {} failed: {}", c->route.conn_id, e.what());
    c->result = Error{Errc::kInternal, e.what()};
  }
  const uint32_t t = c->route.net_thread;
  sinks_[t]->Complete(std::move(c));
}

void AdminExecutor::Run() {
  while (true) {
    std::unique_ptr<AdminCompletion> c;
    Operation op;
    {
      MutexLock l(&mu_);
      while (!stop_ && queue_.empty()) cv_.wait(mu_);
      if (queue_.empty()) return;  // stop_ and nothing left
      c = std::move(queue_.front().first);
      op = std::move(queue_.front().second);
      queue_.pop_front();
    }
    Execute(std::move(c), op);
  }
}

}  // namespace sentry::broker
