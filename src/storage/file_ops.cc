#include "storage/file_ops.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

namespace sentry {
namespace {

class PosixFileOps final : public FileOps {
 public:
  Status Allocate(int fd, off_t offset, off_t len) override {
    int r;
    do {
      r = ::fallocate(fd, 0, offset, len);
    } while (r != 0 && errno == EINTR);
    if (r == 0) return Status::OK();
    if (errno == EOPNOTSUPP) {
      // A file system without fallocate: posix_fallocate writes zeros instead.
      int e = ::posix_fallocate(fd, offset, len);
      if (e == 0) return Status::OK();
      return Status::FromErrno(e, "posix_fallocate");
    }
    return Status::FromErrno(errno, "fallocate");
  }
  Status SyncRange(void* addr, size_t len) override {
    if (len == 0) return Status::OK();
    if (::msync(addr, len, MS_SYNC) != 0) return Status::FromErrno(errno, "msync");
    return Status::OK();
  }
  Status Truncate(int fd, off_t size) override {
    if (::ftruncate(fd, size) != 0) return Status::FromErrno(errno, "ftruncate");
    return Status::OK();
  }
  Status SyncFile(int fd) override {
    if (::fdatasync(fd) != 0) return Status::FromErrno(errno, "fdatasync");
    return Status::OK();
  }
};

}  // namespace

FileOps* DefaultFileOps() {
  static PosixFileOps ops;
  return &ops;
}

}  // namespace sentry
