// Readers on other threads see only whole, validated batches below the high
// watermark while the writer appends and rolls. Run under ThreadSanitizer in CI.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "storage/partition_log.h"
#include "storage/prefaulter.h"
#include "test_util.h"

namespace sentry {
namespace {

class ConcurrentReadTest : public ::testing::TestWithParam<bool> {};

TEST_P(ConcurrentReadTest, ReadersSeeOnlyCompleteBatchesWhileWriterAppendsAndRolls) {
  testing::TempDir dir;
  Prefaulter prefaulter;
  LogConfig cfg;
  if (GetParam()) cfg.file.prefaulter = &prefaulter;
  cfg.segment_bytes = 32 << 10;
  cfg.index_max_entries = 2048;
  cfg.file.alloc_step = 8 << 10;
  cfg.file.prefault_ahead = 4 << 10;
  auto log = PartitionLog::Create(dir / "p", cfg).value();
  constexpr int kBatches = 3000;
  std::atomic<bool> done{false};
  std::atomic<int64_t> reader_checked{0};

  auto reader = [&] {
    int64_t next = 0;
    while (!done.load(std::memory_order_acquire) || next < log->high_watermark()) {
      auto r = log->Read(next, 4096);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      if (r->size == 0) {
        std::this_thread::yield();
        continue;
      }
      BatchSetSummary sum;
      ASSERT_TRUE(ValidateBatches(r->bytes(), &sum).ok());
      RecordBatchView first(r->data);
      ASSERT_LE(first.base_offset(), next);
      ASSERT_GT(first.last_offset(), next - 1);
      next = first.base_offset() + sum.record_count;
      ASSERT_LE(next, r->high_watermark);
      reader_checked.store(next);
    }
  };
  std::thread r1(reader), r2(reader);
  int64_t flushed = 0;
  std::thread flusher([&] {
    while (!done.load(std::memory_order_acquire)) {
      auto d = log->Flush();
      ASSERT_TRUE(d.ok());
      ASSERT_GE(d.value(), flushed);
      flushed = d.value();
    }
  });
  for (int i = 0; i < kBatches; i++) {
    auto b = testing::MakeBatch(1 + i % 5, 40);
    BatchSetSummary sum;
    ASSERT_TRUE(ValidateBatches(b, &sum).ok());
    ASSERT_TRUE(log->Append(b, sum).ok());
  }
  done.store(true, std::memory_order_release);
  r1.join();
  r2.join();
  flusher.join();
  EXPECT_EQ(reader_checked.load(), log->high_watermark());
  EXPECT_GT(log->segment_count(), 3u);
}

INSTANTIATE_TEST_SUITE_P(InlineAndBackgroundPrefault, ConcurrentReadTest, ::testing::Bool());

}  // namespace
}  // namespace sentry
