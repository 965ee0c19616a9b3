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

using pipeline::CompletionPtr;

class RecordingSink : public pipeline::CompletionSink {
 public:
  void Complete(CompletionPtr c) override {
    std::lock_guard<std::mutex> l(mu_);
    done_.emplace_back(static_cast<AdminCompletion*>(c.release()));
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
  AdminCompletion* at(size_t i) {
    std::lock_guard<std::mutex> l(mu_);
    return done_[i].get();
  }

 private:
  std::mutex mu_;
  std::vector<std::unique_ptr<AdminCompletion>> done_;
  size_t want_ = 0;
  std::optional<std::promise<void>> waiter_;
};

// `id` stands for the asking connection, to check order and routing.
std::unique_ptr<AdminCompletion> NewRequest(uint32_t net_thread, uint64_t id) {
  auto c = std::make_unique<AdminCompletion>();
  c->route = {net_thread, id};
  return c;
}

Error Err(Errc e) { return Error{e, ""}; }

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
    return Err(Errc::kTopicAlreadyExists);
  });
  ex.Submit(NewRequest(1, 8), [] { return Err(Errc::kNone); });
  EXPECT_EQ(b.count(), 0u) << "completed before the operation was released";
  release.set_value();
  ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(a.count(), 0u) << "completion went to the wrong network thread";
  EXPECT_EQ(b.at(0)->route.conn_id, 7u) << "operations run in submission order";
  EXPECT_EQ(b.at(0)->result.code, Errc::kTopicAlreadyExists);
  EXPECT_EQ(b.at(1)->result.code, Errc::kNone);
}

TEST(AdminExecutorTest, AThrowingOperationAnswersInternalError) {
  RecordingSink a;
  AdminExecutor ex({&a});
  ex.Start();
  auto done = a.ExpectCompletions(1);
  ex.Submit(NewRequest(0, 1), []() -> Error { throw std::runtime_error("disk on fire"); });
  ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(a.at(0)->result.code, Errc::kInternal);
}

TEST(AdminExecutorTest, StopRunsWhatIsQueuedAndLaterSubmitsRunInline) {
  RecordingSink a;
  AdminExecutor ex({&a});
  ex.Start();
  for (uint32_t i = 0; i < 20; i++) ex.Submit(NewRequest(0, i), [] { return Err(Errc::kNone); });
  ex.Stop();
  EXPECT_EQ(a.count(), 20u);
  ex.Submit(NewRequest(0, 99), [] { return Err(Errc::kInvalidConfig); });
  ASSERT_EQ(a.count(), 21u) << "a submit after Stop must still be answered";
  EXPECT_EQ(a.at(20)->result.code, Errc::kInvalidConfig);
}

}  // namespace
}  // namespace sentry::broker
