#include "sentryctl/segment_scan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>

#include "storage/batch_walker.h"
#include "storage/index_layout.h"

namespace sentry::ctl {

Result<std::vector<uint8_t>> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return Status::FromErrno(e, "stat " + path);
  }
  std::vector<uint8_t> out(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Status::FromErrno(e, "read " + path);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(got);
  return out;
}

std::optional<int64_t> SegmentBaseOffset(const std::string& path) {
  const std::string stem = std::filesystem::path(path).stem().string();
  if (stem.size() != 20) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(stem.data(), stem.data() + stem.size(), v);
  if (ec != std::errc() || p != stem.data() + stem.size()) return std::nullopt;
  return v;
}

LogScan ScanLog(const std::vector<uint8_t>& bytes) {
  LogScan scan;
  scan.file_size = bytes.size();
  WalkOptions opt;
  opt.continue_past_crc = true;  // report every damaged batch in one pass
  BatchWalker walker(bytes, 0, opt);
  WalkedBatch w;
  while (walker.Next(&w)) {
    const RecordBatchView& v = w.view;
    ScannedBatch b;
    b.position = w.position;
    b.size = v.TotalSize();
    b.base_offset = v.base_offset();
    b.last_offset = v.last_offset();
    b.records = v.records_count();
    b.base_timestamp = v.base_timestamp();
    b.max_timestamp = v.max_timestamp();
    b.compression = v.compression();
    b.crc = v.crc();
    b.crc_ok = w.crc_ok;
    b.crc_error = std::move(w.crc_error);
    scan.batches.push_back(std::move(b));
    scan.data_end = walker.position();
  }
  if (!walker.clean_end()) {
    scan.stop_reason = walker.reason();
    scan.stop_position = walker.position();
  }
  return scan;
}

std::vector<IndexSlot> ReadIndexSlots(const std::vector<uint8_t>& bytes) {
  std::vector<IndexSlot> out(bytes.size() / kIndexSlotBytes);
  for (size_t i = 0; i < out.size(); i++) out[i] = ReadIndexSlot(bytes.data(), i);
  return out;
}

size_t UsedIndexSlots(const std::vector<IndexSlot>& slots) {
  size_t used = slots.size();
  while (used > 0 && slots[used - 1].relative_offset == 0 && slots[used - 1].position == 0) used--;
  return used;
}

std::vector<TimeIndexEntry> ReadTimeIndex(const std::vector<uint8_t>& bytes) {
  std::vector<TimeIndexEntry> out(bytes.size() / kTimeIndexSlotBytes);
  for (size_t i = 0; i < out.size(); i++) out[i] = ReadTimeIndexSlot(bytes.data(), i);
  return out;
}

size_t UsedTimeIndexEntries(const std::vector<TimeIndexEntry>& entries) {
  size_t used = entries.size();
  while (used > 0 && entries[used - 1].timestamp == 0 && entries[used - 1].relative_offset == 0) {
    used--;
  }
  return used;
}

}  // namespace sentry::ctl
