// BrokerCore::TakeInOrder: a pipelining front end answers the writes of one
// connection to one partition in the order they were submitted, whichever
// thread completes them first.
#include <gtest/gtest.h>

#include "broker/broker_core.h"

namespace sentry::broker {
namespace {

class TakeInOrderTest : public ::testing::Test {
 protected:
  // A write as BrokerCore::Submit leaves it: numbered, counted as unanswered.
  pipeline::CompletionPtr Write(const std::shared_ptr<pipeline::Partition>& p) {
    auto w = std::make_unique<pipeline::WriteRequest>();
    w->partition = p;
    auto& pw = session_.pending_writes[p.get()];
    w->order_seq = pw.next_seq++;
    pw.unanswered++;
    return w;
  }
  static uint64_t Seq(const pipeline::CompletionPtr& c) {
    return static_cast<const pipeline::WriteRequest&>(*c).order_seq;
  }
  // Takes `c` and returns the order_seq of what became ready.
  std::vector<uint64_t> Take(pipeline::CompletionPtr c) {
    std::vector<pipeline::CompletionPtr> ready;
    BrokerCore::TakeInOrder(session_, std::move(c), &ready);
    std::vector<uint64_t> seqs;
    for (auto& r : ready) seqs.push_back(Seq(r));
    return seqs;
  }
  // A partition object is only compared by address here.
  std::shared_ptr<pipeline::Partition> NewPartition(int index) {
    return std::make_shared<pipeline::Partition>("t", index, nullptr, pipeline::FlushPolicy{}, 0);
  }

  ClientSession session_;
};

TEST_F(TakeInOrderTest, AnEarlyAnswerWaitsForTheOnesBeforeItThenAllGoTogether) {
  auto p = NewPartition(0);
  auto w0 = Write(p), w1 = Write(p), w2 = Write(p), w3 = Write(p);
  EXPECT_TRUE(Take(std::move(w2)).empty());  // the flusher's answer came first
  EXPECT_TRUE(Take(std::move(w1)).empty());
  EXPECT_EQ(Take(std::move(w0)), (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(Take(std::move(w3)), (std::vector<uint64_t>{3}));
  EXPECT_TRUE(session_.pending_writes.at(p.get()).early.empty());
}

TEST_F(TakeInOrderTest, PartitionsAreOrderedIndependently) {
  auto a = NewPartition(0), b = NewPartition(1);
  auto a0 = Write(a), a1 = Write(a), b0 = Write(b);
  EXPECT_TRUE(Take(std::move(a1)).empty());
  EXPECT_EQ(Take(std::move(b0)), (std::vector<uint64_t>{0}));  // b does not wait for a
  EXPECT_EQ(Take(std::move(a0)), (std::vector<uint64_t>{0, 1}));
}

TEST_F(TakeInOrderTest, OtherCompletionsAreReadyAtOnce) {
  auto p = NewPartition(0);
  auto w0 = Write(p), w1 = Write(p);
  EXPECT_TRUE(Take(std::move(w1)).empty());
  std::vector<pipeline::CompletionPtr> ready;
  BrokerCore::TakeInOrder(session_, std::make_unique<AdminCompletion>(), &ready);
  EXPECT_EQ(ready.size(), 1u);
  EXPECT_EQ(Take(std::move(w0)), (std::vector<uint64_t>{0, 1}));
}

}  // namespace
}  // namespace sentry::broker
