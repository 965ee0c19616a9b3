#include "broker/admin_executor.h"

#include <spdlog/spdlog.h>

#include <exception>

namespace sentry::broker {

AdminExecutor::AdminExecutor(std::vector<pipeline::CompletionSink*> sinks)
    : sinks_(std::move(sinks)) {}

AdminExecutor::~AdminExecutor() { Stop(); }

void AdminExecutor::Start() {
  std::lock_guard<std::mutex> l(mu_);
  running_ = true;
  thread_ = std::thread([this] { Run(); });
}

void AdminExecutor::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!running_) return;
    stop_ = true;
    running_ = false;
  }
  cv_.notify_one();
  thread_.join();
}

void AdminExecutor::Submit(pipeline::WriteRequest* req, Operation op) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (running_) {
      queue_.emplace_back(req, std::move(op));
      cv_.notify_one();
      return;
    }
  }
  Execute(req, op);
}

void AdminExecutor::Execute(pipeline::WriteRequest* req, const Operation& op) {
  try {
    req->error = op();
  } catch (const std::exception& e) {
    spdlog::error("{} (correlation {}) failed: {}", protocol::ApiName(req->api_key),
                  req->correlation_id, e.what());
    req->error = protocol::ErrorCode::kUnknownServerError;
  }
  sinks_[req->net_thread]->Complete(req);
}

void AdminExecutor::Run() {
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    cv_.wait(l, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stop_ and nothing left
    auto [req, op] = std::move(queue_.front());
    queue_.pop_front();
    l.unlock();
    Execute(req, op);
    l.lock();
  }
}

}  // namespace sentry::broker
