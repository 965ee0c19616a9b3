// MappedFile: one file mapped read-write for its whole capacity, allocated on
// disk in steps ahead of the writer.
//
// Cost grows with the data, not with the number of files: the first step is
// small (min_alloc_step) and each step doubles with the file up to
// alloc_step; nothing is populated before the first write; no file
// descriptor is kept open (the mapping keeps the file; allocation and
// truncation reopen it by path, once per step), so 10,000 partitions cost
// neither 10,000 x 16 MiB of disk nor 30,000 descriptors.
//
// Why: a write through a shared mapping into a page with no disk blocks behind
// it raises SIGBUS when the disk is full. We never let that happen: the region
// [0, backed_size) is fallocate'd before anything writes into it, and Reserve()
// fails with a Status (kNoSpace) instead. Bytes past the data are zero (fresh
// allocation reads as zeros).
//
// Threads: Reserve/PrepareAhead/TrimTo/StopPrefault/ResumePrefault are called
// only by the owning writer.
// PrefaultStep runs on the Prefaulter's thread. SyncRange may run on another
// thread (the flusher) concurrently with writes to other bytes. data() may be
// read by any thread within ranges the owner has published. Must outlive
// every reader of data(): segments are shared_ptr-held.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "common/mutex.h"
#include "common/status.h"
#include "storage/file_ops.h"

namespace sentry {

class Prefaulter;

struct MappedFileOptions {
  // fallocate steps: the first is min_alloc_step, each next one as large as
  // the file already is (the file doubles), at most alloc_step.
  size_t min_alloc_step = 64u << 10;
  size_t alloc_step = 16u << 20;
  // Bytes kept allocated + populated ahead of the writer, at most as many as
  // the file already holds (at least a page): a partition that is barely
  // written is barely prefaulted.
  size_t prefault_ahead = 4u << 20;
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
  friend class Prefaulter;  // queued_, write_hint_
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
  bool has_prefaulter() const { return opt_.prefaulter != nullptr; }
  const std::string& path() const { return path_; }

  // Guarantees [0, end) is allocated on disk. Fails (nothing changed) with
  // kNoSpace / kIoError, or kFull when end > capacity.
  Status Reserve(size_t end);
  // Best effort, called after a write ending at `end`: allocates the next step
  // early and populates page tables up to end + prefault_ahead, so the next
  // appends do not take page faults inline. Failures are left for Reserve().
  void PrepareAhead(size_t end);
  // Starts reading [from, to) from disk into the page cache without waiting
  // (MADV_WILLNEED), so a reader far behind the writer gets large reads at
  // disk speed instead of one fault per page. Any thread; best effort.
  void WillNeed(size_t from, size_t to) const;
  // msync of [from, to), widened to page boundaries.
  Status SyncRange(size_t from, size_t to) const;
  // An I/O error if a read of any page of the mapping failed (SIGBUS, see
  // mapping_faults.h): that page now holds zeros, not the file's bytes.
  Status CheckFault() const;
  // Shrinks the file to `size` (a rolled segment keeps only its data).
  Status TrimTo(size_t size);
  // The file will not grow again (sealed): the prefaulter forgets it.
  void StopPrefault();
  // It grows again after all (a sealed segment reopened by a truncation): the
  // prefaulter takes it back at the next write. Owning writer.
  void ResumePrefault();

  // Prefaulter thread only, under its lock: one bounded step (allocate the
  // next step, populate up to 1 MiB) towards write position + the prefault
  // distance. `*ahead_total` is the prefaulter's count of populated bytes
  // ahead of all writers; this file keeps its own share of it up to date and
  // populates only while the total stays within `budget`. True if more remains.
  bool PrefaultStep(size_t* ahead_total, size_t budget);
  // Prefaulter thread only, under its lock: this file's share of the total.
  size_t prefault_counted() const { return ahead_counted_; }

 private:
  class Fd;
  MappedFile() = default;
  // Where the next allocation step ends for a write ending at `end`.
  size_t StepEnd(size_t end) const;
  // How far ahead of a writer at `end` to allocate and populate.
  size_t AheadOf(size_t end) const;
  Status AllocateTo(size_t target) REQUIRES(alloc_mu_);
  void Populate(size_t from, size_t to);
  // One bounded drop-behind step; true if more remains. Prefaulter thread.
  bool DropBehind(size_t hint);
  std::string path_;
  uint8_t* base_ = nullptr;  // mmap of capacity_ bytes, MAP_SHARED
  int fault_slot_ = -1;      // MappingFaults slot of the mapping
  size_t capacity_ = 0;
  Mutex alloc_mu_;                      // serialises fallocate/ftruncate (writer vs prefaulter)
  std::atomic<size_t> backed_{0};       // [0, backed_) is allocated on disk
  std::atomic<size_t> populated_{0};    // page tables populated up to here
  std::atomic<size_t> write_hint_{0};   // writer's position, for the prefaulter
  std::atomic<bool> queued_{false};     // in the prefaulter's queue (see Prefaulter::Kick)
  void CloseWriteBack();
  // Drop-behind state, prefaulter thread only. wb_fd_ is a file description
  // of its own, open only while write-back it started is not yet dropped: an
  // error it sees does not consume the one the flusher's msync must report
  // (errseq is per file description; msync reports through the mapping's).
  int wb_fd_ = -1;
  bool wb_failed_ = false;
  size_t written_back_ = 0;  // write-back started below here
  size_t dropped_ = 0;       // pages dropped below here
  size_t next_kick_ = 0;                // writer-only: when to wake the prefaulter
  bool registered_ = false;             // writer-only: kicked at least once
  bool stopped_ = false;                // writer-only: sealed, never prefault again
  size_t ahead_counted_ = 0;            // prefaulter-only: populated bytes ahead of the writer
  MappedFileOptions opt_;
};

}  // namespace sentry
