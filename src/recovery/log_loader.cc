#include "recovery/log_loader.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <cerrno>
#include <optional>
#include <vector>

#include "recovery/leader_epoch_loader.h"
#include "recovery/producer_state_loader.h"
#include "storage/segment_swap.h"

namespace sentry::recovery {

namespace {

// Walks a segment and restores its valid prefix. Returns the scan.
Result<SegmentScan> Walk(Segment* seg, bool truncate_log, RecoveryReport* report) {
  SegmentScan scan = seg->Scan(/*verify_crc=*/true);
  report->segments_walked++;
  report->indexes_rebuilt++;
  Status s = seg->RestoreFromScan(scan, truncate_log || scan.clean_end);
  if (!s.ok()) return s;
  return scan;
}

// Drops the segments from bases[from] on: a torn tail or a log that does not
// continue (never below the recovery point: the callers check).
Status RemoveFrom(const std::string& dir, const std::vector<int64_t>& bases, size_t from,
                  RecoveryReport* report) {
  for (size_t k = from; k < bases.size(); k++) {
    SENTRY_RETURN_IF_ERROR(Segment::RemoveFiles(dir, bases[k]));
    report->segments_removed++;
  }
  return Status::OK();
}

// A compacted segment may end (its last surviving batch) before the next
// segment begins: its index then covers the removed offsets up to there.
// Above the recovery point the same picture is also what a power cut leaves
// when it took a segment's unsynced tail after the next segment was made.
// There (`may_be_unflushed`) the gap is closed only when the segment's files,
// as found before the walk, show the cleaner's end (`gap_end`, from
// Segment::GapEndOnDisk) and its batches reach that end (`valid_bytes`);
// otherwise the tail was lost and the caller cuts the log there, as a log
// without gaps is. Closing a lost tail instead would retire offsets nobody
// can read and, when no later batch survived, leave a log end no fetch
// reaches.
Status CloseGap(Segment* seg, int64_t next_base, const LogConfig& cfg,
                bool may_be_unflushed = false, std::optional<uint32_t> gap_end = std::nullopt,
                uint32_t valid_bytes = 0) {
  if (!cfg.compacted || seg->next_offset() >= next_base) return Status::OK();
  if (may_be_unflushed && gap_end != valid_bytes) return Status::OK();
  return seg->ExtendTo(next_base);
}

// The partition's leader epochs (leader_epoch_loader.h); a failure takes it
// offline like a failed producer state rebuild.
void LoadLeaderEpochs(PartitionLog* log, RecoveryReport* report, std::string* offline) {
  LeaderEpochRestore epochs;
  Status s = RestoreLeaderEpochs(log, &epochs);
  if (!s.ok()) *offline = "leader epoch cache: " + s.ToString();
  report->leader_epochs = epochs.entries;
  report->leader_epochs_rebuilt = epochs.rebuilt;
  report->leader_epochs_dropped = epochs.entries_dropped;
}

}  // namespace

RecoveryOptions StartupState::For(const std::string& name) const {
  RecoveryOptions o;
  o.clean_shutdown = clean_shutdown;
  o.truncate_corrupt = truncate_corrupt;
  auto point = recovery_points.find(name);
  o.recovery_point = point == recovery_points.end() ? 0 : point->second;
  return o;
}

Result<std::unique_ptr<PartitionLog>> LoadPartition(const std::string& dir,
                                                    const LogConfig& topic_cfg,
                                                    const RecoveryOptions& opt,
                                                    RecoveryReport* report) {
  *report = RecoveryReport{};
  // A log the cleaner ever touched may have offset gaps, even if its topic
  // is no longer compacted.
  LogConfig cfg = topic_cfg;
  const bool cleaned_before = PartitionLog::CleanerCheckpointExists(dir);
  if (cleaned_before) cfg.compacted = true;
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::FromErrno(errno, "mkdir " + dir);
  }
  // A compaction swap the last run left half done is completed (committed)
  // or rolled back (not committed) before the segments are listed.
  SwapRecovery swap;
  SENTRY_RETURN_IF_ERROR(RecoverSwap(dir, &swap));
  report->cleaner_swap_completed = swap.completed;
  report->cleaner_files_removed = swap.cleaned_removed + swap.deleted_removed;
  if (swap.completed || report->cleaner_files_removed > 0) {
    spdlog::info("{}: {}{} leftover compaction file(s) removed", dir,
                 swap.completed ? "completed a committed compaction swap; " : "",
                 report->cleaner_files_removed);
  }
  SENTRY_ASSIGN_OR_RETURN(auto bases_r, Segment::ListBases(dir));
  // Retention (or a trim) persisted a log start offset and may have died
  // before unlinking the segments wholly below it: finish that first.
  // An unreadable file is ignored with a warning: the log then starts at its
  // first segment, showing again records retention had removed (the next
  // pass removes them again); nothing is deleted on a guess.
  auto stored_start = PartitionLog::ReadLogStartCheckpoint(dir);
  if (!stored_start.ok()) {
    spdlog::warn("{}: ignoring the persisted log start ({}); the log starts at its first segment",
                 dir, stored_start.status().message());
  }
  const int64_t log_start = stored_start.ok() ? *stored_start : 0;
  size_t below = 0;
  while (below + 1 < bases_r.size() && bases_r[below + 1] <= log_start) below++;
  for (size_t k = 0; k < below; k++) {
    SENTRY_RETURN_IF_ERROR(Segment::RemoveFiles(dir, bases_r[k]));
    report->segments_deleted_below_start++;
  }
  bases_r.erase(bases_r.begin(), bases_r.begin() + static_cast<std::ptrdiff_t>(below));
  const std::vector<int64_t> bases = std::move(bases_r);
  if (bases.empty()) {
    // No segment: a new partition (log start 0), or one whose follower was
    // starting over (PartitionLog::StartOverAt) or lost its files: it opens
    // empty at the persisted log start, so no offset below it is given again.
    SENTRY_ASSIGN_OR_RETURN(auto fresh,
                            PartitionLog::Create(dir, cfg, opt.sync_new_dirs, log_start));
    report->segments = 1;
    // Normally no file, so nothing read or written; one left by a leader
    // that began an epoch on the empty log loses that entry (at the end).
    std::string offline;
    LoadLeaderEpochs(fresh.get(), report, &offline);
    if (!offline.empty()) {
      report->offline_reason = offline;
      fresh->SetOffline(offline);
    }
    return fresh;
  }

  std::vector<std::shared_ptr<Segment>> segs;
  std::string offline;
  int64_t durable = opt.clean_shutdown ? INT64_MAX : opt.recovery_point;
  // A page that could not be read (SIGBUS caught, mapping_faults.h) reads as
  // zeros, which a walk takes for the end of the log: the partition goes
  // offline with its files untouched instead of being truncated there.
  auto unreadable = [&offline](const Segment& s) {
    Status f = s.CheckFaults();
    if (!f.ok()) offline = f.message();
    return !f.ok();
  };
  for (size_t i = 0; i < bases.size(); i++) {
    const bool last = i + 1 == bases.size();
    const int64_t base = bases[i];
    SENTRY_ASSIGN_OR_RETURN(auto opened, Segment::OpenExisting(dir, base, cfg));
    std::shared_ptr<Segment> seg = std::move(opened);
    if (!segs.empty() && segs.back()->next_offset() != base) {
      // A gap or overlap between segments. Above the recovery point this is
      // an unflushed tail (drop it); below it, corruption.
      std::string why = fmt::format("segment {} does not continue the log at {}", base,
                                    segs.back()->next_offset());
      if (!opt.clean_shutdown && base >= opt.recovery_point) {
        SENTRY_RETURN_IF_ERROR(RemoveFrom(dir, bases, i, report));
        report->truncation = why;
        break;
      }
      offline = fmt::format("{}: {}", dir, why);
      break;
    }
    // Offsets at or above the recovery point may not have reached the disk.
    const int64_t next_base = last ? INT64_MAX : bases[i + 1];
    const bool may_be_unflushed = !opt.clean_shutdown && next_base > opt.recovery_point;
    const bool walk = may_be_unflushed || opt.truncate_corrupt;
    const std::optional<uint32_t> gap_end =
        cfg.compacted && !last && may_be_unflushed ? seg->GapEndOnDisk(next_base) : std::nullopt;
    if (!walk) {
      Status s = seg->RestoreFromIndexes();
      if (unreadable(*seg)) {
        segs.push_back(std::move(seg));
        break;
      }
      if (!s.ok()) {
        spdlog::warn("{}: indexes of segment {} not trusted ({}); rebuilding from the log", dir,
                     base, s.message());
      }
      if (s.ok() && !last) s = CloseGap(seg.get(), next_base, cfg);
      if (s.ok()) {
        if (!last) SENTRY_RETURN_IF_ERROR(seg->Seal());
        segs.push_back(std::move(seg));
        continue;
      }
    }
    // The segment holding the recovery point: walk only past it when the
    // index below it checks out.
    if (may_be_unflushed && !opt.truncate_corrupt && base < opt.recovery_point) {
      auto tail = seg->RestoreFromPoint(opt.recovery_point);
      if (tail.ok()) {
        report->segments_walked++;
        if (tail->clean_end && !last) {
          SENTRY_RETURN_IF_ERROR(CloseGap(seg.get(), next_base, cfg, /*may_be_unflushed=*/true,
                                          gap_end, tail->valid_bytes));
        }
        if (!tail->clean_end || !last) {
          report->truncation = fmt::format("position {} of {}: {}", tail->valid_bytes,
                                           seg->log_path(),
                                           tail->clean_end ? "later segments do not continue "
                                                             "the log"
                                                           : tail->reason);
          report->bytes_truncated += tail->torn_bytes;
          if (tail->clean_end && !last && seg->next_offset() == next_base) {
            report->truncation.clear();  // a clean roll boundary: nothing cut
            SENTRY_RETURN_IF_ERROR(seg->Seal());
            segs.push_back(std::move(seg));
            continue;
          }
          segs.push_back(std::move(seg));
          SENTRY_RETURN_IF_ERROR(RemoveFrom(dir, bases, i + 1, report));
          break;
        }
        segs.push_back(std::move(seg));
        continue;
      }
      if (unreadable(*seg)) {
        segs.push_back(std::move(seg));
        break;
      }
      spdlog::warn("{}: cannot resume segment {} at recovery point {} ({}); walking all of it",
                   dir, base, opt.recovery_point, tail.status().message());
    }
    // Walk this segment. A torn tail above the recovery point is truncated;
    // below it (or in a clean log), it is corruption.
    SegmentScan probe = seg->Scan(/*verify_crc=*/true);
    if (unreadable(*seg)) {
      segs.push_back(std::move(seg));
      break;
    }
    const bool tolerate = may_be_unflushed || opt.truncate_corrupt;
    if (!probe.clean_end && !tolerate) {
      offline = fmt::format("{} position {}: {}", seg->log_path(), probe.valid_bytes,
                            probe.reason);
      // The files stay as they are: the operator decides.
      SENTRY_RETURN_IF_ERROR(Walk(seg.get(), /*truncate_log=*/false, report).status());
      segs.push_back(std::move(seg));
      break;
    }
    SENTRY_ASSIGN_OR_RETURN(auto w, Walk(seg.get(), /*truncate_log=*/true, report));
    if (w.clean_end && !last) {
      SENTRY_RETURN_IF_ERROR(
          CloseGap(seg.get(), next_base, cfg, may_be_unflushed, gap_end, w.valid_bytes));
    }
    if (!w.clean_end || (!last && seg->next_offset() != next_base)) {
      std::string why = w.clean_end ? "later segments do not continue the log" : w.reason;
      if (!may_be_unflushed && opt.truncate_corrupt) {
        spdlog::error("DATA LOSS in {}: corrupt batch at position {} of {} ({}); truncating there "
                      "because recovery.truncate.corrupt is set: {} bytes and every later "
                      "segment are dropped",
                      dir, w.valid_bytes, seg->log_path(), why, w.torn_bytes);
      } else if (!may_be_unflushed) {
        // A clean end (zeros) before the next segment: what a truncation
        // (PartitionLog::TruncateTo) cut short by a crash leaves, as it
        // zeroes that end before it unlinks the later segments.
        spdlog::warn("{}: {} ends at offset {} (position {}) but the next segment starts at {}: "
                     "finishing a truncation cut short, the later segments are removed",
                     dir, seg->log_path(), seg->next_offset(), w.valid_bytes, next_base);
      }
      report->truncation = fmt::format("position {} of {}: {}", w.valid_bytes,
                                       seg->log_path(), why);
      report->bytes_truncated += w.torn_bytes;
      segs.push_back(std::move(seg));
      SENTRY_RETURN_IF_ERROR(RemoveFrom(dir, bases, i + 1, report));
      break;
    }
    if (!last) SENTRY_RETURN_IF_ERROR(seg->Seal());
    segs.push_back(std::move(seg));
  }
  if (segs.empty()) {
    // The very first segment is corrupt and kept as is: serve nothing.
    return Status::Corruption(offline);
  }
  // If we stopped early on a tail, the last kept segment becomes active again
  // and must accept appends (it was sealed above only if not last).
  report->segments = static_cast<int>(segs.size());
  report->log_end_offset = segs.back()->next_offset();
  const bool reopen_active = segs.back()->sealed() && offline.empty();
  if (reopen_active) {
    // A sealed segment cannot take appends: roll to a fresh one at its end.
    auto fresh = Segment::Create(dir, segs.back()->next_offset(), cfg);
    if (fresh.ok()) {
      segs.push_back(std::move(fresh).value());
    } else if (fresh.status().code() == Status::Code::kAlreadyExists) {
      return Status::Corruption(dir + ": stray segment " + fresh.status().message());
    } else {
      return fresh.status();
    }
  }
  SENTRY_ASSIGN_OR_RETURN(auto log, PartitionLog::Adopt(dir, cfg, std::move(segs), durable));
  log->RestoreLogStartOffset(log_start);
  // An unreadable cleaner checkpoint only costs a full pass.
  auto cleaned = PartitionLog::ReadCleanerCheckpoint(dir);
  log->RestoreCleanedOffset(cleaned.ok() ? *cleaned : 0, cleaned_before);
  if (offline.empty()) {
    ProducerRebuild rebuilt;
    Status s = RebuildProducerState(log.get(), &rebuilt);
    if (!s.ok()) offline = "idempotent producer state: " + s.ToString();
    report->producers = rebuilt.producers;
    report->producer_batches_replayed = rebuilt.batches_replayed;
  }
  if (offline.empty()) LoadLeaderEpochs(log.get(), report, &offline);
  if (!offline.empty()) {
    report->offline_reason = offline;
    log->SetOffline(offline);
  }
  return log;
}

}  // namespace sentry::recovery
