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
// PrefaultStep runs on the Prefaulter's thread. SyncRange may run on another
// thread (the flusher) concurrently with writes to other bytes. data() may be read by any thread within ranges the owner has
// published. Must outlive every reader of data(): segments are shared_ptr-held.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include <boost/interprocess/file_mapping.hpp>
#include <boost/interprocess/mapped_region.hpp>

#include "common/mutex.h"
#include "common/status.h"
#include "storage/file_ops.h"

namespace sentry {

class Prefaulter;

struct MappedFileOptions {
  size_t alloc_step = 16u << 20;     // fallocate granularity
  size_t prefault_ahead = 4u << 20;  // bytes kept allocated + populated ahead of the writer
  FileOps* file_ops = nullptr;       // nullptr -> DefaultFileOps()
  // Background thread doing the prefault; nullptr -> the writer does it inline.
  Prefaulter* prefaulter = nullptr;
  // storage.min.free.bytes: refuse to allocate (kNoSpace) when the file
  // system would be left with less free space than this. 0 = off.
  uint64_t min_free_bytes = 0;
  // storage.drop.behind.bytes: written data further than this behind the
  // writer is written back and dropped from the page cache by the prefaulter
  // thread, so the memory it held is reused for the next pages instead of
  // fresh memory (see DropBehind). 0 = leave the page cache to the kernel,
  // as Kafka does. Needs a prefaulter.
  size_t drop_behind = 0;
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
  size_t backed_size() const { return backed_.load(std::memory_order_acquire); }
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
  // The file will not grow again (sealed): the prefaulter forgets it.
  void StopPrefault();

  // Prefaulter thread only: one bounded step (allocate the next step, populate
  // up to 1 MiB) towards write position + prefault_ahead. True if more remains.
  bool PrefaultStep();

 private:
  MappedFile() = default;
  Status AllocateTo(size_t target) REQUIRES(alloc_mu_);
  void Populate(size_t from, size_t to);
  // One bounded drop-behind step; true if more remains. Prefaulter thread.
  bool DropBehind(size_t hint);
  std::string path_;
  boost::interprocess::file_mapping mapping_;
  boost::interprocess::mapped_region region_;
  uint8_t* base_ = nullptr;
  int fd_ = -1;
  size_t capacity_ = 0;
  Mutex alloc_mu_;                      // serialises fallocate/ftruncate (writer vs prefaulter)
  std::atomic<size_t> backed_{0};       // [0, backed_) is allocated on disk
  std::atomic<size_t> populated_{0};    // page tables populated up to here
  std::atomic<size_t> write_hint_{0};   // writer's position, for the prefaulter
  // Drop-behind state, prefaulter thread only. wb_fd_ is a second open file
  // description used only for write-back: a write-back error it sees does not
  // consume the error the flusher's msync must report (errseq is per file
  // description).
  int wb_fd_ = -1;
  bool wb_failed_ = false;
  size_t written_back_ = 0;  // write-back started below here
  size_t dropped_ = 0;       // pages dropped below here
  size_t next_kick_ = 0;                // writer-only: when to wake the prefaulter
  bool registered_ = false;             // writer-only
  bool stopped_ = false;                // writer-only: sealed, never prefault again
  MappedFileOptions opt_;
};

}  // namespace sentry
