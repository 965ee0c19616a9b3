#include "storage/batch_walker.h"

#include <fmt/format.h>

#include <algorithm>

namespace sentry {

bool AllZero(const uint8_t* p, size_t n) {
  return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}

BatchWalker::BatchWalker(std::span<const uint8_t> data, size_t from, WalkOptions opt)
    : data_(data), pos_(from), opt_(opt), next_offset_(opt.expect_offset.value_or(-1)) {}

bool BatchWalker::Stop(std::string reason) {
  done_ = true;
  clean_ = reason.empty();
  reason_ = std::move(reason);
  return false;
}

bool BatchWalker::Next(WalkedBatch* out) {
  if (done_) return false;
  if (pos_ >= data_.size()) return Stop("");
  const size_t left = data_.size() - pos_;
  const uint8_t* p = data_.data() + pos_;
  if (opt_.zeros_end_log && AllZero(p, std::min(left, batch_layout::kHeaderSize))) {
    // Preallocated space: the log ends here. Anything non-zero after it is a
    // torn write that never became a batch.
    return Stop(AllZero(p, left) ? "" : "non-zero bytes after the zeroed end of the log");
  }
  if (left < batch_layout::kHeaderSize) {
    return Stop(fmt::format("{} trailing bytes, shorter than a batch header", left));
  }
  const size_t total = RecordBatchView::PeekTotalSize(p, left);
  if (total > left) {
    return Stop(fmt::format("batch_length {} runs past the end of the data ({} bytes left): "
                            "torn write",
                            GetI32(p + batch_layout::kBatchLength), left));
  }
  WalkedBatch b;
  b.position = pos_;
  Status s = RecordBatchView::Parse(p, left, &b.view, opt_.verify_crc);
  if (!s.ok()) {
    // A CRC failure leaves the framing usable.
    if (!opt_.continue_past_crc || !RecordBatchView::Parse(p, left, &b.view, false).ok()) {
      return Stop(s.message());
    }
    b.crc_ok = false;
    b.crc_error = s.message();
  }
  if (opt_.expect_offset && b.view.base_offset() != next_offset_ &&
      !(opt_.allow_gaps && b.view.base_offset() > next_offset_)) {
    return Stop(fmt::format("base_offset {} does not continue the log at {}",
                            b.view.base_offset(), next_offset_));
  }
  pos_ += b.view.TotalSize();
  if (opt_.expect_offset) next_offset_ = b.view.last_offset() + 1;
  *out = std::move(b);
  return true;
}

}  // namespace sentry
