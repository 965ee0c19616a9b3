#include "storage/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace sentry {
namespace {
const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
size_t RoundUp(size_t v, size_t a) { return (v + a - 1) / a * a; }
}  // namespace

Result<std::unique_ptr<MappedFile>> MappedFile::Open(const std::string& path, size_t capacity,
                                                     bool create,
                                                     const MappedFileOptions& opt) {
  if (capacity == 0) return Status::InvalidArgument("mapped file capacity 0: " + path);
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return Status::FromErrno(e, "fstat " + path);
  }
  ::close(fd);
  size_t size = static_cast<size_t>(st.st_size);
  if (size > capacity) {
    return Status::InvalidArgument(
        fmt::format("{} is {} bytes, over its capacity of {}", path, size, capacity));
  }
  std::unique_ptr<MappedFile> f(new MappedFile());
  f->path_ = path;
  f->capacity_ = capacity;
  f->backed_ = size;
  f->populated_ = 0;
  f->opt_ = opt;
  if (!f->opt_.file_ops) f->opt_.file_ops = DefaultFileOps();
  try {
    namespace bip = boost::interprocess;
    f->mapping_ = bip::file_mapping(path.c_str(), bip::read_write);
    f->region_ = bip::mapped_region(f->mapping_, bip::read_write, 0, capacity);
  } catch (const std::exception& e) {
    return Status::IoError(fmt::format("map {} ({} bytes): {}", path, capacity, e.what()));
  }
  f->base_ = static_cast<uint8_t*>(f->region_.get_address());
  f->fd_ = f->mapping_.get_mapping_handle().handle;
  return f;
}

MappedFile::~MappedFile() = default;

Status MappedFile::Reserve(size_t end) {
  if (end <= backed_) return Status::OK();
  if (end > capacity_) {
    return Status::Full(fmt::format("{}: {} bytes needed, capacity {}", path_, end, capacity_));
  }
  size_t target = std::min(capacity_, RoundUp(end, opt_.alloc_step));
  Status s = opt_.file_ops->Allocate(fd_, static_cast<off_t>(backed_),
                                     static_cast<off_t>(target - backed_));
  if (!s.ok() && target > end) {
    // The full step did not fit: fall back to exactly what this write needs, so
    // a nearly-full disk still takes the writes that fit.
    target = RoundUp(end, kPage) > capacity_ ? end : RoundUp(end, kPage);
    s = opt_.file_ops->Allocate(fd_, static_cast<off_t>(backed_),
                                static_cast<off_t>(target - backed_));
  }
  if (!s.ok()) return Status(s);
  backed_ = target;
  return Status::OK();
}

void MappedFile::PrepareAhead(size_t end) {
  size_t want = std::min(capacity_, end + opt_.prefault_ahead);
  if (want > backed_) {
    size_t target = std::min(capacity_, RoundUp(want, opt_.alloc_step));
    if (opt_.file_ops->Allocate(fd_, static_cast<off_t>(backed_),
                                static_cast<off_t>(target - backed_)).ok()) {
      backed_ = target;
    }
  }
  want = std::min(want, backed_) / kPage * kPage;
  if (populated_ < end / kPage * kPage) populated_ = end / kPage * kPage;
  // Populate in chunks of at least prefault_ahead/4 to keep madvise calls rare.
  if (want <= populated_ || want - populated_ < std::max(kPage, opt_.prefault_ahead / 4)) return;
  if (::madvise(base_ + populated_, want - populated_, MADV_POPULATE_WRITE) != 0) {
    // Older kernels: touch one byte per page. The bytes are zero (unwritten
    // space), so writing zero changes nothing but faults the page in.
    for (size_t p = populated_; p < want; p += kPage) {
      reinterpret_cast<volatile uint8_t*>(base_)[p] = base_[p];
    }
  }
  populated_ = want;
}

Status MappedFile::SyncRange(size_t from, size_t to) const {
  if (to <= from) return Status::OK();
  size_t start = from / kPage * kPage;
  return opt_.file_ops->SyncRange(base_ + start, to - start);
}

Status MappedFile::TrimTo(size_t size) {
  SENTRY_RETURN_IF_ERROR(opt_.file_ops->Truncate(fd_, static_cast<off_t>(size)));
  backed_ = size;
  if (populated_ > size) populated_ = size;
  return Status::OK();
}

}  // namespace sentry
