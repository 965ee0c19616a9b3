#include "storage/mapped_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

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

}  // namespace
}  // namespace sentry
