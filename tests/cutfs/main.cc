// cutfs: a FUSE file system that forgets, on command, everything not synced:
// a power cut for the project's tests (issue 18; README.md beside this file).
//
//   cutfs MOUNTPOINT [--seed N] [--sync-delay-ms N]
//
// It mounts an empty MemFs at MOUNTPOINT and prints "mounted 1". Then:
//   SIGUSR1  power cut, losing everything unsynced;
//   SIGUSR2  power cut where the disk wrote back a random part of what was
//            pending (pages kept, lost or torn at a sector boundary);
// either way it stops serving, unmounts (the kernel's page cache for it goes),
// reverts to what the disk held, prints "cut N: ..." and mounts again
// ("mounted N+1"), so the next run sees exactly the disk. SIGTERM or SIGINT
// unmounts and exits 0. Kill the program that uses the mount before cutting:
// a mount still in use cannot be unmounted, and cutfs then exits 1.
//
// --sync-delay-ms makes every fsync/msync take that long (a slow disk's cache
// flush); other requests go on meanwhile.
//
// Requests run on FUSE's worker threads, one MemFs call at a time (a mutex).
// The program that uses the mount is killed before a cut, so nothing it
// asked for can slip in between the signal and the cut.
#define FUSE_USE_VERSION 35
#include <fuse.h>
#include <fuse_lowlevel.h>  // fuse_session_exit: what libfuse's own signal handlers call
#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <mutex>
#include <thread>

#include "cutfs/mem_fs.h"

namespace {

using sentry::cutfs::CutMode;
using sentry::cutfs::InodePtr;
using sentry::cutfs::MemFs;

MemFs* g_fs = nullptr;
std::mutex g_mu;  // every MemFs call: FUSE serves requests on several threads
int g_sync_delay_ms = 0;
std::atomic<fuse_session*> g_session{nullptr};
// What the last signal asked for: 0 nothing, 1 cut, 2 random cut, 3 exit.
volatile sig_atomic_t g_request = 0;

void OnSignal(int sig) {
  g_request = sig == SIGUSR1 ? 1 : sig == SIGUSR2 ? 2 : 3;
  if (fuse_session* se = g_session.load()) fuse_session_exit(se);
}

// The inode behind an open handle (it outlives an unlink), else by path.
int Resolve(const char* path, fuse_file_info* fi, InodePtr* out) {
  if (fi && fi->fh) {
    *out = *reinterpret_cast<InodePtr*>(fi->fh);
    return 0;
  }
  if (!path) return -EBADF;
  return g_fs->Lookup(path, out);
}

void* Init(fuse_conn_info* conn, fuse_config* cfg) {
  cfg->nullpath_ok = 1;   // operations on unlinked open files come with fi only
  cfg->hard_remove = 1;   // no .fuse_hidden renames: MemFs keeps unlinked open inodes
  cfg->kernel_cache = 1;  // only the kernel changes the files: keep its cache across opens
  cfg->use_ino = 1;
  return nullptr;
}

int GetAttr(const char* path, struct stat* st, fuse_file_info* fi) {
  std::lock_guard<std::mutex> lock(g_mu);
  InodePtr i;
  if (int r = Resolve(path, fi, &i); r != 0) return r;
  g_fs->Stat(*i, st);
  return 0;
}

// Directories get a handle too: with nullpath_ok, readdir and fsyncdir come
// without a path.
int OpenDir(const char* path, fuse_file_info* fi) {
  std::lock_guard<std::mutex> lock(g_mu);
  InodePtr d;
  if (int r = g_fs->Lookup(path, &d); r != 0) return r;
  if (!d->IsDir()) return -ENOTDIR;
  fi->fh = reinterpret_cast<uint64_t>(new InodePtr(std::move(d)));
  return 0;
}

int ReadDir(const char* path, void* buf, fuse_fill_dir_t fill, off_t, fuse_file_info* fi,
            fuse_readdir_flags) {
  std::lock_guard<std::mutex> lock(g_mu);
  InodePtr d;
  if (int r = Resolve(path, fi, &d); r != 0) return r;
  if (!d->IsDir()) return -ENOTDIR;
  fill(buf, ".", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  fill(buf, "..", nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  for (const auto& name : g_fs->List(*d)) {
    fill(buf, name.c_str(), nullptr, 0, static_cast<fuse_fill_dir_flags>(0));
  }
  return 0;
}

int OpenLocked(const char* path, fuse_file_info* fi) {
  InodePtr f;
  if (int r = g_fs->Lookup(path, &f); r != 0) return r;
  if (f->IsDir()) return -EISDIR;
  if (fi->flags & O_TRUNC) g_fs->Truncate(f.get(), 0);
  fi->fh = reinterpret_cast<uint64_t>(new InodePtr(std::move(f)));
  return 0;
}

int Open(const char* path, fuse_file_info* fi) {
  std::lock_guard<std::mutex> lock(g_mu);
  return OpenLocked(path, fi);
}

int Create(const char* path, mode_t mode, fuse_file_info* fi) {
  std::lock_guard<std::mutex> lock(g_mu);
  InodePtr f;
  int r = g_fs->Create(path, mode, &f);
  if (r == -EEXIST && !(fi->flags & O_EXCL)) return OpenLocked(path, fi);  // made meanwhile
  if (r != 0) return r;
  fi->fh = reinterpret_cast<uint64_t>(new InodePtr(std::move(f)));
  return 0;
}

int Release(const char*, fuse_file_info* fi) {
  std::lock_guard<std::mutex> lock(g_mu);
  delete reinterpret_cast<InodePtr*>(fi->fh);
  fi->fh = 0;
  return 0;
}

int Read(const char* path, char* buf, size_t size, off_t off, fuse_file_info* fi) {
  std::lock_guard<std::mutex> lock(g_mu);
  InodePtr f;
  if (int r = Resolve(path, fi, &f); r != 0) return r;
  return static_cast<int>(g_fs->Read(*f, static_cast<uint64_t>(off), size, buf));
}

int Write(const char* path, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  std::lock_guard<std::mutex> lock(g_mu);
  InodePtr f;
  if (int r = Resolve(path, fi, &f); r != 0) return r;
  return static_cast<int>(g_fs->Write(f.get(), static_cast<uint64_t>(off), buf, size));
}

int Truncate(const char* path, off_t size, fuse_file_info* fi) {
  std::lock_guard<std::mutex> lock(g_mu);
  InodePtr f;
  if (int r = Resolve(path, fi, &f); r != 0) return r;
  return g_fs->Truncate(f.get(), static_cast<uint64_t>(size));
}

int Fallocate(const char* path, int mode, off_t off, off_t len, fuse_file_info* fi) {
  std::lock_guard<std::mutex> lock(g_mu);
  InodePtr f;
  if (int r = Resolve(path, fi, &f); r != 0) return r;
  return g_fs->Fallocate(f.get(), mode, static_cast<uint64_t>(off), static_cast<uint64_t>(len));
}

int SyncInode(const char* path, fuse_file_info* fi) {
  // The slow part of a slow disk's sync, outside the lock: this sync waits,
  // the rest of the file system goes on (a device whose cache flush is slow).
  if (g_sync_delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(g_sync_delay_ms));
  std::lock_guard<std::mutex> lock(g_mu);
  InodePtr i;
  if (int r = Resolve(path, fi, &i); r != 0) return r;
  g_fs->Sync(i.get());
  return 0;
}

int Fsync(const char* path, int, fuse_file_info* fi) { return SyncInode(path, fi); }

int FsyncDir(const char* path, int, fuse_file_info* fi) { return SyncInode(path, fi); }

int Mkdir(const char* path, mode_t mode) {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_fs->Mkdir(path, mode);
}
int Unlink(const char* path) {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_fs->Unlink(path);
}
int Rmdir(const char* path) {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_fs->Rmdir(path);
}
int Rename(const char* from, const char* to, unsigned flags) {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_fs->Rename(from, to, flags);
}

int Chmod(const char* path, mode_t mode, fuse_file_info* fi) {
  std::lock_guard<std::mutex> lock(g_mu);
  InodePtr i;
  if (int r = Resolve(path, fi, &i); r != 0) return r;
  i->mode = (i->mode & S_IFMT) | (mode & 07777);
  return 0;
}

int Chown(const char*, uid_t, gid_t, fuse_file_info*) { return 0; }  // everything is root's
int Utimens(const char*, const timespec*, fuse_file_info*) { return 0; }

int StatFs(const char*, struct statvfs* st) {
  std::lock_guard<std::mutex> lock(g_mu);
  std::memset(st, 0, sizeof(*st));
  st->f_bsize = st->f_frsize = sentry::cutfs::kPageSize;
  st->f_blocks = 1ull << 22;  // 16 GiB of pretend space
  uint64_t used = g_fs->PagesHeld();
  st->f_bfree = st->f_bavail = st->f_blocks > used ? st->f_blocks - used : 0;
  st->f_files = 1u << 20;
  st->f_ffree = st->f_favail = 1u << 19;
  st->f_namemax = 255;
  return 0;
}

fuse_operations Operations() {
  fuse_operations ops{};
  ops.init = Init;
  ops.getattr = GetAttr;
  ops.opendir = OpenDir;
  ops.readdir = ReadDir;
  ops.releasedir = Release;
  ops.open = Open;
  ops.create = Create;
  ops.release = Release;
  ops.read = Read;
  ops.write = Write;
  ops.truncate = Truncate;
  ops.fallocate = Fallocate;
  ops.fsync = Fsync;
  ops.fsyncdir = FsyncDir;
  ops.mkdir = Mkdir;
  ops.unlink = Unlink;
  ops.rmdir = Rmdir;
  ops.rename = Rename;
  ops.chmod = Chmod;
  ops.chown = Chown;
  ops.utimens = Utimens;
  ops.statfs = StatFs;
  return ops;
}

int Usage() {
  std::fprintf(stderr, "usage: cutfs MOUNTPOINT [--seed N] [--sync-delay-ms N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage();
  std::string mountpoint = argv[1];
  uint64_t seed = 1;
  for (int i = 2; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--sync-delay-ms" && i + 1 < argc) {
      g_sync_delay_ms = std::atoi(argv[++i]);
    } else {
      return Usage();
    }
  }
  MemFs fs;
  g_fs = &fs;
  std::mt19937_64 rng(seed);
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);  // no SA_RESTART: the loop's read of /dev/fuse must see EINTR
  for (int sig : {SIGUSR1, SIGUSR2, SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &sa, nullptr);
  const fuse_operations ops = Operations();
  for (int generation = 1;; generation++) {
    char prog[] = "cutfs";
    char opt[] = "-o";
    char opts[] = "fsname=cutfs,subtype=cutfs";
    char* fargv[] = {prog, opt, opts, nullptr};
    fuse_args args = FUSE_ARGS_INIT(3, fargv);
    fuse* f = fuse_new(&args, &ops, sizeof(ops), nullptr);
    if (!f || fuse_mount(f, mountpoint.c_str()) != 0) {
      std::fprintf(stderr, "cutfs: cannot mount %s (needs /dev/fuse and the right to mount)\n",
                   mountpoint.c_str());
      return 1;
    }
    g_session = fuse_get_session(f);
    g_request = 0;
    std::printf("mounted %d\n", generation);
    std::fflush(stdout);
    // Several threads, so that a slow sync holds only itself. A signal
    // interrupts whichever thread it lands on; the loop then ends and its
    // threads are cancelled (none holds g_mu at a cancellation point).
    fuse_loop_config loop{};
    loop.clone_fd = 0;
    loop.max_idle_threads = 16;
    fuse_loop_mt(f, &loop);
    int request = g_request;
    g_session = nullptr;
    fuse_unmount(f);
    fuse_destroy(f);
    if (request != 1 && request != 2) return 0;  // SIGTERM, or unmounted from outside
    auto mode = request == 1 ? CutMode::kDropUnsynced : CutMode::kRandomSubset;
    auto s = fs.Cut(mode, &rng);
    std::printf("cut %d (%s): %llu files reverted, pages %llu lost %llu kept %llu torn, "
                "%llu directories reverted\n",
                generation, request == 1 ? "unsynced lost" : "random subset",
                static_cast<unsigned long long>(s.files_reverted),
                static_cast<unsigned long long>(s.pages_lost),
                static_cast<unsigned long long>(s.pages_kept),
                static_cast<unsigned long long>(s.pages_torn),
                static_cast<unsigned long long>(s.entries_changed));
    std::fflush(stdout);
  }
}
