// NetworkThread without a front end or sockets: what happens to completions
// that cannot be delivered. A completion that arrives after its network
// thread stopped (the shutdown grace ran out while the pipeline still held
// requests) must still be finished (its side effects applied) and freed;
// losing it leaked the request and everything it held (issue 11).
#include "net/network_thread.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "pipeline/write_request.h"

namespace sentry::net {
namespace {

// A completion whose side effect and lifetime the test can observe.
pipeline::CompletionPtr Observed(uint64_t conn_id, std::atomic<int>* finished,
                                 std::weak_ptr<const void>* held) {
  auto req = std::make_unique<pipeline::WriteRequest>();
  req->route = {0, conn_id};
  auto hold = std::make_shared<int>(42);
  *held = hold;
  req->frame_hold = hold;
  req->on_done = [finished](pipeline::Completion&) { finished->fetch_add(1); };
  return req;
}

TEST(NetworkThreadTest, CompletionForAClosedConnectionIsFinishedAndFreed) {
  std::atomic<int64_t> open{0};
  NetworkThread t(0, NetOptions{}, &open);
  t.Start();
  std::atomic<int> finished{0};
  std::weak_ptr<const void> held;
  t.Complete(Observed(/*conn_id=*/12345, &finished, &held));  // no such connection
  // The thread handles it on its own; wait for the effect, not for time.
  for (int i = 0; i < 10000 && !held.expired(); i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_TRUE(held.expired()) << "the completion was never freed";
  EXPECT_EQ(finished.load(), 1);
  t.Stop(0);
}

TEST(NetworkThreadTest, CompletionAfterStopIsFinishedByDrainLateCompletions) {
  std::atomic<int64_t> open{0};
  NetworkThread t(0, NetOptions{}, &open);
  t.Start();
  t.Stop(0);
  std::atomic<int> finished{0};
  std::weak_ptr<const void> a, b;
  t.Complete(Observed(1, &finished, &a));
  std::vector<pipeline::CompletionPtr> batch;
  batch.push_back(Observed(2, &finished, &b));
  t.CompleteBatch(&batch);
  EXPECT_FALSE(a.expired()) << "nothing runs a stopped thread's inbox by itself";
  EXPECT_EQ(t.DrainLateCompletions(), 2u);
  EXPECT_EQ(finished.load(), 2) << "a late offset commit must still be applied";
  EXPECT_TRUE(a.expired());
  EXPECT_TRUE(b.expired());
}

TEST(NetworkThreadTest, DestructorFreesWhatWasNeverDrained) {
  std::atomic<int> finished{0};
  std::weak_ptr<const void> held;
  {
    std::atomic<int64_t> open{0};
    NetworkThread t(0, NetOptions{}, &open);
    t.Complete(Observed(7, &finished, &held));  // never started
  }
  EXPECT_TRUE(held.expired());
  EXPECT_EQ(finished.load(), 1);
}

}  // namespace
}  // namespace sentry::net
