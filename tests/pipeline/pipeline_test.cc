// The writer pipeline without sockets: writers, the group-commit flusher,
// completion order, flush policies, and injected disk faults through the
// storage layer's FileOps interface. Also run under ThreadSanitizer in CI.
#include "pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "common/clock.h"
#include "common/mutex.h"
#include "storage/prefaulter.h"
#include "test_util.h"

namespace sentry::pipeline {
namespace {

// A storage failure as the writer and flusher report it (the front end maps
// it to its wire code).
bool IsStorageError(const Status& s) {
  return s.code() == Status::Code::kIoError || s.code() == Status::Code::kNoSpace;
}

// Fails Allocate / SyncRange on demand (ENOSPC / EIO).
class FaultyFileOps final : public FileOps {
 public:
  std::atomic<bool> fail_allocate{false};
  std::atomic<bool> fail_sync{false};
  std::atomic<bool> instant_sync{false};  // SyncRange returns at once (no msync)
  Status Allocate(int fd, off_t off, off_t len) override {
    if (fail_allocate) return Status::FromErrno(ENOSPC, "fallocate (injected)");
    return DefaultFileOps()->Allocate(fd, off, len);
  }
  Status SyncRange(void* a, size_t n) override {
    if (fail_sync) return Status::FromErrno(EIO, "msync (injected)");
    if (instant_sync) return Status::OK();
    return DefaultFileOps()->SyncRange(a, n);
  }
  Status Truncate(int fd, off_t s) override { return DefaultFileOps()->Truncate(fd, s); }
  Status SyncFile(int fd) override { return DefaultFileOps()->SyncFile(fd); }
};

// Collects completions; checks the durability promise as each arrives.
class RecordingSink final : public CompletionSink {
 public:
  void Complete(CompletionPtr c) override {
    std::lock_guard<std::mutex> l(mu_);
    std::unique_ptr<WriteRequest> req(static_cast<WriteRequest*>(c.release()));
    if (req->acks == -1 && req->status.ok()) {
      // acks=-1 is answered only once its range is synced.
      if (req->partition->log()->durable_offset() <= req->info.last_offset) durability_broken_++;
    }
    done_.push_back(std::move(req));
    cv_.notify_all();
  }
  void CompleteLocal(CompletionPtr c) override {
    local_.fetch_add(1);
    Complete(std::move(c));
  }
  void WakeFetches(const std::shared_ptr<Partition>&) override {}
  int local() const { return local_.load(); }
  // Waits until `n` completions arrived (or 20 s).
  bool WaitFor(size_t n) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(20), [&] { return done_.size() >= n; });
  }
  std::vector<std::unique_ptr<WriteRequest>> Take() {
    std::lock_guard<std::mutex> l(mu_);
    return std::move(done_);
  }
  int durability_broken() {
    std::lock_guard<std::mutex> l(mu_);
    return durability_broken_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<WriteRequest>> done_;
  int durability_broken_ = 0;
  std::atomic<int> local_{0};
};

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PipelineOptions opt;
    opt.writer_threads = 2;
    opt.queue_capacity = 1024;
    opt.inline_append_max_bytes = inline_max_;
    pipeline_ = std::make_unique<Pipeline>(opt, std::vector<CompletionSink*>{&sink_});
    pipeline_->Start();
  }
  void TearDown() override { pipeline_->Stop(); }
  std::shared_ptr<Partition> MakePartition(int index, FlushPolicy policy = {}) {
    LogConfig cfg;
    cfg.segment_bytes = 1 << 20;
    cfg.index_max_entries = 1 << 14;
    cfg.file.alloc_step = 64 << 10;
    cfg.file.prefault_ahead = 16 << 10;
    cfg.file.file_ops = &ops_;
    cfg.file.prefaulter = prefaulter_.get();
    auto log = PartitionLog::Create(dir_ / ("p-" + std::to_string(index)), cfg).value();
    return std::make_shared<Partition>("t", index, std::move(log), policy,
                                       pipeline_->WriterFor("t", index));
  }
  static WriteRequestPtr MakeRequest(const std::shared_ptr<Partition>& p, int16_t acks,
                                     int records = 3, uint32_t corr = 0,
                                     size_t value_bytes = 16) {
    auto bytes = std::make_shared<std::vector<uint8_t>>(
        sentry::testing::MakeBatch(records, value_bytes));
    auto req = std::make_unique<WriteRequest>();
    req->partition = p;
    req->acks = acks;
    req->route.conn_id = corr;  // identifies the request in the checks
    req->deadline_ms = SteadyMillis() + 10000;
    req->records = *bytes;
    req->frame_hold = bytes;
    EXPECT_TRUE(ValidateBatches(req->records, &req->summary).ok());
    return req;
  }
  WriteRequest* Submit(const std::shared_ptr<Partition>& p, int16_t acks, int records = 3,
                       uint32_t corr = 0, size_t value_bytes = 16) {
    auto req = MakeRequest(p, acks, records, corr, value_bytes);
    WriteRequest* raw = req.get();
    while (!pipeline_->TryEnqueue(0, req)) std::this_thread::yield();  // queue full: retry
    return raw;
  }

  size_t inline_max_ = 0;  // PipelineOptions::inline_append_max_bytes
  std::unique_ptr<Prefaulter> prefaulter_;  // partitions get one when set
  sentry::testing::TempDir dir_;
  FaultyFileOps ops_;
  RecordingSink sink_;
  std::unique_ptr<Pipeline> pipeline_;
};

TEST_F(PipelineTest, CompletionsKeepRequestOrderPerPartitionAcrossAckModes) {
  auto a = MakePartition(0), b = MakePartition(1);
  constexpr int kN = 600;
  for (int i = 0; i < kN; i++) {
    int16_t acks = (i % 5 == 0) ? -1 : 1;  // acks=-1 requests go through the flusher
    Submit(i % 2 ? b : a, acks, 2, static_cast<uint32_t>(i));
  }
  ASSERT_TRUE(sink_.WaitFor(kN));
  auto done = sink_.Take();
  std::map<int32_t, int64_t> next_offset;
  std::map<int32_t, uint64_t> last_corr;
  for (auto& r : done) {
    ASSERT_TRUE(r->status.ok()) << r->status.ToString();
    int32_t p = r->partition->index();
    EXPECT_EQ(r->info.base_offset, next_offset[p]) << "partition " << p;
    next_offset[p] = r->info.last_offset + 1;
    if (last_corr.count(p)) {
      EXPECT_GT(r->route.conn_id, last_corr[p]);
    }
    last_corr[p] = r->route.conn_id;
  }
  EXPECT_EQ(sink_.durability_broken(), 0);
}

// The writer posts acks=1 completions at the end of each bulk. An acks=-1
// request in the middle of a bulk goes to the flusher, which may answer it
// (instantly here) while the writer is still busy with the rest of the bulk:
// the acks=1 completion before it must reach the network thread first.
TEST_F(PipelineTest, AFastSyncDoesNotOvertakeEarlierCompletionsOfItsBulk) {
  ops_.instant_sync = true;
  auto a = MakePartition(0);
  std::shared_ptr<Partition> other;
  for (int i = 1; !other; i++) {
    if (pipeline_->WriterFor("t", i) == a->writer_index()) other = MakePartition(i);
  }
  constexpr int kRounds = 50;
  size_t total = 0;
  for (int round = 0; round < kRounds; round++) {
    // Queued while the writer is busy, so they tend to arrive in one bulk.
    Submit(a, 1, 1, static_cast<uint32_t>(round * 100));
    Submit(a, -1, 1, static_cast<uint32_t>(round * 100 + 1));
    for (int k = 0; k < 40; k++) Submit(other, 1, 1, static_cast<uint32_t>(round * 100 + 2 + k));
    total += 42;
  }
  ASSERT_TRUE(sink_.WaitFor(total));
  uint32_t last = 0;
  bool first = true;
  for (auto& r : sink_.Take()) {
    if (r->partition != a) continue;
    if (!first) {
      EXPECT_GT(r->route.conn_id, last) << "a completion of partition 0 overtook an earlier one";
    }
    first = false;
    last = r->route.conn_id;
  }
}

TEST_F(PipelineTest, AcksAllIsAnsweredOnlyAfterSyncAndSyncsAreGrouped) {
  auto p = MakePartition(0);
  constexpr int kN = 400;
  for (int i = 0; i < kN; i++) Submit(p, -1);
  ASSERT_TRUE(sink_.WaitFor(kN));
  EXPECT_EQ(sink_.durability_broken(), 0);
  EXPECT_EQ(p->log()->durable_offset(), p->log()->high_watermark());
  // Group commit: fewer syncs than requests (they queue while a sync runs).
  EXPECT_LT(pipeline_->flusher().stats().syncs.load(), static_cast<uint64_t>(kN));
}

TEST_F(PipelineTest, InjectedFallocateFailureIsAStorageErrorAndNothingIsAppended) {
  auto p = MakePartition(0);
  Submit(p, 1);
  ASSERT_TRUE(sink_.WaitFor(1));
  const int64_t end = p->log()->high_watermark();
  ops_.fail_allocate = true;
  // ~300 KB: more than the allocation step and the prefault distance.
  Submit(p, 1, 1000, 0, 300);
  ASSERT_TRUE(sink_.WaitFor(2));
  auto done = sink_.Take();
  EXPECT_TRUE(IsStorageError(done.back()->status)) << done.back()->status.ToString();
  EXPECT_EQ(p->log()->high_watermark(), end);
  ops_.fail_allocate = false;
  Submit(p, 1, 1000, 0, 300);
  ASSERT_TRUE(sink_.WaitFor(1));
  done = sink_.Take();
  EXPECT_TRUE(done.back()->status.ok()) << done.back()->status.ToString();
  EXPECT_EQ(done.back()->info.base_offset, end);
}

TEST_F(PipelineTest, InjectedMsyncFailureFailsAcksAllAndDurableOffsetStays) {
  auto p = MakePartition(0);
  Submit(p, -1);
  ASSERT_TRUE(sink_.WaitFor(1));
  sink_.Take();
  const int64_t durable = p->log()->durable_offset();
  ops_.fail_sync = true;
  Submit(p, -1);
  ASSERT_TRUE(sink_.WaitFor(1));
  auto done = sink_.Take();
  EXPECT_TRUE(IsStorageError(done.back()->status)) << done.back()->status.ToString();
  EXPECT_EQ(p->log()->durable_offset(), durable);
  ops_.fail_sync = false;
  Submit(p, -1);
  ASSERT_TRUE(sink_.WaitFor(1));
  done = sink_.Take();
  EXPECT_TRUE(done.back()->status.ok()) << done.back()->status.ToString();
  EXPECT_EQ(p->log()->durable_offset(), p->log()->high_watermark());
}

TEST_F(PipelineTest, FlushMessagesOneSyncsEveryBatchBeforeItsAck) {
  FlushPolicy policy;
  policy.flush_messages = 1;
  auto p = MakePartition(0, policy);
  for (int i = 0; i < 50; i++) Submit(p, 1);
  ASSERT_TRUE(sink_.WaitFor(50));
  for (auto& r : sink_.Take()) {
    EXPECT_GT(r->partition->log()->durable_offset(), r->info.last_offset);
  }
}

TEST_F(PipelineTest, FlushMsSyncsInTheBackground) {
  FlushPolicy policy;
  policy.flush_ms = 20;
  auto p = MakePartition(0, policy);
  Submit(p, 1);
  ASSERT_TRUE(sink_.WaitFor(1));
  // Awaiting the flusher's cadence: poll the durable offset for up to 5 s.
  const int64_t deadline = SteadyMillis() + 5000;
  while (p->log()->durable_offset() < p->log()->high_watermark() && SteadyMillis() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(p->log()->durable_offset(), p->log()->high_watermark());
}

TEST_F(PipelineTest, DeletedPartitionRejectsAppendsAfterTheBarrier) {
  auto p = MakePartition(0);
  p->MarkDeleted();
  pipeline_->Barrier(p->writer_index());
  Submit(p, 1);
  ASSERT_TRUE(sink_.WaitFor(1));
  EXPECT_TRUE(sink_.Take().back()->status.IsNotFound());
  EXPECT_EQ(p->log()->high_watermark(), 0);
}

// Inline appends (Pipeline::TryAppendInline): a network thread appends a
// small write itself when the partition is free and no file-system call is
// needed.
class InlineAppendTest : public PipelineTest {
 protected:
  InlineAppendTest() {
    inline_max_ = 4096;
    prefaulter_ = std::make_unique<Prefaulter>();
  }
  // A new segment has allocated nothing for its indexes yet: its first
  // append is always the writer's. Does that one and returns the partition.
  std::shared_ptr<Partition> MakeWrittenPartition(int index) {
    auto p = MakePartition(index);
    Submit(p, 1, 1);
    EXPECT_TRUE(sink_.WaitFor(1));
    EXPECT_EQ(sink_.Take().size(), 1u);
    EXPECT_EQ(p->log()->high_watermark(), 1);
    return p;
  }
};

TEST_F(InlineAppendTest, TheFirstAppendOfANewSegmentIsTheWriters) {
  auto p = MakePartition(0);
  auto req = MakeRequest(p, 1, 1);
  EXPECT_FALSE(pipeline_->TryAppendInline(0, req));  // its indexes need allocating
  ASSERT_NE(req, nullptr);
}

TEST_F(InlineAppendTest, AnIdlePartitionIsAppendedAndAnsweredOnTheCallingThread) {
  auto p = MakeWrittenPartition(0);
  auto req = MakeRequest(p, 1, 3);
  ASSERT_TRUE(pipeline_->TryAppendInline(0, req));
  EXPECT_EQ(req, nullptr);
  // Answered before TryAppendInline returned, through CompleteLocal.
  EXPECT_EQ(sink_.local(), 1);
  auto done = sink_.Take();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0]->status.ok());
  EXPECT_TRUE(done[0]->appended_inline);
  EXPECT_EQ(done[0]->info.base_offset, 1);
  EXPECT_EQ(done[0]->info.last_offset, 3);
  EXPECT_EQ(p->log()->high_watermark(), 4);
  EXPECT_EQ(pipeline_->writer(p->writer_index()).stats().records_in.load(), 4u);
}

TEST_F(InlineAppendTest, DeclinesWhenTheWriterMustDoItAndLeavesTheRequestUntouched) {
  auto p = MakeWrittenPartition(0);
  auto check_declined = [&](WriteRequestPtr req, const char* why) {
    WriteRequest* raw = req.get();
    EXPECT_FALSE(pipeline_->TryAppendInline(0, req)) << why;
    EXPECT_EQ(req.get(), raw) << why;
    EXPECT_FALSE(req->appended_inline) << why;
  };
  {
    MutexLock busy(&p->append_mu());  // the writer (or another thread) is appending
    std::thread([&] { check_declined(MakeRequest(p, 1, 1), "partition busy"); }).join();
  }
  check_declined(MakeRequest(p, 1, 1, 0, 5000), "over inline_append_max_bytes");
  // No prefaulter: allocation would happen on this thread.
  auto kept = std::move(prefaulter_);  // p still uses it
  auto plain = MakeWrittenPartition(1);
  prefaulter_ = std::move(kept);
  check_declined(MakeRequest(plain, 1, 1), "no prefaulter");
  EXPECT_EQ(sink_.local(), 0);
  EXPECT_EQ(p->log()->high_watermark(), 1);
  // The writer takes what was declined.
  Submit(p, 1, 1, 0, 5000);
  ASSERT_TRUE(sink_.WaitFor(1));
  EXPECT_EQ(p->log()->high_watermark(), 2);
}

TEST_F(InlineAppendTest, ADeletedPartitionIsLeftToTheWriter) {
  auto p = MakeWrittenPartition(0);
  p->MarkDeleted();
  auto req = MakeRequest(p, 1, 1);
  EXPECT_FALSE(pipeline_->TryAppendInline(0, req));
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(p->log()->high_watermark(), 1);
}

// A network thread appending inline and the writer appending queued requests
// to the same partition at the same time: the append lock keeps one appender
// at a time, so offsets never overlap and every batch lands whole. Run under
// ThreadSanitizer in CI.
TEST_F(InlineAppendTest, InlineAndWriterAppendsToOnePartitionNeverOverlap) {
  auto p = MakeWrittenPartition(0);
  constexpr int kEach = 1500;
  constexpr int kRecords = 2;
  std::atomic<int> inline_taken{0};
  std::thread net([&] {
    for (int i = 0; i < kEach; i++) {
      auto req = MakeRequest(p, i % 10 == 0 ? -1 : 1, kRecords);
      if (pipeline_->TryAppendInline(0, req)) {
        inline_taken++;
        continue;
      }
      while (!pipeline_->TryEnqueue(0, req)) std::this_thread::yield();
    }
  });
  std::thread other([&] {
    for (int i = 0; i < kEach; i++) pipeline_->Enqueue(MakeRequest(p, 1, kRecords));
  });
  net.join();
  other.join();
  ASSERT_TRUE(sink_.WaitFor(2 * kEach));
  auto done = sink_.Take();
  std::set<int64_t> bases;
  for (auto& d : done) {
    ASSERT_TRUE(d->status.ok()) << d->status.ToString();
    EXPECT_EQ(d->info.last_offset - d->info.base_offset + 1, kRecords);
    EXPECT_TRUE(bases.insert(d->info.base_offset).second) << "offset given twice";
  }
  EXPECT_GT(inline_taken.load(), 0);
  EXPECT_EQ(sink_.durability_broken(), 0);
  const int64_t total = 1 + int64_t{2} * kEach * kRecords;
  ASSERT_EQ(p->log()->high_watermark(), total);
  // The log itself: contiguous offsets, every batch intact (CRC).
  int64_t next = 0;
  while (next < total) {
    auto r = p->log()->Read(next, 1 << 20);
    ASSERT_TRUE(r.ok());
    auto bytes = r->bytes();
    ASSERT_FALSE(bytes.empty());
    size_t pos = 0;
    while (pos < bytes.size()) {
      RecordBatchView v;
      ASSERT_TRUE(RecordBatchView::Parse(bytes.data() + pos, bytes.size() - pos, &v).ok());
      ASSERT_EQ(v.base_offset(), next);
      next += v.records_count();
      pos += v.TotalSize();
    }
  }
}

}  // namespace
}  // namespace sentry::pipeline
