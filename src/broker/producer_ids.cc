#include "broker/producer_ids.h"

#include <charconv>

#include "common/file_util.h"

namespace sentry::broker {

ProducerIds::ProducerIds(std::string data_dir) : path_(std::move(data_dir) + "/__producer_ids") {}

Status ProducerIds::Load() {
  auto read = ReadFile(path_);
  if (!read.ok()) {
    return read.status().IsNotFound() ? Status::OK() : read.status();
  }
  const std::string& text = *read;
  int64_t end = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), end);
  if (ec != std::errc() || end < 0 || (ptr != text.data() + text.size() && *ptr != '\n')) {
    return Status::Corruption(path_ + ": not a producer id");
  }
  MutexLock l(&mu_);
  next_ = reserved_end_ = end;
  return Status::OK();
}

Result<int64_t> ProducerIds::Next() {
  MutexLock l(&mu_);
  if (next_ >= reserved_end_ && source_) {
    auto start = source_(kBlock);
    if (!start.ok()) return start.status();
    next_ = *start;
    reserved_end_ = *start + kBlock;
  } else if (next_ >= reserved_end_) {
    const int64_t end = next_ + kBlock;
    SENTRY_RETURN_IF_ERROR(WriteFileAtomically(path_, std::to_string(end) + "\n"));
    reserved_end_ = end;
  }
  return next_++;
}

}  // namespace sentry::broker
