#include "storage/mapped_file.h"

#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include "storage/mapping_faults.h"
#include "storage/prefaulter.h"

#include "test_util.h"

namespace sentry {
namespace {

off_t FileSize(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 ? st.st_size : -1;
}

TEST(MappedFileTest, ReserveAllocatesInStepsAheadOfTheWriter) {
  testing::TempDir dir;
  MappedFileOptions opt;
  opt.alloc_step = 64 << 10;
  auto f = MappedFile::Open(dir / "a.log", 1 << 20, true, opt);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(FileSize(dir / "a.log"), 0);
  ASSERT_TRUE((*f)->Reserve(100).ok());
  EXPECT_EQ((*f)->backed_size(), 64u << 10);
  EXPECT_EQ(FileSize(dir / "a.log"), 64 << 10);
  ASSERT_TRUE((*f)->Reserve((64 << 10) + 1).ok());
  EXPECT_EQ((*f)->backed_size(), 128u << 10);
}

TEST(MappedFileTest, FreshSpaceReadsAsZeros) {
  testing::TempDir dir;
  auto f = MappedFile::Open(dir / "a.log", 1 << 20, true, {});
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Reserve(4096).ok());
  for (size_t i = 0; i < 4096; i++) ASSERT_EQ((*f)->data()[i], 0);
}

TEST(MappedFileTest, ReserveBeyondCapacityIsFull) {
  testing::TempDir dir;
  auto f = MappedFile::Open(dir / "a.log", 8192, true, {});
  ASSERT_TRUE(f.ok());
  EXPECT_TRUE((*f)->Reserve(8192).ok());
  EXPECT_EQ((*f)->backed_size(), 8192u);  // clamped to capacity
  EXPECT_TRUE((*f)->Reserve(8193).IsFull());
}

TEST(MappedFileTest, WritesSurviveReopen) {
  testing::TempDir dir;
  {
    auto f = MappedFile::Open(dir / "a.log", 1 << 20, true, {});
    ASSERT_TRUE((*f)->Reserve(10).ok());
    std::memcpy((*f)->data(), "persisted", 9);
    ASSERT_TRUE((*f)->SyncRange(0, 9).ok());
    ASSERT_TRUE((*f)->TrimTo(9).ok());
  }
  EXPECT_EQ(FileSize(dir / "a.log"), 9);
  auto f = MappedFile::Open(dir / "a.log", 1 << 20, false, {});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->backed_size(), 9u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>((*f)->data()), 9), "persisted");
}

// A page the kernel cannot fill (here: the file truncated under the mapping,
// as an I/O error would) raises SIGBUS; the handler records it and lets the
// read finish on zeros, and every sync afterwards fails: no crash, and no
// success claimed for bytes that are not the file's.
TEST(MappedFileTest, UnreadablePageIsAFaultNotACrash) {
  MappingFaults::InstallHandler();
  testing::TempDir dir;
  auto f = MappedFile::Open(dir / "a.log", 1 << 20, true, {});
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Reserve(64 << 10).ok());
  std::memset((*f)->data(), 'x', 64 << 10);
  ASSERT_TRUE((*f)->SyncRange(0, 64 << 10).ok());
  ASSERT_TRUE((*f)->CheckFault().ok());
  const uint64_t before = MappingFaults::FaultCount();
  ASSERT_EQ(::truncate((dir / "a.log").c_str(), 4096), 0);  // behind the mapping's back
  EXPECT_EQ((*f)->data()[100], 'x') << "the page still in the file reads as before";
  volatile uint8_t past = (*f)->data()[3 * 4096 + 5];  // SIGBUS, handled
  EXPECT_EQ(past, 0);
  EXPECT_EQ(MappingFaults::FaultCount(), before + 1);
  Status fault = (*f)->CheckFault();
  EXPECT_TRUE(fault.IsIoError()) << fault.ToString();
  EXPECT_NE(fault.message().find("position 12293"), std::string::npos) << fault.message();
  EXPECT_TRUE((*f)->SyncRange(0, 4096).IsIoError()) << "a faulted mapping never syncs fine";
}

TEST(MappedFileTest, ExistingFileOverCapacityIsRefused) {
  testing::TempDir dir;
  {
    auto f = MappedFile::Open(dir / "a.log", 1 << 20, true, {});
    ASSERT_TRUE((*f)->Reserve(1 << 20).ok());
  }
  auto f = MappedFile::Open(dir / "a.log", 4096, false, {});
  EXPECT_FALSE(f.ok());
}

TEST(MappedFileTest, MissingFileWithoutCreateIsAnError) {
  testing::TempDir dir;
  auto f = MappedFile::Open(dir / "nope.log", 4096, false, {});
  EXPECT_FALSE(f.ok());
}

TEST(MappedFileTest, PrepareAheadBacksTheNextStepEarly) {
  testing::TempDir dir;
  MappedFileOptions opt;
  opt.alloc_step = 64 << 10;
  opt.prefault_ahead = 32 << 10;
  auto f = MappedFile::Open(dir / "a.log", 1 << 20, true, opt);
  ASSERT_TRUE((*f)->Reserve(40 << 10).ok());
  EXPECT_EQ((*f)->backed_size(), 64u << 10);
  (*f)->PrepareAhead(40 << 10);  // 40K + 32K crosses the first step
  EXPECT_EQ((*f)->backed_size(), 128u << 10);
}

TEST(MappedFileTest, StepsStartSmallAndDoubleWithTheFileUpToAllocStep) {
  testing::TempDir dir;
  MappedFileOptions opt;
  opt.min_alloc_step = 64 << 10;
  opt.alloc_step = 1 << 20;
  auto f = MappedFile::Open(dir / "a.log", 8 << 20, true, opt);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Reserve(1).ok());
  EXPECT_EQ((*f)->backed_size(), 64u << 10);
  // Each step is as large as the file already is: 64K, 128K, 256K, ... 1M.
  for (size_t want : {128u << 10, 256u << 10, 512u << 10, 1u << 20, 2u << 20, 3u << 20}) {
    ASSERT_TRUE((*f)->Reserve((*f)->backed_size() + 1).ok());
    EXPECT_EQ((*f)->backed_size(), want);
  }
  EXPECT_EQ(FileSize(dir / "a.log"), 3 << 20);
}

int OpenDescriptors() {
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator("/proc/self/fd")) (void)e;
    n++;
  return n;
}

TEST(MappedFileTest, HoldsNoFileDescriptor) {
  testing::TempDir dir;
  const int before = OpenDescriptors();
  std::vector<std::unique_ptr<MappedFile>> files;
  for (int i = 0; i < 64; i++) {
    auto f = MappedFile::Open(dir / ("f" + std::to_string(i)), 1 << 20, true, {});
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Reserve(100).ok());
    (*f)->data()[0] = 1;
    ASSERT_TRUE((*f)->SyncRange(0, 1).ok());
    ASSERT_TRUE((*f)->TrimTo(1).ok());
    files.push_back(std::move(f).value());
  }
  EXPECT_EQ(OpenDescriptors(), before) << "10,000 partitions would need 30,000 descriptors";
}

TEST(MappedFileTest, PrefaulterPopulatesOnlyWrittenFilesAndStaysWithinItsBudget) {
  testing::TempDir dir;
  const size_t budget = 512 << 10;
  Prefaulter prefaulter(budget);
  MappedFileOptions opt;
  opt.min_alloc_step = 64 << 10;
  opt.alloc_step = 1 << 20;
  opt.prefault_ahead = 1 << 20;
  opt.prefaulter = &prefaulter;
  std::vector<std::unique_ptr<MappedFile>> files;
  for (int i = 0; i < 8; i++) {
    files.push_back(MappedFile::Open(dir / ("f" + std::to_string(i)), 16 << 20, true, opt).value());
    ASSERT_TRUE(files.back()->Reserve(1).ok());
  }
  EXPECT_EQ(prefaulter.ahead_bytes(), 0u) << "nothing is prefaulted before the first write";
  // Each file written 2 MiB: unbounded, 8 x 1 MiB would be populated ahead.
  size_t peak = 0;
  for (size_t end = 0; end < (2u << 20);) {
    end += 32 << 10;
    for (auto& f : files) {
      ASSERT_TRUE(f->Reserve(end).ok());
      std::memset(f->data() + end - (32 << 10), 7, 32 << 10);
      f->PrepareAhead(end);
    }
    peak = std::max(peak, prefaulter.ahead_bytes());
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (prefaulter.ahead_bytes() < budget / 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  peak = std::max(peak, prefaulter.ahead_bytes());
  EXPECT_GE(prefaulter.ahead_bytes(), budget / 2) << "the prefaulter did nothing";
  EXPECT_LE(peak, budget);
  files.clear();  // unregistering gives the share back
  EXPECT_EQ(prefaulter.ahead_bytes(), 0u);
}

// Pages of [from, to) in the page cache (mincore on a file mapping reports
// the page cache, whether or not this process maps the page).
size_t ResidentPages(const MappedFile& f, size_t from, size_t to) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> v((to - from) / page);
  if (::mincore(f.data() + from, to - from, v.data()) != 0) return SIZE_MAX;
  size_t n = 0;
  for (unsigned char c : v) n += c & 1;
  return n;
}

uint8_t Pattern(size_t i) { return static_cast<uint8_t>((i * 131) >> 7); }

TEST(MappedFileTest, DropBehindFreesOldPagesAndKeepsTheirData) {
  testing::TempDir dir;
  struct statfs fs;
  ASSERT_EQ(::statfs(dir.path().c_str(), &fs), 0);
  if (fs.f_type == TMPFS_MAGIC) GTEST_SKIP() << "tmpfs pages cannot be written back and dropped";
  Prefaulter prefaulter;
  MappedFileOptions opt;
  opt.alloc_step = 1 << 20;
  opt.prefault_ahead = 256 << 10;
  opt.drop_behind = 4 << 20;
  opt.prefaulter = &prefaulter;
  const size_t total = 24 << 20;
  auto f = MappedFile::Open(dir / "a.log", 32 << 20, true, opt);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  MappedFile& m = **f;
  for (size_t end = 0; end < total;) {
    const size_t next = end + (64 << 10);
    ASSERT_TRUE(m.Reserve(next).ok());
    for (size_t i = end; i < next; i++) m.data()[i] = Pattern(i);
    end = next;
    m.PrepareAhead(end);
  }
  // Everything more than drop_behind (rounded down to a step) behind the
  // writer is dropped: await it, bounded.
  const size_t dropped_to = total - opt.drop_behind;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (ResidentPages(m, 0, dropped_to) != 0 && std::chrono::steady_clock::now() < deadline) {
    m.PrepareAhead(total);  // kick the prefaulter again
    std::this_thread::yield();
  }
  EXPECT_EQ(ResidentPages(m, 0, dropped_to), 0u) << "pages behind the window stay cached";
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  EXPECT_EQ(ResidentPages(m, total - (1 << 20), total), (1u << 20) / page)
      << "the newest bytes must stay cached";
  // The dropped bytes come back from the disk, intact, through the mapping.
  for (size_t i = 0; i < total; i++) {
    ASSERT_EQ(m.data()[i], Pattern(i)) << "byte " << i;
  }
}

}  // namespace
}  // namespace sentry
