// AdminExecutor: operations run on its own thread, the submitter never waits
// for them, results come back through the right completion sink.
#include "broker/admin_executor.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <stdexcept>

namespace sentry::broker {
namespace {

using protocol::ErrorCode;
using pipeline::WriteRequest;

class RecordingSink : public pipeline::CompletionSink {
 public:
  void Complete(WriteRequest* req) override {
    std::lock_guard<std::mutex> l(mu_);
    done_.emplace_back(req);
    if (waiter_ && done_.size() == want_) waiter_->set_value();
  }
  void WakeFetches(const std::shared_ptr<pipeline::Partition>&) override {}
  std::future<void> ExpectCompletions(size_t n) {
    std::lock_guard<std::mutex> l(mu_);
    want_ = n;
    waiter_.emplace();
    auto f = waiter_->get_future();
    if (done_.size() >= n) waiter_->set_value();
    return f;
  }
  size_t count() {
    std::lock_guard<std::mutex> l(mu_);
    return done_.size();
  }
  WriteRequest* at(size_t i) {
    std::lock_guard<std::mutex> l(mu_);
    return done_[i].get();
  }

 private:
  std::mutex mu_;
  std::vector<std::unique_ptr<WriteRequest>> done_;
  size_t want_ = 0;
  std::optional<std::promise<void>> waiter_;
};

WriteRequest* NewRequest(uint32_t net_thread, uint32_t correlation) {
  auto* r = new WriteRequest();
  r->kind = WriteRequest::Kind::kAdmin;
  r->net_thread = net_thread;
  r->correlation_id = correlation;
  return r;
}

TEST(AdminExecutorTest, SubmitDoesNotWaitForTheOperation) {
  RecordingSink a, b;
  AdminExecutor ex({&a, &b});
  ex.Start();
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  auto done = b.ExpectCompletions(2);
  // The first operation blocks until released; Submit must return anyway.
  ex.Submit(NewRequest(1, 7), [gate] {
    gate.wait();
    return ErrorCode::kTopicAlreadyExists;
  });
  ex.Submit(NewRequest(1, 8), [] { return ErrorCode::kNone; });
  EXPECT_EQ(b.count(), 0u) << "completed before the operation was released";
  release.set_value();
  ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(a.count(), 0u) << "completion went to the wrong network thread";
  EXPECT_EQ(b.at(0)->correlation_id, 7u) << "operations run in submission order";
  EXPECT_EQ(b.at(0)->error, ErrorCode::kTopicAlreadyExists);
  EXPECT_EQ(b.at(1)->error, ErrorCode::kNone);
}

TEST(AdminExecutorTest, AThrowingOperationAnswersUnknownServerError) {
  RecordingSink a;
  AdminExecutor ex({&a});
  ex.Start();
  auto done = a.ExpectCompletions(1);
  ex.Submit(NewRequest(0, 1), []() -> ErrorCode { throw std::runtime_error("disk on fire"); });
  ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(a.at(0)->error, ErrorCode::kUnknownServerError);
}

TEST(AdminExecutorTest, StopRunsWhatIsQueuedAndLaterSubmitsRunInline) {
  RecordingSink a;
  AdminExecutor ex({&a});
  ex.Start();
  for (uint32_t i = 0; i < 20; i++) ex.Submit(NewRequest(0, i), [] { return ErrorCode::kNone; });
  ex.Stop();
  EXPECT_EQ(a.count(), 20u);
  ex.Submit(NewRequest(0, 99), [] { return ErrorCode::kInvalidConfig; });
  ASSERT_EQ(a.count(), 21u) << "a submit after Stop must still be answered";
  EXPECT_EQ(a.at(20)->error, ErrorCode::kInvalidConfig);
}

}  // namespace
}  // namespace sentry::broker
