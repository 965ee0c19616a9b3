// The crash-safe swap of cleaned segments (docs/retention.md, "Compaction:
// file life cycle"). The cleaner writes a group's replacement beside it as
// `.cleaned` files (cleaned_segment_writer.h); then:
//
//   1. commit: the manifest `cleaner-swap` ("<base> <end>", written
//      atomically) names the range [base, end) being replaced;
//   2. every file of the old segments in that range is renamed to
//      `<name>.deleted`; directory fsynced;
//   3. `<base>.log.cleaned` -> `<base>.log`, then the two indexes likewise;
//      directory fsynced;
//   4. the manifest is removed (durably): the swap is complete;
//   5. the `.deleted` files are unlinked.
//
// RecoverSwap, run before a partition's segments are listed at start-up,
// finishes a committed swap (manifest present: redo 2-5, each step
// idempotent) or rolls back an uncommitted one (no manifest: `.cleaned`
// files removed). Either way no `.cleaned` or `.deleted` file remains and
// every offset is held by exactly one segment. Kafka derives the range of
// its `.swap` files from the swapped segment itself; the manifest names it,
// because a cleaned group whose last records were all removed ends before
// the range does.
//
// One thread per partition directory (the cleaner, or recovery before the
// partition is served).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sentry {

inline constexpr const char* kCleanedSuffix = ".cleaned";
inline constexpr const char* kDeletedSuffix = ".deleted";
inline constexpr const char* kSwapManifest = "cleaner-swap";

// <dir>/<20-digit base><ext><suffix>
std::string SwapFileName(const std::string& dir, int64_t base, const char* ext,
                         const char* suffix);

// Called at every point where a crash matters (after each rename, each
// fsync); returning false stops the swap right there, as a crash would
// (tests; SENTRY_FAULT_CLEANER_CRASH_AT in sentryd). Empty: never stops.
using SwapFaultHook = std::function<bool(std::string_view step)>;

// Steps 1-3 for the cleaned files of [base, end) replacing segments
// `old_bases` (all inside the range). After it, the new segment's files
// carry their final names. IoError("fault injected ...") when the hook
// stopped it.
Status CommitSwap(const std::string& dir, int64_t base, int64_t end,
                  const std::vector<int64_t>& old_bases, const SwapFaultHook& fault);
// Steps 4-5.
Status FinishSwap(const std::string& dir, const std::vector<int64_t>& old_bases,
                  const SwapFaultHook& fault);

struct SwapRecovery {
  bool completed = false;    // a committed swap was finished
  int cleaned_removed = 0;   // files of an uncommitted clean removed
  int deleted_removed = 0;   // old files of a swap removed
};
// See above. Corruption when the manifest cannot be read as a range.
Status RecoverSwap(const std::string& dir, SwapRecovery* out);

}  // namespace sentry
