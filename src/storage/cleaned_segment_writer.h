// CleanedSegmentWriter: writes the segment the log cleaner makes out of a
// group of sealed segments, beside them, as
//   <base>.log.cleaned  <base>.index.cleaned  <base>.timeindex.cleaned
// (base = the group's first base offset). Batches arrive in offset order
// with their original offsets; the dense index gets one slot per offset of
// the group's whole range: the offsets the cleaner removed point at the next
// surviving batch, those after the last one at the end of the log. Finish
// fsyncs all three files and the directory; nothing else is durable before.
// The swap that puts the files in place is segment_swap.h.
//
// One thread (the cleaner). Plain buffered write(2): the files are read back
// through a mapping only once they are complete.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/log_config.h"

namespace sentry {

class CleanedSegmentWriter {
 public:
  // Creates (truncating leftovers of an abandoned clean) the three files.
  static Result<std::unique_ptr<CleanedSegmentWriter>> Create(const std::string& dir,
                                                              int64_t base_offset,
                                                              const LogConfig& cfg);
  ~CleanedSegmentWriter();

  // Appends one whole batch whose offsets lie after everything added so far
  // and inside the index's range.
  Status Add(std::span<const uint8_t> batch);
  // Extends the index to cover offsets up to end_offset (the group's end),
  // writes everything out and fsyncs the files and the directory.
  Status Finish(int64_t end_offset);
  // Removes the files (an abandoned clean).
  void Abandon();

  uint64_t log_bytes() const { return log_bytes_; }
  int64_t base_offset() const { return base_; }

 private:
  CleanedSegmentWriter(std::string dir, int64_t base, const LogConfig& cfg)
      : dir_(std::move(dir)), base_(base), cfg_(cfg) {}
  Status Write(int fd, std::vector<uint8_t>* buf, bool force);
  Status AddSlots(int64_t upto_rel, uint32_t position);

  const std::string dir_;
  const int64_t base_;
  const LogConfig cfg_;
  int fds_[3] = {-1, -1, -1};  // .log, .index, .timeindex
  std::vector<uint8_t> bufs_[3];
  uint64_t log_bytes_ = 0;
  int64_t next_rel_ = 0;          // first offset (relative) without a slot
  int64_t last_timestamp_ = -1;   // newest time-index entry
};

}  // namespace sentry
