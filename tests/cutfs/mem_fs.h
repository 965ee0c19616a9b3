// MemFs: the in-memory file system behind cutfs, the project's power-cut
// simulator (issue 18; tests/cutfs/README.md).
//
// Every file and directory holds two states:
//  - what reads see now (the page cache and the directory as the kernel
//    shows them), changed by every write, truncate, create, rename, unlink;
//  - what the disk holds: what a power cut leaves. A file's data and size
//    reach it only through fsync/fdatasync/msync of that file (Sync), a
//    directory's entries only through fsync of that directory. This is the
//    strict POSIX reading (a new file, or a renamed one, is durable once its
//    directory was synced), stricter than ext4, whose journal usually commits
//    a new entry along with the file's own fsync.
// Cut() is the power cut: every file and directory falls back to what the
// disk holds; files that only an unsynced directory entry reached are gone.
// kRandomSubset models a disk that wrote back part of what was pending before
// the power went: each unsynced page is kept, lost or torn at a 512-byte
// sector boundary (a prefix of its sectors new, the rest old), and a file's
// unsynced size change is kept or lost. Directory entries are never kept
// unsynced: no reordering of namespace operations is modelled.
//
// Pages are shared between the two states and copied on write, so an
// unchanged synced file costs its bytes once.
//
// Not thread-safe: the FUSE glue (main.cc) serialises every call. No hard
// links, symlinks or special files.
#pragma once

#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace sentry::cutfs {

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kSectorSize = 512;
using Page = std::array<char, kPageSize>;

struct FileData {
  uint64_t size = 0;
  std::map<uint64_t, std::shared_ptr<Page>> pages;  // page number -> bytes; absent: zeros
};

struct Inode {
  uint64_t ino = 0;
  mode_t mode = 0;
  timespec mtime{};
  FileData data, durable_data;  // regular files
  std::map<std::string, std::shared_ptr<Inode>> entries, durable_entries;  // directories
  bool IsDir() const { return S_ISDIR(mode); }
};
using InodePtr = std::shared_ptr<Inode>;

enum class CutMode { kDropUnsynced, kRandomSubset };

struct CutStats {
  uint64_t files_reverted = 0;    // files whose data or size was not all synced
  uint64_t pages_kept = 0;        // unsynced pages that survived (kRandomSubset)
  uint64_t pages_torn = 0;        // unsynced pages left half old, half new
  uint64_t pages_lost = 0;        // unsynced pages that fell back to the disk's
  uint64_t entries_changed = 0;   // directories whose entries fell back
};

class MemFs {
 public:
  MemFs();

  // Path operations (absolute paths, "/" is the root). 0 or -errno.
  int Lookup(const std::string& path, InodePtr* out) const;
  int Create(const std::string& path, mode_t mode, InodePtr* out);  // a regular file
  int Mkdir(const std::string& path, mode_t mode);
  int Unlink(const std::string& path);
  int Rmdir(const std::string& path);
  int Rename(const std::string& from, const std::string& to, unsigned flags);

  // Inode operations. Read and Write return the byte count or -errno.
  int64_t Read(const Inode& f, uint64_t off, uint64_t len, char* out) const;
  int64_t Write(Inode* f, uint64_t off, const char* buf, uint64_t len);
  int Truncate(Inode* f, uint64_t size);
  int Fallocate(Inode* f, int mode, uint64_t off, uint64_t len);
  void Sync(Inode* i);  // fsync of a file (data and size) or of a directory (entries)
  void Stat(const Inode& i, struct stat* st) const;
  std::vector<std::string> List(const Inode& dir) const;

  // The power cut. Afterwards both states are equal (the new disk).
  CutStats Cut(CutMode mode, std::mt19937_64* rng);

  uint64_t PagesHeld() const;  // distinct pages of both states, for statfs

 private:
  int Parent(const std::string& path, InodePtr* dir, std::string* name) const;
  int RemoveName(const std::string& path, bool is_dir);  // Unlink and Rmdir
  InodePtr NewInode(mode_t mode);
  void CutFile(Inode* f, CutMode mode, std::mt19937_64* rng, CutStats* stats);

  InodePtr root_;
  uint64_t next_ino_ = 2;  // 1 is the root, as FUSE expects
};

}  // namespace sentry::cutfs
