// TimeIndex: the `.timeindex` file of a segment (slot layout: index_layout.h).
// An entry (max_timestamp, relative base offset) is appended for each batch
// whose max_timestamp is above the last entry's, so timestamps strictly
// increase along the file and a binary search finds the first batch at or
// after a time.
//
// Threads: Append on the owning writer, which publishes `entries` with release
// before the high watermark; Lookup from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "storage/index_layout.h"
#include "storage/log_types.h"
#include "storage/mapped_file.h"

namespace sentry {

class TimeIndex {
 public:
  static Result<std::unique_ptr<TimeIndex>> Open(const std::string& path, uint32_t max_entries,
                                                 bool create, const MappedFileOptions& opt);

  // Appends (timestamp, rel) when timestamp is above the last entry.
  Status MaybeAppend(int64_t timestamp, RelativeOffset rel);
  // Relative offset of the first entry with timestamp >= ts, if any.
  std::optional<uint32_t> Lookup(int64_t ts) const;
  // Largest timestamp indexed, or -1 when empty.
  int64_t last_timestamp() const;
  uint32_t entries() const { return entries_.load(std::memory_order_acquire); }
  // Sets the entry count after a rebuild / load (writer only).
  void ResetEntries(uint32_t n);
  Status TrimTo(uint32_t entries);
  // How many entries index relative offsets below `rel` (a prefix: they
  // increase).
  uint32_t EntriesBelow(RelativeOffset rel) const;
  // Keeps the first `n` entries: zeroes the others and msyncs them (the
  // dropped end of a truncated segment). Writer only.
  Status KeepEntries(uint32_t n);
  Status Sync() { return file_->SyncRange(0, size_t{entries()} * kTimeIndexSlotBytes); }
  MappedFile* file() { return file_.get(); }

  int64_t TimestampAt(uint32_t i) const;
  uint32_t RelAt(uint32_t i) const;

 private:
  TimeIndex(std::unique_ptr<MappedFile> f, uint32_t max) : file_(std::move(f)), max_entries_(max) {}
  std::unique_ptr<MappedFile> file_;
  uint32_t max_entries_;
  std::atomic<uint32_t> entries_{0};
  int64_t last_ts_ = -1;  // writer-only cache
};

}  // namespace sentry
