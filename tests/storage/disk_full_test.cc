// A full disk must be an error on the append that does not fit, never a
// SIGBUS, and must leave everything appended before it readable.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <atomic>
#include <filesystem>

#include "recovery/log_loader.h"
#include "storage/partition_log.h"
#include "test_util.h"

namespace sentry {
namespace {

using testing::MakeBatch;

// Fails Allocate with ENOSPC once `budget` bytes have been allocated.
class BudgetFileOps final : public FileOps {
 public:
  explicit BudgetFileOps(int64_t budget) : budget_(budget) {}
  Status Allocate(int fd, off_t off, off_t len) override {
    if (budget_.fetch_sub(len) < len) {
      budget_.fetch_add(len);
      return Status::FromErrno(ENOSPC, "fallocate");
    }
    return DefaultFileOps()->Allocate(fd, off, len);
  }
  Status SyncRange(void* a, size_t n) override { return DefaultFileOps()->SyncRange(a, n); }
  Status Truncate(int fd, off_t s) override { return DefaultFileOps()->Truncate(fd, s); }
  Status SyncFile(int fd) override { return DefaultFileOps()->SyncFile(fd); }
  void Refill(int64_t more) { budget_ += more; }

 private:
  std::atomic<int64_t> budget_;
};

// Appends 1 KiB batches until one fails; returns the offsets acknowledged.
int64_t FillUntilError(PartitionLog* log, Status* last_error) {
  for (int i = 0; i < 100000; i++) {
    auto b = MakeBatch(4, 256);
    BatchSetSummary sum;
    EXPECT_TRUE(ValidateBatches(b, &sum).ok());
    auto r = log->Append(b, sum);
    if (!r.ok()) {
      *last_error = r.status();
      return log->high_watermark();
    }
  }
  return -1;
}

void ExpectAllReadable(PartitionLog* log, int64_t end) {
  int64_t next = 0;
  while (next < end) {
    auto r = log->Read(next, 1 << 20);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_GT(r->size, 0u);
    BatchSetSummary sum;
    ASSERT_TRUE(ValidateBatches(r->bytes(), &sum).ok());  // CRCs intact
    next = RecordBatchView(r->data).base_offset() + sum.record_count;
  }
  EXPECT_EQ(next, end);
}

TEST(DiskFullTest, InjectedNoSpaceFailsTheAppendAndKeepsEarlierData) {
  testing::TempDir dir;
  BudgetFileOps ops(200 << 10);
  LogConfig cfg;
  cfg.segment_bytes = 64 << 10;
  cfg.index_max_entries = 1 << 12;
  cfg.file.alloc_step = 16 << 10;
  cfg.file.prefault_ahead = 4 << 10;
  cfg.file.file_ops = &ops;
  auto log = PartitionLog::Create(dir / "p", cfg).value();
  Status err;
  int64_t end = FillUntilError(log.get(), &err);
  ASSERT_GT(end, 0);
  EXPECT_TRUE(err.IsNoSpace()) << err.ToString();
  ExpectAllReadable(log.get(), end);
  // Space comes back: appending works again, at the next offset.
  ops.Refill(1 << 20);
  auto b = MakeBatch(1);
  BatchSetSummary sum;
  ASSERT_TRUE(ValidateBatches(b, &sum).ok());
  auto r = log->Append(b, sum);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->base_offset, end);
}

TEST(DiskFullTest, SmallTmpfsGivesNoSpaceNotSigbus) {
  testing::TempDir dir;
  std::string mnt = dir / "mnt";
  std::filesystem::create_directory(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=512k") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (" << std::strerror(errno)
                 << "); the injected-ENOSPC test covers the same path";
  }
  struct Unmount {
    std::string m;
    ~Unmount() { ::umount2(m.c_str(), MNT_DETACH); }
  } unmount{mnt};
  LogConfig cfg;
  cfg.segment_bytes = 1 << 20;  // larger than the disk: the mapping outgrows it
  cfg.index_max_entries = 1 << 14;
  cfg.file.alloc_step = 64 << 10;
  cfg.file.prefault_ahead = 16 << 10;
  int64_t end;
  {
    auto log = PartitionLog::Create(mnt + "/p", cfg).value();
    Status err;
    end = FillUntilError(log.get(), &err);
    ASSERT_GT(end, 0);
    EXPECT_TRUE(err.IsNoSpace()) << err.ToString();
    ExpectAllReadable(log.get(), end);
  }
  // A restart (no clean close) finds exactly what was acknowledged.
  recovery::RecoveryReport report;
  auto reopened = recovery::LoadPartition(mnt + "/p", cfg, recovery::RecoveryOptions{}, &report);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ((*reopened)->high_watermark(), end);
  ExpectAllReadable(reopened->get(), end);
}

}  // namespace
}  // namespace sentry
