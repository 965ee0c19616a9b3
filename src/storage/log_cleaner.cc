#include "storage/log_cleaner.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "common/crc32c.h"
#include "storage/batch_walker.h"
#include "storage/cleaned_segment_writer.h"
#include "storage/decompress.h"
#include "storage/record_batch_builder.h"

namespace sentry {

namespace {

using SegmentList = PartitionLog::SegmentList;

// The records of a verified batch (views into the batch, or into *scratch
// for a compressed one).
Status Records(const RecordBatchView& view, std::vector<DecodedRecord>* out,
               std::vector<uint8_t>* scratch) {
  out->clear();
  if (view.compression() == 0) return DecodeRecords(view.data(), view.TotalSize(), out);
  return DecodeBatchRecords(view.data(), view.TotalSize(), out, scratch);
}

// Calls fn(view) for every batch of `seg`, after checking the CRCs of bytes
// not yet verified (a corrupt segment takes the partition offline).
template <typename Fn>
Status ForEachBatch(PartitionLog* log, Segment& seg, Fn fn) {
  const uint32_t size = seg.published_size();
  if (Status s = seg.VerifyUpTo(size); !s.ok()) {
    log->SetOffline(s.message());
    return s;
  }
  WalkOptions wo;
  wo.verify_crc = false;
  wo.zeros_end_log = false;
  BatchWalker walker({seg.log_data(), size}, 0, wo);
  WalkedBatch wb;
  while (walker.Next(&wb)) SENTRY_RETURN_IF_ERROR(fn(wb.view));
  if (!walker.clean_end()) return Status::Corruption(seg.log_path() + ": " + walker.reason());
  return Status::OK();
}

// A copy of `view` holding only the records flagged in `keep` (at least
// one): header fields kept, records_count, batch_length and CRC rewritten.
std::vector<uint8_t> FilteredBatch(const RecordBatchView& view,
                                   const std::vector<DecodedRecord>& recs,
                                   const std::vector<bool>& keep) {
  using namespace batch_layout;
  std::vector<uint8_t> out(view.data(), view.data() + kHeaderSize);
  int32_t kept = 0;
  for (size_t i = 0; i < recs.size(); i++) {
    if (!keep[i]) continue;
    out.insert(out.end(), recs[i].raw.begin(), recs[i].raw.end());
    kept++;
  }
  PutI32(out.data() + kBatchLength, static_cast<int32_t>(out.size() - kLogOverhead));
  PutI32(out.data() + kRecordsCount, kept);
  PutU32(out.data() + kCrc, Crc32c(out.data() + kCrcStart, out.size() - kCrcStart));
  return out;
}

struct Pass {
  PartitionLog* log;
  OffsetMap* map;
  const CleanOptions& opt;
  int64_t map_end;  // records below it were considered by the map
  CleanStats* stats;
  std::vector<DecodedRecord> recs;
  std::vector<uint8_t> scratch;
  std::vector<bool> keep;

  // Step 2: maps [first_dirty, end); sets map_end.
  Status Map(const SegmentList& list, int64_t first_dirty, int64_t end) {
    // At most one key per offset of the dirty part.
    map->Reset(static_cast<size_t>(end - first_dirty));
    map_end = end;
    for (size_t i = 0; i + 1 < list.size(); i++) {
      Segment& seg = *list[i];
      if (list[i + 1]->base_offset() <= first_dirty) continue;
      if (seg.base_offset() >= end) break;
      bool full = false;
      Status s = ForEachBatch(log, seg, [&](const RecordBatchView& v) -> Status {
        if (full || v.last_offset() < first_dirty) return Status::OK();
        SENTRY_RETURN_IF_ERROR(Records(v, &recs, &scratch));
        for (const DecodedRecord& r : recs) {
          if (r.offset < first_dirty || !r.key) continue;
          if (!map->Put(*r.key, r.offset)) {
            full = true;
            map_end = r.offset;
            return Status::OK();
          }
        }
        return Status::OK();
      });
      if (!s.ok()) return s;
      if (full) {
        stats->map_filled = true;
        break;
      }
    }
    stats->keys_mapped = static_cast<int64_t>(map->size());
    return Status::OK();
  }

  bool Keep(const DecodedRecord& r, bool drop_tombstones) {
    if (!r.key) return true;
    const int64_t latest = map->Get(*r.key);
    if (r.offset < latest) return false;  // a later record has its key
    if (!r.value && drop_tombstones && r.offset < map_end) {
      stats->tombstones_removed++;
      return false;
    }
    return true;
  }

  // Step 3 for one group: segments [first, last] of `list` -> one segment.
  Status CleanGroup(const SegmentList& list, size_t first, size_t last) {
    const std::string& dir = log->dir();
    const int64_t base = list[first]->base_offset();
    const int64_t end = list[last + 1]->base_offset();
    // The log's own settings, with gaps allowed whatever the topic's policy
    // says now (it may have changed since the pass began).
    LogConfig seg_cfg = log->config();
    seg_cfg.compacted = true;
    SENTRY_ASSIGN_OR_RETURN(auto writer, CleanedSegmentWriter::Create(dir, base, seg_cfg));
    std::vector<int64_t> old_bases;
    Status s;
    for (size_t i = first; i <= last && s.ok(); i++) {
      Segment& seg = *list[i];
      old_bases.push_back(seg.base_offset());
      stats->segments_in++;
      stats->bytes_in += seg.published_size();
      const int64_t newest = seg.largest_timestamp();
      const bool drop_tombstones =
          newest >= 0 && newest < opt.now_ms - opt.config.delete_retention_ms;
      s = ForEachBatch(log, seg, [&](const RecordBatchView& v) -> Status {
        SENTRY_RETURN_IF_ERROR(Records(v, &recs, &scratch));
        keep.assign(recs.size(), false);
        size_t kept = 0;
        for (size_t k = 0; k < recs.size(); k++) {
          keep[k] = Keep(recs[k], drop_tombstones);
          kept += keep[k] ? 1 : 0;
        }
        stats->records_in += static_cast<int64_t>(recs.size());
        if (kept == 0) return Status::OK();
        if (kept == recs.size() || v.compression() != 0) {
          stats->records_kept += static_cast<int64_t>(recs.size());
          return writer->Add({v.data(), v.TotalSize()});
        }
        stats->records_kept += static_cast<int64_t>(kept);
        const std::vector<uint8_t> b = FilteredBatch(v, recs, keep);
        return writer->Add(b);
      });
    }
    if (s.ok()) s = writer->Finish(end);
    if (!s.ok()) {
      writer->Abandon();
      return s;
    }
    stats->bytes_out += static_cast<int64_t>(writer->log_bytes());
    stats->segments_out++;
    SENTRY_RETURN_IF_ERROR(CommitSwap(dir, base, end, old_bases, opt.fault));
    SENTRY_ASSIGN_OR_RETURN(auto opened, Segment::OpenExisting(dir, base, seg_cfg));
    std::shared_ptr<Segment> cleaned = std::move(opened);
    SENTRY_RETURN_IF_ERROR(cleaned->RestoreFromIndexes());
    SENTRY_RETURN_IF_ERROR(cleaned->Seal());
    SENTRY_RETURN_IF_ERROR(log->ReplaceSegments(base, end, std::move(cleaned)));
    return FinishSwap(dir, old_bases, opt.fault);
  }
};

}  // namespace

Status CheckKeysForCompaction(std::span<const uint8_t> batches) {
  std::vector<DecodedRecord> recs;
  std::vector<uint8_t> scratch;
  size_t pos = 0;
  while (pos < batches.size()) {
    const RecordBatchView v(batches.data() + pos);
    SENTRY_RETURN_IF_ERROR(Records(v, &recs, &scratch));
    for (const DecodedRecord& r : recs) {
      if (!r.key) {
        return Status::InvalidArgument(fmt::format(
            "record {} of the batch at byte {} has no key: a compacted topic needs one",
            r.offset - v.base_offset(), pos));
      }
    }
    pos += v.TotalSize();
  }
  return Status::OK();
}

Cleanable FindCleanable(const PartitionLog& log, int64_t now_ms, const CleanerConfig& cfg) {
  Cleanable c;
  auto list = log.SegmentsSnapshot();
  const int64_t durable = log.durable_offset();
  c.end = list->front()->base_offset();
  // Sealed, synced segments older than the compaction lag; never the last.
  for (size_t i = 0; i + 1 < list->size(); i++) {
    const Segment& seg = *(*list)[i];
    const int64_t next_base = (*list)[i + 1]->base_offset();
    if (next_base > durable) break;
    if (cfg.min_compaction_lag_ms > 0 && seg.largest_timestamp() > now_ms - cfg.min_compaction_lag_ms) {
      break;
    }
    c.end = next_base;
  }
  c.first_dirty = std::clamp(log.cleaned_offset(), list->front()->base_offset(), c.end);
  bool first_dirty_seen = false;
  for (size_t i = 0; i + 1 < list->size(); i++) {
    const Segment& seg = *(*list)[i];
    const int64_t next_base = (*list)[i + 1]->base_offset();
    if (seg.base_offset() >= c.end) break;
    if (next_base <= c.first_dirty) {
      c.clean_bytes += seg.published_size();
      continue;
    }
    c.dirty_bytes += seg.published_size();
    if (!first_dirty_seen) {
      first_dirty_seen = true;
      const int64_t newest = seg.largest_timestamp();
      c.overdue = cfg.max_compaction_lag_ms < INT64_MAX && newest >= 0 &&
                  newest < now_ms - cfg.max_compaction_lag_ms;
    }
  }
  return c;
}

Result<CleanStats> CleanLog(PartitionLog* log, OffsetMap* map, const CleanOptions& opt) {
  CleanStats stats;
  const Cleanable c = FindCleanable(*log, opt.now_ms, opt.config);
  if (c.end <= c.first_dirty || log->offline()) return stats;
  if (!log->has_cleaner_checkpoint()) {
    // Before the first swap ever: the checkpoint file also tells the loader
    // that this log may have offset gaps, whatever cleanup.policy says then.
    SENTRY_RETURN_IF_ERROR(log->SetCleanedOffset(c.first_dirty));
  }
  auto list = log->SegmentsSnapshot();
  Pass pass{log, map, opt, c.end, &stats, {}, {}, {}};
  SENTRY_RETURN_IF_ERROR(pass.Map(*list, c.first_dirty, c.end));
  // Groups of consecutive segments from the start of the log up to the one
  // holding the map's end, each fitting one segment.
  const LogConfig& cfg = log->config();
  size_t limit = 0;  // segments [0, limit) are cleaned
  while (limit + 1 < list->size() && (*list)[limit]->base_offset() < pass.map_end &&
         (*list)[limit + 1]->base_offset() <= c.end) {
    limit++;
  }
  size_t i = 0;
  while (i < limit) {
    if (opt.stop && opt.stop()) break;
    size_t j = i;
    uint64_t bytes = (*list)[i]->published_size();
    while (j + 1 < limit) {
      const uint64_t more = bytes + (*list)[j + 1]->published_size();
      const int64_t range = (*list)[j + 2]->base_offset() - (*list)[i]->base_offset();
      if (more > cfg.segment_bytes || range > int64_t{cfg.index_max_entries}) break;
      bytes = more;
      j++;
    }
    SENTRY_RETURN_IF_ERROR(pass.CleanGroup(*list, i, j));
    i = j + 1;
  }
  if (i == limit && limit > 0) {
    // Everything below the map's end went through the map (or was clean).
    const int64_t to = std::min(pass.map_end, (*list)[limit]->base_offset());
    SENTRY_RETURN_IF_ERROR(log->SetCleanedOffset(std::max(to, c.first_dirty)));
    stats.cleaned_to = log->cleaned_offset();
  }
  return stats;
}

}  // namespace sentry
