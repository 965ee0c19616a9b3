#include "cutfs/mem_fs.h"

#include <fcntl.h>
#include <linux/fs.h>  // RENAME_NOREPLACE, RENAME_EXCHANGE

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <set>

namespace sentry::cutfs {

namespace {

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

timespec Now() {
  timespec t{};
  clock_gettime(CLOCK_REALTIME, &t);
  return t;
}

// The page `pn` of `d`, writable: copied first when the other state shares it.
Page* WritablePage(FileData* d, uint64_t pn) {
  auto& slot = d->pages[pn];
  if (!slot) {
    slot = std::make_shared<Page>();
    slot->fill(0);
  } else if (slot.use_count() > 1) {
    slot = std::make_shared<Page>(*slot);
  }
  return slot.get();
}

// Drops what lies at or past `size`: whole pages, and the tail of the last one
// (so that growing the file again reads zeros there).
void CutDataAt(FileData* d, uint64_t size) {
  d->pages.erase(d->pages.lower_bound((size + kPageSize - 1) / kPageSize), d->pages.end());
  uint64_t in_page = size % kPageSize;
  if (in_page != 0) {
    auto it = d->pages.find(size / kPageSize);
    if (it != d->pages.end()) {
      Page* p = WritablePage(d, size / kPageSize);
      std::memset(p->data() + in_page, 0, kPageSize - in_page);
    }
  }
  d->size = size;
}

}  // namespace

MemFs::MemFs() {
  root_ = std::make_shared<Inode>();
  root_->ino = 1;
  root_->mode = S_IFDIR | 0755;
  root_->mtime = Now();
}

InodePtr MemFs::NewInode(mode_t mode) {
  auto i = std::make_shared<Inode>();
  i->ino = next_ino_++;
  i->mode = mode;
  i->mtime = Now();
  return i;
}

int MemFs::Lookup(const std::string& path, InodePtr* out) const {
  InodePtr cur = root_;
  for (const auto& part : SplitPath(path)) {
    if (!cur->IsDir()) return -ENOTDIR;
    auto it = cur->entries.find(part);
    if (it == cur->entries.end()) return -ENOENT;
    cur = it->second;
  }
  *out = cur;
  return 0;
}

int MemFs::Parent(const std::string& path, InodePtr* dir, std::string* name) const {
  auto parts = SplitPath(path);
  if (parts.empty()) return -EBUSY;  // the root itself
  *name = parts.back();
  if (name->size() > 255) return -ENAMETOOLONG;
  std::string parent;
  for (size_t i = 0; i + 1 < parts.size(); i++) parent += "/" + parts[i];
  int r = Lookup(parent, dir);
  if (r != 0) return r;
  return (*dir)->IsDir() ? 0 : -ENOTDIR;
}

int MemFs::Create(const std::string& path, mode_t mode, InodePtr* out) {
  InodePtr dir;
  std::string name;
  if (int r = Parent(path, &dir, &name); r != 0) return r;
  if (dir->entries.count(name)) return -EEXIST;
  auto f = NewInode(S_IFREG | (mode & 07777));
  dir->entries[name] = f;
  dir->mtime = Now();
  *out = f;
  return 0;
}

int MemFs::Mkdir(const std::string& path, mode_t mode) {
  InodePtr dir;
  std::string name;
  if (int r = Parent(path, &dir, &name); r != 0) return r;
  if (dir->entries.count(name)) return -EEXIST;
  dir->entries[name] = NewInode(S_IFDIR | (mode & 07777));
  dir->mtime = Now();
  return 0;
}

int MemFs::Unlink(const std::string& path) { return RemoveName(path, /*is_dir=*/false); }

int MemFs::Rmdir(const std::string& path) { return RemoveName(path, /*is_dir=*/true); }

int MemFs::RemoveName(const std::string& path, bool is_dir) {
  InodePtr dir;
  std::string name;
  if (int r = Parent(path, &dir, &name); r != 0) return r;
  auto it = dir->entries.find(name);
  if (it == dir->entries.end()) return -ENOENT;
  if (it->second->IsDir() != is_dir) return is_dir ? -ENOTDIR : -EISDIR;
  if (is_dir && !it->second->entries.empty()) return -ENOTEMPTY;
  dir->entries.erase(it);  // an open handle keeps the inode alive
  dir->mtime = Now();
  return 0;
}

int MemFs::Rename(const std::string& from, const std::string& to, unsigned flags) {
  if (flags & ~static_cast<unsigned>(RENAME_NOREPLACE)) return -EINVAL;  // EXCHANGE, WHITEOUT
  InodePtr src_dir, dst_dir;
  std::string src_name, dst_name;
  if (int r = Parent(from, &src_dir, &src_name); r != 0) return r;
  if (int r = Parent(to, &dst_dir, &dst_name); r != 0) return r;
  auto src = src_dir->entries.find(src_name);
  if (src == src_dir->entries.end()) return -ENOENT;
  InodePtr moving = src->second;
  if (moving->IsDir()) {  // not into itself or its own subtree
    std::string f = from + "/";
    if (to.compare(0, f.size(), f) == 0) return -EINVAL;
  }
  auto dst = dst_dir->entries.find(dst_name);
  if (dst != dst_dir->entries.end()) {
    if (dst->second == moving) return 0;
    if (flags & RENAME_NOREPLACE) return -EEXIST;
    if (dst->second->IsDir() && !moving->IsDir()) return -EISDIR;
    if (!dst->second->IsDir() && moving->IsDir()) return -ENOTDIR;
    if (dst->second->IsDir() && !dst->second->entries.empty()) return -ENOTEMPTY;
  }
  src_dir->entries.erase(src);
  dst_dir->entries[dst_name] = moving;
  src_dir->mtime = dst_dir->mtime = Now();
  return 0;
}

int64_t MemFs::Read(const Inode& f, uint64_t off, uint64_t len, char* out) const {
  if (f.IsDir()) return -EISDIR;
  if (off >= f.data.size) return 0;
  len = std::min(len, f.data.size - off);
  for (uint64_t done = 0; done < len;) {
    uint64_t pos = off + done;
    uint64_t in_page = pos % kPageSize;
    uint64_t n = std::min(len - done, kPageSize - in_page);
    auto it = f.data.pages.find(pos / kPageSize);
    if (it == f.data.pages.end()) {
      std::memset(out + done, 0, n);
    } else {
      std::memcpy(out + done, it->second->data() + in_page, n);
    }
    done += n;
  }
  return static_cast<int64_t>(len);
}

int64_t MemFs::Write(Inode* f, uint64_t off, const char* buf, uint64_t len) {
  if (f->IsDir()) return -EISDIR;
  for (uint64_t done = 0; done < len;) {
    uint64_t pos = off + done;
    uint64_t in_page = pos % kPageSize;
    uint64_t n = std::min(len - done, kPageSize - in_page);
    std::memcpy(WritablePage(&f->data, pos / kPageSize)->data() + in_page, buf + done, n);
    done += n;
  }
  f->data.size = std::max(f->data.size, off + len);
  f->mtime = Now();
  return static_cast<int64_t>(len);
}

int MemFs::Truncate(Inode* f, uint64_t size) {
  if (f->IsDir()) return -EISDIR;
  if (size < f->data.size) {
    CutDataAt(&f->data, size);
  } else {
    f->data.size = size;
  }
  f->mtime = Now();
  return 0;
}

int MemFs::Fallocate(Inode* f, int mode, uint64_t off, uint64_t len) {
  if (f->IsDir()) return -EISDIR;
  if (mode & ~FALLOC_FL_KEEP_SIZE) return -EOPNOTSUPP;  // punching holes is not modelled
  // Space is not accounted per file: the blocks are "reserved" by nothing.
  if (!(mode & FALLOC_FL_KEEP_SIZE)) f->data.size = std::max(f->data.size, off + len);
  return 0;
}

void MemFs::Sync(Inode* i) {
  if (i->IsDir()) {
    i->durable_entries = i->entries;
  } else {
    i->durable_data = i->data;  // shares the pages; the next write copies
  }
}

void MemFs::Stat(const Inode& i, struct stat* st) const {
  std::memset(st, 0, sizeof(*st));
  st->st_ino = i.ino;
  st->st_mode = i.mode;
  st->st_nlink = i.IsDir() ? 2 : 1;
  st->st_size = i.IsDir() ? 4096 : static_cast<off_t>(i.data.size);
  st->st_blksize = kPageSize;
  st->st_blocks = static_cast<blkcnt_t>(i.data.pages.size() * (kPageSize / 512));
  st->st_mtim = st->st_ctim = st->st_atim = i.mtime;
}

std::vector<std::string> MemFs::List(const Inode& dir) const {
  std::vector<std::string> names;
  for (const auto& [name, child] : dir.entries) names.push_back(name);
  return names;
}

void MemFs::CutFile(Inode* f, CutMode mode, std::mt19937_64* rng, CutStats* stats) {
  FileData& cur = f->data;
  const FileData& disk = f->durable_data;
  bool same = cur.size == disk.size && cur.pages == disk.pages;
  if (same) return;
  stats->files_reverted++;
  if (mode == CutMode::kDropUnsynced) {
    for (const auto& [pn, page] : cur.pages) {
      auto it = disk.pages.find(pn);
      if (it == disk.pages.end() || it->second != page) stats->pages_lost++;
    }
    cur = disk;
    return;
  }
  // kRandomSubset: start from the disk's state and let each pending page
  // (one whose bytes differ between the states) through, or not, or torn.
  FileData out = disk;
  std::set<uint64_t> pending;
  for (const auto& [pn, page] : cur.pages) {
    auto it = disk.pages.find(pn);
    if (it == disk.pages.end() || it->second != page) pending.insert(pn);
  }
  for (const auto& [pn, page] : disk.pages) {
    if (!cur.pages.count(pn)) pending.insert(pn);  // truncated away since the sync
  }
  auto page_of = [](const FileData& d, uint64_t pn) {
    auto it = d.pages.find(pn);
    return it == d.pages.end() ? nullptr : it->second;
  };
  for (uint64_t pn : pending) {
    auto now = page_of(cur, pn);
    switch ((*rng)() % 3) {
      case 0:
        stats->pages_lost++;
        break;
      case 1:
        if (now) {
          out.pages[pn] = now;
        } else {
          out.pages.erase(pn);
        }
        stats->pages_kept++;
        break;
      default: {  // torn: the first k sectors new, the rest as on disk
        uint64_t k = 1 + (*rng)() % (kPageSize / kSectorSize - 1);
        auto mixed = std::make_shared<Page>();
        auto old = page_of(disk, pn);
        for (uint64_t s = 0; s < kPageSize / kSectorSize; s++) {
          const auto& from = s < k ? now : old;
          char* dst = mixed->data() + s * kSectorSize;
          if (from) {
            std::memcpy(dst, from->data() + s * kSectorSize, kSectorSize);
          } else {
            std::memset(dst, 0, kSectorSize);
          }
        }
        out.pages[pn] = std::move(mixed);
        stats->pages_torn++;
      }
    }
  }
  uint64_t size = (*rng)() % 2 ? cur.size : disk.size;
  CutDataAt(&out, size);
  out.size = size;  // CutDataAt only shrinks page-wise; the size itself may grow
  cur = std::move(out);
}

CutStats MemFs::Cut(CutMode mode, std::mt19937_64* rng) {
  CutStats stats;
  std::set<const Inode*> seen;  // an inode renamed to another directory and both synced
  std::vector<Inode*> todo{root_.get()};
  while (!todo.empty()) {
    Inode* i = todo.back();
    todo.pop_back();
    if (!seen.insert(i).second) continue;
    if (i->IsDir()) {
      if (i->entries != i->durable_entries) stats.entries_changed++;
      i->entries = i->durable_entries;
      for (auto& [name, child] : i->entries) todo.push_back(child.get());
    } else {
      CutFile(i, mode, rng, &stats);
      i->durable_data = i->data;
    }
  }
  return stats;
}

uint64_t MemFs::PagesHeld() const {
  std::set<const Page*> pages;
  std::set<const Inode*> seen;
  std::vector<const Inode*> todo{root_.get()};
  while (!todo.empty()) {
    const Inode* i = todo.back();
    todo.pop_back();
    if (!seen.insert(i).second) continue;
    for (const auto* d : {&i->data, &i->durable_data}) {
      for (const auto& [pn, p] : d->pages) pages.insert(p.get());
    }
    for (const auto* m : {&i->entries, &i->durable_entries}) {
      for (const auto& [name, child] : *m) todo.push_back(child.get());
    }
  }
  return pages.size();
}

}  // namespace sentry::cutfs
