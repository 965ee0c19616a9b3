// MappedFile: one file mapped read-write for its whole capacity, allocated on
// disk in steps ahead of the writer.
//
// Why: a write through a shared mapping into a page with no disk blocks behind
// it raises SIGBUS when the disk is full. We never let that happen: the region
// [0, backed_size) is fallocate'd before anything writes into it, and Reserve()
// fails with a Status (kNoSpace) instead. Bytes past the data are zero (fresh
// allocation reads as zeros).
//
// Threads: Reserve/PrepareAhead/TrimTo are called only by the owning writer.
// SyncRange may run on another thread (the flusher) concurrently with writes to
// other bytes. data() may be read by any thread within ranges the owner has
// published. Must outlive every reader of data(): segments are shared_ptr-held.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>

#include "common/status.h"
#include "storage/file_ops.h"

namespace sentry {

struct MappedFileOptions {
  size_t alloc_step = 16u << 20;     // fallocate granularity
  size_t prefault_ahead = 1u << 20;  // pages populated ahead of the write position
  FileOps* file_ops = nullptr;       // nullptr -> DefaultFileOps()
};

class MappedFile {
 public:
  // Opens (creating when `create`) `path` and maps `capacity` bytes. An existing
  // file longer than `capacity` is an error. The current file size becomes the
  // backed size.
  static Result<std::unique_ptr<MappedFile>> Open(const std::string& path, size_t capacity,
                                                  bool create, const MappedFileOptions& opt);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  uint8_t* data() const { return base_; }
  size_t capacity() const { return capacity_; }
  size_t backed_size() const { return backed_; }
  const std::string& path() const { return path_; }
  int fd() const { return fd_; }

  // Guarantees [0, end) is allocated on disk. Fails (nothing changed) with
  // kNoSpace / kIoError, or kFull when end > capacity.
  Status Reserve(size_t end);
  // Best effort, called after a write ending at `end`: allocates the next step
  // early and populates page tables up to end + prefault_ahead, so the next
  // appends do not take page faults inline. Failures are left for Reserve().
  void PrepareAhead(size_t end);
  // msync of [from, to), widened to page boundaries.
  Status SyncRange(size_t from, size_t to) const;
  // Shrinks the file to `size` (a rolled segment keeps only its data).
  Status TrimTo(size_t size);

 private:
  MappedFile() = default;
  std::string path_;
  boost::interprocess::file_mapping mapping_;
  boost::interprocess::mapped_region region_;
  uint8_t* base_ = nullptr;
  int fd_ = -1;
  size_t capacity_ = 0;
  size_t backed_ = 0;
  size_t populated_ = 0;
  MappedFileOptions opt_;
};

}  // namespace sentry
