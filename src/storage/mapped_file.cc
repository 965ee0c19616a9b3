#include "storage/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "storage/mapping_faults.h"
#include "storage/prefaulter.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace sentry {
namespace {
const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
size_t RoundUp(size_t v, size_t a) { return (v + a - 1) / a * a; }
}  // namespace

// A descriptor of the file for one allocation or truncation (the mapping
// itself needs none). Closed when it goes out of scope.
class MappedFile::Fd {
 public:
  explicit Fd(const std::string& path, int flags = O_RDWR)
      // The mode matters with O_CREAT: without it the new file's permission
      // bits are whatever the stack held (0000 was seen: a broker running as
      // an unprivileged user could not reopen its own segments).
      : fd_(::open(path.c_str(), flags | O_CLOEXEC, 0644)), errno_(errno) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  Status status(const std::string& path) const {
    return fd_ >= 0 ? Status::OK() : Status::FromErrno(errno_, "open " + path);
  }

 private:
  int fd_;
  int errno_;
};

Result<std::unique_ptr<MappedFile>> MappedFile::Open(const std::string& path, size_t capacity,
                                                     bool create,
                                                     const MappedFileOptions& opt) {
  if (capacity == 0) return Status::InvalidArgument("mapped file capacity 0: " + path);
  Fd fd(path, O_RDWR | (create ? O_CREAT : 0));
  SENTRY_RETURN_IF_ERROR(fd.status(path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "fstat " + path);
  size_t size = static_cast<size_t>(st.st_size);
  if (size > capacity) {
    return Status::InvalidArgument(
        fmt::format("{} is {} bytes, over its capacity of {}", path, size, capacity));
  }
  // The whole capacity is mapped once (address space only: no page is
  // touched), so data() never moves. The descriptor is closed right after:
  // the mapping holds the file.
  void* base = ::mmap(nullptr, capacity, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (base == MAP_FAILED) {
    return Status::FromErrno(errno, fmt::format("mmap {} ({} bytes)", path, capacity));
  }
  std::unique_ptr<MappedFile> f(new MappedFile());
  f->path_ = path;
  f->capacity_ = capacity;
  f->base_ = static_cast<uint8_t*>(base);
  f->fault_slot_ = MappingFaults::Register(base, capacity);
  f->backed_.store(size);
  f->opt_ = opt;
  if (!f->opt_.file_ops) f->opt_.file_ops = DefaultFileOps();
  f->opt_.min_alloc_step = std::clamp(RoundUp(f->opt_.min_alloc_step, kPage), kPage,
                                      std::max(kPage, f->opt_.alloc_step));
  // Registration with the prefaulter waits for the writer's first
  // PrepareAhead: a file that is only read (a rolled segment) is never grown.
  return f;
}

MappedFile::~MappedFile() {
  if (registered_) opt_.prefaulter->Unregister(this);
  CloseWriteBack();
  MappingFaults::Unregister(fault_slot_);
  if (base_) ::munmap(base_, capacity_);
}

Status MappedFile::CheckFault() const {
  uint64_t pos = 0;
  if (!MappingFaults::Faulted(fault_slot_, &pos)) return Status::OK();
  return Status::IoError(fmt::format(
      "{}: the page at position {} could not be read (I/O error or file truncated under the "
      "mapping: SIGBUS caught); its bytes are not trusted",
      path_, pos));
}

void MappedFile::CloseWriteBack() {
  if (wb_fd_ >= 0) ::close(wb_fd_);
  wb_fd_ = -1;
}

size_t MappedFile::StepEnd(size_t end) const {
  // The file doubles: a step as large as what is already backed, between
  // the first step and alloc_step.
  const size_t step =
      std::clamp(backed_size(), opt_.min_alloc_step, std::max(opt_.min_alloc_step, opt_.alloc_step));
  return std::min(capacity_, RoundUp(end, step));
}

size_t MappedFile::AheadOf(size_t end) const {
  // As far ahead as the file already holds: a partition that is barely
  // written is barely prefaulted (and its first step is not outgrown).
  return std::min(opt_.prefault_ahead, std::max(kPage, end));
}

Status MappedFile::AllocateTo(size_t target) {
  size_t backed = backed_.load(std::memory_order_relaxed);
  if (target <= backed) return Status::OK();
  Fd fd(path_);
  SENTRY_RETURN_IF_ERROR(fd.status(path_));
  if (opt_.min_free_bytes > 0) {
    // Checked once per allocation step, not per append.
    struct statvfs vfs;
    if (::fstatvfs(fd.get(), &vfs) == 0) {
      const uint64_t free_bytes = uint64_t{vfs.f_bavail} * vfs.f_frsize;
      const uint64_t want = target - backed;
      if (free_bytes < want + opt_.min_free_bytes) {
        return Status::NoSpace(fmt::format(
            "{}: {} bytes free, storage.min.free.bytes keeps {} in reserve", path_, free_bytes,
            opt_.min_free_bytes));
      }
    }
  }
  SENTRY_RETURN_IF_ERROR(opt_.file_ops->Allocate(fd.get(), static_cast<off_t>(backed),
                                                 static_cast<off_t>(target - backed)));
  backed_.store(target, std::memory_order_release);
  return Status::OK();
}

void MappedFile::Populate(size_t from, size_t to) {
  if (to <= from) return;
  if (::madvise(base_ + from, to - from, MADV_POPULATE_WRITE) != 0 && errno == EINVAL) {
    // Kernels before 5.14: touch one byte per page. Only pages past the
    // writer's data are touched, and they hold zeros, so writing zero changes
    // nothing but faults the page in.
    for (size_t p = from; p < to; p += kPage) {
      reinterpret_cast<volatile uint8_t*>(base_)[p] = 0;
    }
  }
}

bool MappedFile::DropBehind(size_t hint) {
  // Why: on a VM whose memory is returned to the host when free (balloon /
  // free-page reporting), the first touch of a page the guest has not used
  // lately costs a host fault: ~0.4 GB/s here against ~3 GB/s for recycled
  // memory (BENCHMARKS.md). Without this, every new byte of log takes a fresh
  // page-cache page until memory pressure starts reclaim. With it, each
  // partition keeps its last `drop_behind` bytes cached (what consumers at the
  // tail read) and the pages behind are written back and freed, so the
  // allocator hands the same warm pages back for the next appends.
  const size_t keep = opt_.drop_behind;
  if (keep == 0 || wb_failed_ || hint < keep) return false;
  const size_t chunk = opt_.alloc_step;
  const size_t wb_to = (hint - keep / 2) / chunk * chunk;
  const size_t drop_to = std::min(std::max(written_back_, wb_to), (hint - keep) / chunk * chunk);
  if (wb_to <= written_back_ && drop_to <= dropped_) return false;  // nothing to do
  if (wb_fd_ < 0) {
    // Opened when write-back starts and kept until every page it started is
    // dropped, so it sees every error of the write-back it waits for.
    wb_fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (wb_fd_ < 0) {
      wb_failed_ = true;
      return false;
    }
  }
  // Start write-back of everything older than keep/2 without waiting, so it
  // is done (or nearly) by the time those pages are due to be dropped. Unmap
  // the range from this process first: write-back of a page that is mapped
  // writable has to write-protect its PTE and flush the TLB of every CPU
  // running this process, one page at a time (perf: a third of this thread's
  // time in those IPIs); one MADV_DONTNEED unmaps the whole range with one
  // flush, and a zapped dirty PTE leaves its page dirty in the page cache.
  if (wb_to > written_back_) {
    ::madvise(base_ + written_back_, wb_to - written_back_, MADV_DONTNEED);
    if (::sync_file_range(wb_fd_, static_cast<off_t>(written_back_),
                          static_cast<off_t>(wb_to - written_back_), SYNC_FILE_RANGE_WRITE) != 0) {
      wb_failed_ = true;  // keep every page: the kernel and the flusher deal with the error
      return false;
    }
    written_back_ = wb_to;
  }
  if (drop_to <= dropped_) return false;
  const size_t to = std::min(drop_to, dropped_ + chunk);
  const off_t off = static_cast<off_t>(dropped_);
  const off_t len = static_cast<off_t>(to - dropped_);
  // Wait until that range is on disk: a page whose write-back failed must not
  // be dropped (its data would exist nowhere).
  if (::sync_file_range(wb_fd_, off, len,
                        SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                            SYNC_FILE_RANGE_WAIT_AFTER) != 0) {
    wb_failed_ = true;
    return false;
  }
  // Unmap again (a reader may have faulted pages back in; readers fault the
  // bytes back in from the page cache or the disk: the mapping and the data
  // stay valid), then drop the now clean, unmapped pages.
  ::madvise(base_ + dropped_, to - dropped_, MADV_DONTNEED);
  ::posix_fadvise(wb_fd_, off, len, POSIX_FADV_DONTNEED);
  dropped_ = to;
  if (dropped_ >= written_back_) CloseWriteBack();  // idle: no descriptor held
  return to < drop_to;
}

bool MappedFile::PrefaultStep(size_t* ahead_total, size_t budget) {
  const size_t hint = write_hint_.load(std::memory_order_acquire);
  const bool more_behind = DropBehind(hint);
  const size_t target = std::min(capacity_, hint + AheadOf(hint));
  // alloc_mu_ also keeps TrimTo from shrinking the file under a populate.
  MutexLock l(&alloc_mu_);
  if (backed_size() < target) {
    // Disk full or failing: leave it to the writer's Reserve to report.
    (void)AllocateTo(StepEnd(target));
  }
  // Never touch the page holding the writer's position (it has data).
  const size_t floor = RoundUp(hint + 1, kPage);
  const size_t populated = populated_.load(std::memory_order_relaxed);
  // This file's share of the prefaulter's resident footprint: what is
  // populated beyond the writer (the writer consumed the rest).
  const size_t ahead = populated > floor ? populated - floor : 0;
  *ahead_total = *ahead_total - ahead_counted_ + ahead;
  ahead_counted_ = ahead;
  const size_t room = budget > *ahead_total ? budget - *ahead_total : 0;
  size_t from = std::max(populated, floor);
  size_t to = std::min({target, backed_size(), from + (size_t{1} << 20), from + room}) / kPage *
              kPage;
  if (to <= from) return more_behind;
  Populate(from, to);
  populated_.store(to, std::memory_order_release);
  *ahead_total += to - from;
  ahead_counted_ += to - from;
  return more_behind || to < std::min(target, backed_size()) / kPage * kPage;
}

Status MappedFile::Reserve(size_t end) {
  if (end <= backed_size()) return Status::OK();
  if (end > capacity_) {
    return Status::Full(fmt::format("{}: {} bytes needed, capacity {}", path_, end, capacity_));
  }
  MutexLock l(&alloc_mu_);
  Status s = AllocateTo(StepEnd(end));
  if (!s.ok()) {
    // The full step did not fit: fall back to exactly what this write needs, so
    // a nearly-full disk still takes the writes that fit.
    s = AllocateTo(std::min(capacity_, RoundUp(end, kPage)));
  }
  return s;
}

void MappedFile::PrepareAhead(size_t end) {
  if (opt_.prefaulter) {
    write_hint_.store(end, std::memory_order_release);
    if (stopped_) return;
    // Wake the prefaulter each quarter of the distance, not on every append.
    if (end >= next_kick_) {
      next_kick_ = end + std::max(kPage, AheadOf(end) / 4);
      registered_ = true;  // the prefaulter may hold it from now on
      opt_.prefaulter->Kick(this);
    }
    return;
  }
  const size_t ahead = AheadOf(end);
  size_t want = std::min(capacity_, end + ahead);
  if (want > backed_size()) {
    MutexLock al(&alloc_mu_);
    (void)AllocateTo(StepEnd(want));  // Reserve reports failures
  }
  MutexLock l(&alloc_mu_);
  want = std::min(want, backed_size()) / kPage * kPage;
  size_t from = std::max(populated_.load(std::memory_order_relaxed), RoundUp(end + 1, kPage));
  // Populate in chunks of at least a quarter of the distance: few madvise calls.
  if (want <= from || want - from < std::max(kPage, ahead / 4)) return;
  Populate(from, want);
  populated_.store(want, std::memory_order_release);
}

void MappedFile::WillNeed(size_t from, size_t to) const {
  to = std::min(to, backed_size());
  if (to <= from) return;
  const size_t start = from / kPage * kPage;
  (void)::madvise(base_ + start, to - start, MADV_WILLNEED);
}

Status MappedFile::SyncRange(size_t from, size_t to) const {
  if (to <= from) return Status::OK();
  size_t start = from / kPage * kPage;
  SENTRY_RETURN_IF_ERROR(opt_.file_ops->SyncRange(base_ + start, to - start));
  // A page replaced after a SIGBUS is anonymous memory: msync "succeeds" on
  // it without writing anything, so a sync never vouches for such a file.
  return CheckFault();
}

void MappedFile::StopPrefault() {
  stopped_ = true;
  if (registered_) {
    opt_.prefaulter->Unregister(this);  // the prefaulter is done with wb_fd_
    registered_ = false;
  }
  CloseWriteBack();
}

void MappedFile::ResumePrefault() {
  // StopPrefault unregistered it, so the prefaulter holds no reference and
  // queued_ (possibly left set) can be reset for the next Kick.
  stopped_ = false;
  next_kick_ = 0;
  queued_.store(false, std::memory_order_release);
}

Status MappedFile::TrimTo(size_t size) {
  MutexLock l(&alloc_mu_);
  Fd fd(path_);
  SENTRY_RETURN_IF_ERROR(fd.status(path_));
  SENTRY_RETURN_IF_ERROR(opt_.file_ops->Truncate(fd.get(), static_cast<off_t>(size)));
  backed_.store(size, std::memory_order_release);
  if (populated_.load() > size) populated_.store(size);
  return Status::OK();
}

}  // namespace sentry
