#include "sentryctl/segment_scan.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <filesystem>

#include "storage/offset_index.h"
#include "storage/record_batch.h"
#include "storage/time_index.h"

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

namespace {
bool AllZero(const uint8_t* p, size_t n) {
  return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}
}  // namespace

LogScan ScanLog(const std::vector<uint8_t>& bytes) {
  LogScan scan;
  scan.file_size = bytes.size();
  size_t pos = 0;
  const size_t n = bytes.size();
  while (pos < n) {
    const size_t left = n - pos;
    const uint8_t* p = bytes.data() + pos;
    // The end of the data: zeros where a header would start (the active
    // segment is allocated ahead of its data and reads as zeros there).
    if (AllZero(p, std::min(left, batch_layout::kHeaderSize))) {
      if (!AllZero(p, left)) {
        scan.stop_reason = "non-zero bytes after the end of the data";
        scan.stop_position = pos;
      }
      break;
    }
    if (left < batch_layout::kHeaderSize) {
      scan.stop_reason = "partial batch header (" + std::to_string(left) + " bytes) at the end";
      scan.stop_position = pos;
      break;
    }
    const size_t total = RecordBatchView::PeekTotalSize(p, left);
    if (total == 0 || total > left) {
      scan.stop_reason = "batch_length " + std::to_string(GetI32(p + batch_layout::kBatchLength)) +
                         " runs past the end of the file (" + std::to_string(left) +
                         " bytes left): torn write";
      scan.stop_position = pos;
      break;
    }
    RecordBatchView v;
    ScannedBatch b;
    Status s = RecordBatchView::Parse(p, left, &v, /*verify_crc=*/true);
    if (!s.ok()) {
      // A CRC failure leaves the framing usable: note it and keep walking.
      if (RecordBatchView::Parse(p, left, &v, /*verify_crc=*/false).ok()) {
        b.crc_ok = false;
        b.crc_error = s.message();
      } else {
        scan.stop_reason = s.message();
        scan.stop_position = pos;
        break;
      }
    }
    b.position = pos;
    b.size = v.TotalSize();
    b.base_offset = v.base_offset();
    b.last_offset = v.last_offset();
    b.records = v.records_count();
    b.base_timestamp = v.base_timestamp();
    b.max_timestamp = v.max_timestamp();
    b.compression = v.compression();
    b.crc = v.crc();
    scan.batches.push_back(b);
    pos += b.size;
    scan.data_end = pos;
  }
  return scan;
}

std::vector<IndexSlot> ReadIndexSlots(const std::vector<uint8_t>& bytes) {
  std::vector<IndexSlot> out(bytes.size() / kIndexSlotBytes);
  for (size_t i = 0; i < out.size(); i++) {
    out[i].relative_offset = GetU32(bytes.data() + i * kIndexSlotBytes);
    out[i].position = GetU32(bytes.data() + i * kIndexSlotBytes + 4);
  }
  return out;
}

size_t UsedIndexSlots(const std::vector<IndexSlot>& slots) {
  size_t used = slots.size();
  while (used > 0 && slots[used - 1].relative_offset == 0 && slots[used - 1].position == 0) used--;
  return used;
}

std::vector<TimeIndexEntry> ReadTimeIndex(const std::vector<uint8_t>& bytes) {
  std::vector<TimeIndexEntry> out(bytes.size() / kTimeIndexSlotBytes);
  for (size_t i = 0; i < out.size(); i++) {
    out[i].timestamp = GetI64(bytes.data() + i * kTimeIndexSlotBytes);
    out[i].relative_offset = GetU32(bytes.data() + i * kTimeIndexSlotBytes + 8);
  }
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
