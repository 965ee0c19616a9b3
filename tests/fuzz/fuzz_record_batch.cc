// Fuzz target: RecordBatch v2 validation and record decoding. Whatever the
// bytes, validation must stay in bounds; a batch it accepts must lie inside
// the input, and decoding its records must stay in bounds too.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "fix_crcs.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

using namespace sentry;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* raw, size_t raw_size) {
  // First byte odd: fix every CRC first, to get past it to the deeper checks.
  if (raw_size < 1) return 0;
  std::vector<uint8_t> input(raw + 1, raw + raw_size);
  if (raw[0] & 1) FixCrcs(&input);
  const uint8_t* data = input.data();
  const size_t size = input.size();
  BatchSetSummary sum;
  const bool all_valid = ValidateBatches(std::span<const uint8_t>(data, size), &sum).ok();
  size_t pos = 0;
  int32_t batches = 0;
  // Parse also accepts a cleaned batch (fewer records than its offset range);
  // ValidateBatches (produce) only dense ones.
  bool dense = true;
  while (pos < size) {
    RecordBatchView v;
    if (!RecordBatchView::Parse(data + pos, size - pos, &v).ok()) break;
    if (v.last_offset_delta() != v.records_count() - 1) dense = false;
    if (v.TotalSize() > size - pos || v.TotalSize() < batch_layout::kHeaderSize) std::abort();
    std::vector<DecodedRecord> recs;
    (void)DecodeRecords(data + pos, v.TotalSize(), &recs);
    for (auto& r : recs) {
      if (r.key && (r.key->data() < reinterpret_cast<const char*>(data) ||
                    r.key->data() + r.key->size() > reinterpret_cast<const char*>(data + size))) {
        std::abort();
      }
    }
    pos += v.TotalSize();
    batches++;
  }
  // ValidateBatches accepts exactly inputs made of whole valid batches.
  if (all_valid != (pos == size && size > 0 && dense)) std::abort();
  if (all_valid && sum.batch_count != batches) std::abort();
  return 0;
}
