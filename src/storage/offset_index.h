// OffsetIndex: the `.index` file of a segment. One fixed slot per offset
// (layout: index_layout.h), so offset -> batch position is a single load
// (O(1)), no search. Slots are written by the writer before it publishes the
// high watermark (release); readers look up only offsets below it (acquire).
//
// Threads: Append/TrimTo on the owning writer; Lookup from any thread for
// published offsets.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "storage/index_layout.h"
#include "storage/log_types.h"
#include "storage/mapped_file.h"

namespace sentry {

class OffsetIndex {
 public:
  static Result<std::unique_ptr<OffsetIndex>> Open(const std::string& path, uint32_t max_entries,
                                                   bool create, const MappedFileOptions& opt);

  // Writes slots [first, first + count) all pointing at `position`.
  Status Append(RelativeOffset first, uint32_t count, LogPosition position);
  // Position of the batch holding `rel`; Corruption when the slot does not
  // carry `rel` (zeroed or overwritten).
  Result<LogPosition> Lookup(RelativeOffset rel) const;
  // True when slot `rel` carries `rel` and a position below `log_size` (or
  // equal to it with `gaps`: a compacted segment's offsets after its last
  // surviving batch point at its end).
  bool SlotValid(RelativeOffset rel, uint32_t log_size, bool gaps = false) const;
  // Checks slots [0, n): each carries its own number and a position that is
  // below `log_size` (at most it, with `gaps`) and not below the previous
  // one. On success *last_pos (if given) is slot n-1's position (0 when n is 0).
  Status CheckSlots(uint32_t n, size_t log_size, uint32_t* last_pos = nullptr,
                    bool gaps = false) const;
  // The first slot of [0, n) whose position is at least `pos` (n if none):
  // positions never decrease, so a binary search.
  uint32_t FirstSlotAtOrAfter(uint32_t n, uint32_t pos) const;

  // Zeroes slots [from, to) (they read as never written) and msyncs them:
  // the dropped end of a truncated segment. Writer only.
  Status ClearSlots(RelativeOffset from, uint32_t to);

  uint32_t max_entries() const { return max_entries_; }
  Status TrimTo(uint32_t entries);
  Status Sync(uint32_t entries) { return file_->SyncRange(0, size_t{entries} * kIndexSlotBytes); }
  MappedFile* file() { return file_.get(); }
  size_t file_bytes() const { return file_->backed_size(); }

 private:
  explicit OffsetIndex(std::unique_ptr<MappedFile> f, uint32_t max)
      : file_(std::move(f)), max_entries_(max) {}
  std::unique_ptr<MappedFile> file_;
  uint32_t max_entries_;
};

}  // namespace sentry
