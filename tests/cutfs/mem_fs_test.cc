// MemFs, the model behind cutfs: what a power cut keeps and forgets.
#include "cutfs/mem_fs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>

#include <string>

namespace sentry::cutfs {
namespace {

std::string ReadAll(const MemFs& fs, const std::string& path) {
  InodePtr f;
  if (fs.Lookup(path, &f) != 0) return "<missing>";
  std::string out(f->data.size, '\0');
  EXPECT_EQ(fs.Read(*f, 0, out.size(), out.data()), static_cast<int64_t>(out.size()));
  return out;
}

InodePtr MakeFile(MemFs* fs, const std::string& path, const std::string& bytes) {
  InodePtr f;
  EXPECT_EQ(fs->Create(path, 0644, &f), 0);
  EXPECT_EQ(fs->Write(f.get(), 0, bytes.data(), bytes.size()), static_cast<int64_t>(bytes.size()));
  return f;
}

InodePtr Dir(const MemFs& fs, const std::string& path) {
  InodePtr d;
  EXPECT_EQ(fs.Lookup(path, &d), 0);
  return d;
}

TEST(MemFsTest, UnsyncedDataIsLostSyncedDataStays) {
  MemFs fs;
  std::mt19937_64 rng(1);
  auto f = MakeFile(&fs, "/a", "first");
  fs.Sync(f.get());
  fs.Sync(Dir(fs, "/").get());
  ASSERT_EQ(fs.Write(f.get(), 0, "FIRST and more", 14), 14);
  EXPECT_EQ(ReadAll(fs, "/a"), "FIRST and more");
  auto stats = fs.Cut(CutMode::kDropUnsynced, &rng);
  EXPECT_EQ(ReadAll(fs, "/a"), "first");
  EXPECT_EQ(stats.files_reverted, 1u);
  EXPECT_EQ(stats.pages_lost, 1u);
  // After the cut the disk is what reads see: a second cut changes nothing.
  stats = fs.Cut(CutMode::kDropUnsynced, &rng);
  EXPECT_EQ(ReadAll(fs, "/a"), "first");
  EXPECT_EQ(stats.files_reverted, 0u);
}

TEST(MemFsTest, ANewFileNeedsItsDirectorySynced) {
  MemFs fs;
  std::mt19937_64 rng(1);
  ASSERT_EQ(fs.Mkdir("/d", 0755), 0);
  auto f = MakeFile(&fs, "/d/x", "data");
  fs.Sync(f.get());  // the file's bytes are on disk, its names are not
  fs.Cut(CutMode::kDropUnsynced, &rng);
  EXPECT_EQ(ReadAll(fs, "/d/x"), "<missing>");
  InodePtr d;
  EXPECT_EQ(fs.Lookup("/d", &d), -ENOENT) << "the root was never synced";

  ASSERT_EQ(fs.Mkdir("/d", 0755), 0);
  f = MakeFile(&fs, "/d/x", "data");
  fs.Sync(f.get());
  fs.Sync(Dir(fs, "/d").get());
  fs.Cut(CutMode::kDropUnsynced, &rng);
  EXPECT_EQ(fs.Lookup("/d", &d), -ENOENT) << "/d synced, but its own entry in / was not";

  ASSERT_EQ(fs.Mkdir("/d", 0755), 0);
  f = MakeFile(&fs, "/d/x", "data");
  fs.Sync(f.get());
  fs.Sync(Dir(fs, "/d").get());
  fs.Sync(Dir(fs, "/").get());
  fs.Cut(CutMode::kDropUnsynced, &rng);
  EXPECT_EQ(ReadAll(fs, "/d/x"), "data");
}

TEST(MemFsTest, RenameAndUnlinkRevertUntilTheDirectoryIsSynced) {
  MemFs fs;
  std::mt19937_64 rng(1);
  auto f = MakeFile(&fs, "/old", "v1");
  fs.Sync(f.get());
  fs.Sync(Dir(fs, "/").get());
  auto g = MakeFile(&fs, "/tmp", "v2");
  fs.Sync(g.get());
  ASSERT_EQ(fs.Rename("/tmp", "/old", 0), 0);
  EXPECT_EQ(ReadAll(fs, "/old"), "v2");
  fs.Cut(CutMode::kDropUnsynced, &rng);
  EXPECT_EQ(ReadAll(fs, "/old"), "v1") << "the rename was not synced";
  EXPECT_EQ(ReadAll(fs, "/tmp"), "<missing>");

  g = MakeFile(&fs, "/tmp", "v2");
  fs.Sync(g.get());
  ASSERT_EQ(fs.Rename("/tmp", "/old", 0), 0);
  fs.Sync(Dir(fs, "/").get());
  ASSERT_EQ(fs.Unlink("/old"), 0);
  fs.Cut(CutMode::kDropUnsynced, &rng);
  EXPECT_EQ(ReadAll(fs, "/old"), "v2") << "the rename was synced, the unlink was not";
  ASSERT_EQ(fs.Unlink("/old"), 0);
  fs.Sync(Dir(fs, "/").get());
  fs.Cut(CutMode::kDropUnsynced, &rng);
  EXPECT_EQ(ReadAll(fs, "/old"), "<missing>");
}

TEST(MemFsTest, SizeChangesNeedTheFileSynced) {
  MemFs fs;
  std::mt19937_64 rng(1);
  auto f = MakeFile(&fs, "/f", std::string(10000, 'x'));
  fs.Sync(f.get());
  fs.Sync(Dir(fs, "/").get());
  ASSERT_EQ(fs.Truncate(f.get(), 5), 0);
  ASSERT_EQ(fs.Fallocate(f.get(), 0, 0, 1 << 20), 0);
  EXPECT_EQ(f->data.size, 1u << 20);
  EXPECT_EQ(ReadAll(fs, "/f").substr(0, 6), std::string("xxxxx") + '\0') << "truncated tail reads zeros";
  fs.Cut(CutMode::kDropUnsynced, &rng);
  EXPECT_EQ(ReadAll(fs, "/f"), std::string(10000, 'x'));
  ASSERT_EQ(fs.Fallocate(f.get(), FALLOC_FL_KEEP_SIZE, 0, 1 << 20), 0);
  EXPECT_EQ(f->data.size, 10000u);
  EXPECT_EQ(fs.Fallocate(f.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 10), -EOPNOTSUPP);
}

TEST(MemFsTest, RandomSubsetKeepsLosesAndTearsOnlyUnsyncedPages) {
  // Page 0 is synced; pages 1..8 are written after the sync. Over many cuts
  // every outcome appears for the pending pages, never for the synced one,
  // and a torn page is always new sectors followed by old ones.
  uint64_t kept = 0, lost = 0, torn = 0;
  for (uint64_t seed = 0; seed < 40; seed++) {
    MemFs fs;
    std::mt19937_64 rng(seed);
    auto f = MakeFile(&fs, "/f", std::string(kPageSize * 9, 'o'));
    fs.Sync(f.get());
    fs.Sync(Dir(fs, "/").get());
    std::string fresh(kPageSize * 8, 'n');
    ASSERT_EQ(fs.Write(f.get(), kPageSize, fresh.data(), fresh.size()),
              static_cast<int64_t>(fresh.size()));
    auto stats = fs.Cut(CutMode::kRandomSubset, &rng);
    EXPECT_EQ(stats.pages_kept + stats.pages_lost + stats.pages_torn, 8u);
    kept += stats.pages_kept;
    lost += stats.pages_lost;
    torn += stats.pages_torn;
    std::string after = ReadAll(fs, "/f");
    ASSERT_EQ(after.size(), kPageSize * 9);
    EXPECT_EQ(after.substr(0, kPageSize), std::string(kPageSize, 'o'));
    for (uint64_t p = 1; p < 9; p++) {
      std::string page = after.substr(p * kPageSize, kPageSize);
      size_t first_old = page.find('o');
      if (first_old == std::string::npos) continue;  // kept
      EXPECT_EQ(first_old % kSectorSize, 0u);
      EXPECT_EQ(page.find('n', first_old), std::string::npos) << "old sectors, then new ones";
    }
  }
  EXPECT_GT(kept, 0u);
  EXPECT_GT(lost, 0u);
  EXPECT_GT(torn, 0u);
}

TEST(MemFsTest, SyncedPagesAreCopiedOnWriteNotChangedUnderTheDisk) {
  MemFs fs;
  std::mt19937_64 rng(3);
  auto f = MakeFile(&fs, "/f", std::string(kPageSize, 'a'));
  fs.Sync(f.get());
  fs.Sync(Dir(fs, "/").get());
  EXPECT_EQ(fs.PagesHeld(), 1u) << "one page, shared by both states";
  ASSERT_EQ(fs.Write(f.get(), 10, "b", 1), 1);
  EXPECT_EQ(fs.PagesHeld(), 2u);
  fs.Cut(CutMode::kDropUnsynced, &rng);
  EXPECT_EQ(ReadAll(fs, "/f"), std::string(kPageSize, 'a'));
}

TEST(MemFsTest, NamespaceErrors) {
  MemFs fs;
  InodePtr f;
  ASSERT_EQ(fs.Mkdir("/d", 0755), 0);
  EXPECT_EQ(fs.Mkdir("/d", 0755), -EEXIST);
  ASSERT_EQ(fs.Create("/d/f", 0644, &f), 0);
  EXPECT_EQ(fs.Create("/d/f", 0644, &f), -EEXIST);
  EXPECT_EQ(fs.Create("/nope/f", 0644, &f), -ENOENT);
  EXPECT_EQ(fs.Create("/d/f/g", 0644, &f), -ENOTDIR);
  EXPECT_EQ(fs.Rmdir("/d"), -ENOTEMPTY);
  EXPECT_EQ(fs.Unlink("/d"), -EISDIR);
  EXPECT_EQ(fs.Rmdir("/d/f"), -ENOTDIR);
  EXPECT_EQ(fs.Rename("/d", "/d/sub", 0), -EINVAL);
  ASSERT_EQ(fs.Mkdir("/e", 0755), 0);
  EXPECT_EQ(fs.Rename("/d/f", "/e", 0), -EISDIR);
  ASSERT_EQ(fs.Create("/g", 0644, &f), 0);
  EXPECT_EQ(fs.Rename("/d/f", "/g", RENAME_NOREPLACE), -EEXIST);
  EXPECT_EQ(fs.Rename("/d/f", "/g", RENAME_EXCHANGE), -EINVAL);
  ASSERT_EQ(fs.Rename("/d/f", "/g", 0), 0);
  EXPECT_EQ(fs.Rmdir("/d"), 0);
  EXPECT_EQ(fs.List(*Dir(fs, "/")), (std::vector<std::string>{"e", "g"}));
}

}  // namespace
}  // namespace sentry::cutfs
