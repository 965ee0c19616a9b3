// FileOps: the storage layer's narrow interface to the syscalls that can fail
// with the disk (allocation, sync, resize). Production uses PosixFileOps; tests
// substitute a fake to inject ENOSPC / EIO deterministically (no LD_PRELOAD).
//
// Any thread; implementations must be thread-safe.
#pragma once

#include <sys/types.h>

#include <cstddef>

#include "common/status.h"

namespace sentry {

class FileOps {
 public:
  virtual ~FileOps() = default;
  // Allocates [offset, offset+len) of `fd` (extending its size), so later
  // writes through a shared mapping never hit an unbacked page.
  virtual Status Allocate(int fd, off_t offset, off_t len) = 0;
  // Writes back [addr, addr+len) of a shared mapping (addr page-aligned).
  virtual Status SyncRange(void* addr, size_t len) = 0;
  virtual Status Truncate(int fd, off_t size) = 0;
  virtual Status SyncFile(int fd) = 0;
};

// The real thing: fallocate(2), msync(MS_SYNC), ftruncate(2), fdatasync(2).
FileOps* DefaultFileOps();

}  // namespace sentry
