#include "recovery/leader_epoch_loader.h"

#include <spdlog/spdlog.h>

#include <vector>

#include "common/file_util.h"

namespace sentry::recovery {

namespace {

using Entry = LeaderEpochCache::Entry;

// The entries the batch headers give: one where each newer epoch starts.
Result<std::vector<Entry>> FromLog(const PartitionLog& log) {
  std::vector<Entry> entries;
  SENTRY_RETURN_IF_ERROR(
      log.WalkHeaders(log.log_start_offset(), [&entries](const RecordBatchView& b) {
        const int32_t epoch = b.partition_leader_epoch();
        if (epoch >= 0 && (entries.empty() || epoch > entries.back().epoch)) {
          entries.push_back({epoch, b.base_offset()});
        }
      }));
  return entries;
}

// Takes `entries`, written to the file first when `persist`. A disk that
// cannot take the file (full, failing) must not keep the partition from
// loading: the file is then removed (unlinking needs no space) so the next
// start rebuilds from the log instead of trusting entries that are stale.
Status Take(PartitionLog* log, std::vector<Entry> entries, bool persist) {
  LeaderEpochCache& cache = log->leader_epochs();
  if (!persist) return cache.Restore(std::move(entries), /*persist=*/false);
  Status s = cache.Restore(entries, /*persist=*/true);
  if (s.ok() || s.code() == Status::Code::kInvalidArgument) return s;
  SENTRY_RETURN_IF_ERROR(RemoveFileDurably(log->dir() + "/" + LeaderEpochCache::kFileName));
  spdlog::warn(
      "{}: cannot write the leader epoch checkpoint ({}); removed it: the next start "
      "rebuilds it from the log",
      log->dir(), s.ToString());
  return cache.Restore(std::move(entries), /*persist=*/false);
}

}  // namespace

Status RestoreLeaderEpochs(PartitionLog* log, LeaderEpochRestore* out) {
  *out = LeaderEpochRestore{};
  const int64_t start = log->log_start_offset();
  const int64_t end = log->log_end_offset();
  auto stored = LeaderEpochCache::ReadCheckpoint(log->dir());
  if (stored.ok()) {
    std::vector<Entry> entries = std::move(stored).value();
    const size_t had = entries.size();
    while (!entries.empty() && entries.back().start_offset >= end) entries.pop_back();
    out->entries_dropped = static_cast<int>(had - entries.size());
    // Below the log start: the last entry there wrote the first batch kept.
    size_t below = 0;
    while (below + 1 < entries.size() && entries[below + 1].start_offset <= start) below++;
    bool changed = out->entries_dropped > 0 || below > 0;
    entries.erase(entries.begin(), entries.begin() + static_cast<std::ptrdiff_t>(below));
    if (!entries.empty() && entries.front().start_offset < start) {
      entries.front().start_offset = start;
      changed = true;
    }
    out->entries = entries.size();
    // Rewritten when entries went: left in the file, an entry past the end
    // would come back once the log grows past it under an older epoch.
    return Take(log, std::move(entries), /*persist=*/changed);
  }
  const bool missing = stored.status().IsNotFound();
  if (missing && start == end) return Status::OK();  // a new partition
  SENTRY_ASSIGN_OR_RETURN(std::vector<Entry> entries, FromLog(*log));
  spdlog::warn("{}: {}; rebuilt from the log: {} leader epoch(s)", log->dir(),
               missing ? "no leader-epoch-checkpoint" : stored.status().message(), entries.size());
  out->rebuilt = true;
  out->entries = entries.size();
  return Take(log, std::move(entries), /*persist=*/true);
}

}  // namespace sentry::recovery
