// Fuzz target: the recovery scanner fed arbitrary bytes as a segment. It must
// yield the valid prefix (whole batches passing header, CRC and offset
// continuity checks from offset 0) or an error, never crash, and every batch
// it then serves must pass its checks.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "recovery/log_loader.h"
#include "fix_crcs.h"
#include "storage/record_batch.h"

using namespace sentry;

namespace {
constexpr uint32_t kIndexEntries = 1 << 16;  // the segment's offset capacity below

// Expected end offset: walk the input the way docs/protocol.md defines a valid
// log; a batch whose offsets the segment's index cannot hold ends it too.
int64_t ValidPrefixEnd(const uint8_t* data, size_t size) {
  size_t pos = 0;
  int64_t next = 0;
  while (pos < size) {
    RecordBatchView v;
    if (!RecordBatchView::Parse(data + pos, size - pos, &v).ok() || v.base_offset() != next ||
        v.last_offset() + 1 > int64_t{kIndexEntries}) {
      break;
    }
    next = v.last_offset() + 1;
    pos += v.TotalSize();
  }
  return next;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* raw, size_t raw_size) {
  // First byte odd: fix every CRC first, to get past it to the deeper checks.
  if (raw_size < 1) return 0;
  std::vector<uint8_t> input(raw + 1, raw + raw_size);
  if (raw[0] & 1) FixCrcs(&input);
  const uint8_t* data = input.data();
  const size_t size = input.size();
  static const std::string dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("sentry-fuzz-" + std::to_string(::getpid()));
    return d.string();
  }();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir + "/00000000000000000000.log", std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  LogConfig cfg;
  cfg.segment_bytes = 1 << 20;
  cfg.index_max_entries = kIndexEntries;
  cfg.file.alloc_step = 64 << 10;
  recovery::RecoveryOptions opt;  // unclean, no recovery point: walk everything
  recovery::RecoveryReport report;
  auto log = recovery::LoadPartition(dir, cfg, opt, &report);
  if (!log.ok()) return 0;  // e.g. more offsets than the index holds: an error is fine
  const int64_t want = ValidPrefixEnd(data, size);
  if ((*log)->high_watermark() != want) std::abort();
  for (int64_t next = 0; next < (*log)->high_watermark();) {
    auto r = (*log)->Read(next, 1 << 20);
    if (!r.ok() || r->size == 0) std::abort();
    // Every batch served passes its checks (CRC included) and continues the
    // offsets; a batch may hold fewer records than its range (as the cleaner
    // leaves them), which the log accepts.
    size_t pos = 0;
    while (pos < r->size) {
      RecordBatchView v;
      if (!RecordBatchView::Parse(r->data + pos, r->size - pos, &v).ok()) std::abort();
      if (v.base_offset() != next) std::abort();
      next = v.last_offset() + 1;
      pos += v.TotalSize();
    }
  }
  return 0;
}
