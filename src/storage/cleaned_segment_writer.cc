#include "storage/cleaned_segment_writer.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>

#include "common/file_util.h"
#include "storage/index_layout.h"
#include "storage/record_batch.h"
#include "storage/segment.h"
#include "storage/segment_swap.h"

namespace sentry {

namespace {
constexpr const char* kExts[3] = {".log", ".index", ".timeindex"};
constexpr size_t kFlushBytes = 1 << 20;
}  // namespace

Result<std::unique_ptr<CleanedSegmentWriter>> CleanedSegmentWriter::Create(
    const std::string& dir, int64_t base_offset, const LogConfig& cfg) {
  std::unique_ptr<CleanedSegmentWriter> w(new CleanedSegmentWriter(dir, base_offset, cfg));
  for (int i = 0; i < 3; i++) {
    const std::string path = SwapFileName(dir, base_offset, kExts[i], kCleanedSuffix);
    w->fds_[i] = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fds_[i] < 0) {
      Status s = Status::FromErrno(errno, "open " + path);
      w->Abandon();
      return s;
    }
  }
  return w;
}

CleanedSegmentWriter::~CleanedSegmentWriter() {
  for (int& fd : fds_) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

void CleanedSegmentWriter::Abandon() {
  for (int i = 0; i < 3; i++) {
    if (fds_[i] >= 0) ::close(fds_[i]);
    fds_[i] = -1;
    ::unlink(SwapFileName(dir_, base_, kExts[i], kCleanedSuffix).c_str());
  }
}

Status CleanedSegmentWriter::Write(int fd, std::vector<uint8_t>* buf, bool force) {
  if (buf->empty() || (!force && buf->size() < kFlushBytes)) return Status::OK();
  size_t done = 0;
  while (done < buf->size()) {
    const ssize_t n = ::write(fd, buf->data() + done, buf->size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, fmt::format("write cleaned segment {} in {}", base_, dir_));
    }
    done += static_cast<size_t>(n);
  }
  buf->clear();
  return Status::OK();
}

Status CleanedSegmentWriter::AddSlots(int64_t upto_rel, uint32_t position) {
  if (upto_rel > int64_t{cfg_.index_max_entries}) {
    return Status::InvalidArgument(fmt::format("cleaned segment {}: {} offsets exceed "
                                               "index.max.entries {}",
                                               base_, upto_rel, cfg_.index_max_entries));
  }
  std::vector<uint8_t>& idx = bufs_[1];
  for (; next_rel_ < upto_rel; next_rel_++) {
    const size_t at = idx.size();
    idx.resize(at + kIndexSlotBytes);
    WriteIndexSlot(idx.data() + at, 0, {static_cast<uint32_t>(next_rel_), position});
    if (idx.size() >= kFlushBytes) SENTRY_RETURN_IF_ERROR(Write(fds_[1], &idx, false));
  }
  return Status::OK();
}

Status CleanedSegmentWriter::Add(std::span<const uint8_t> batch) {
  const RecordBatchView view(batch.data());
  const int64_t first_rel = view.base_offset() - base_;
  if (first_rel < next_rel_) {
    return Status::InvalidArgument(fmt::format("cleaned segment {}: batch at {} is not after "
                                               "offset {}",
                                               base_, view.base_offset(), base_ + next_rel_));
  }
  if (log_bytes_ + batch.size() > cfg_.segment_bytes) {
    return Status::InvalidArgument(fmt::format("cleaned segment {} would exceed segment.bytes",
                                               base_));
  }
  const uint32_t position = static_cast<uint32_t>(log_bytes_);
  SENTRY_RETURN_IF_ERROR(AddSlots(view.last_offset() + 1 - base_, position));
  if (view.max_timestamp() > last_timestamp_) {
    std::vector<uint8_t>& t = bufs_[2];
    const size_t at = t.size();
    t.resize(at + kTimeIndexSlotBytes);
    WriteTimeIndexSlot(t.data() + at, 0,
                       {view.max_timestamp(), static_cast<uint32_t>(first_rel)});
    last_timestamp_ = view.max_timestamp();
  }
  bufs_[0].insert(bufs_[0].end(), batch.begin(), batch.end());
  log_bytes_ += batch.size();
  for (int i = 0; i < 3; i++) SENTRY_RETURN_IF_ERROR(Write(fds_[i], &bufs_[i], false));
  return Status::OK();
}

Status CleanedSegmentWriter::Finish(int64_t end_offset) {
  SENTRY_RETURN_IF_ERROR(AddSlots(end_offset - base_, static_cast<uint32_t>(log_bytes_)));
  for (int i = 0; i < 3; i++) {
    SENTRY_RETURN_IF_ERROR(Write(fds_[i], &bufs_[i], true));
    if (::fdatasync(fds_[i]) != 0) {
      return Status::FromErrno(errno, fmt::format("fdatasync cleaned segment {} in {}", base_,
                                                  dir_));
    }
    ::close(fds_[i]);
    fds_[i] = -1;
  }
  return SyncDirectory(dir_);
}

}  // namespace sentry
