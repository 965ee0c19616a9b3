// The log cleaner against a model: random keyed workloads (repeated keys,
// tombstones) are compacted, and what a reader sees is compared with what the
// records said: the latest value of every key, offsets unchanged, a fetch at
// any offset of a gap answered with the next survivor. The same after a
// restart, and after a crash at every step of the swap.
#include "storage/log_cleaner.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/file_util.h"
#include "recovery/log_loader.h"
#include "storage/record_batch_builder.h"
#include "storage/replica_util.h"
#include "compaction_model.h"
#include "test_util.h"

namespace sentry {
namespace {

using testing::Apply;
using testing::Rec;

class LogCleanerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.segment_bytes = 16 << 10;
    cfg_.index_max_entries = 4096;
    cfg_.file.alloc_step = 16 << 10;
    cfg_.file.prefault_ahead = 8 << 10;
    cfg_.compacted = true;
  }
  std::string Dir() const { return dir_.path() + "/t-0"; }

  std::unique_ptr<PartitionLog> Create() {
    auto log = PartitionLog::Create(Dir(), cfg_);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return std::move(log).value();
  }
  std::unique_ptr<PartitionLog> Reopen(bool clean) {
    recovery::RecoveryOptions o;
    o.clean_shutdown = clean;
    recovery::RecoveryReport rep;
    auto log = recovery::LoadPartition(Dir(), cfg_, o, &rep);
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    last_report_ = rep;
    return log.ok() ? std::move(log).value() : nullptr;
  }

  // `batches` batches of 1-4 records, keys from a pool of `keys`, about one
  // tombstone in `tomb_every`; record timestamps `ts`. Appends to history_.
  void Produce(PartitionLog* log, int batches, int keys, int tomb_every, int64_t ts) {
    std::uniform_int_distribution<int> nrec(1, 4), key(0, keys - 1), tomb(0, tomb_every - 1);
    for (int b = 0; b < batches; b++) {
      RecordBatchBuilder builder(ts);
      std::vector<Rec> recs;
      const int n = nrec(rng_);
      for (int i = 0; i < n; i++) {
        Rec r;
        r.key = "key-" + std::to_string(key(rng_));
        if (tomb(rng_) != 0) r.value = "v" + std::to_string(history_.size() + recs.size());
        builder.Add(r.key, r.value ? std::optional<std::string_view>(*r.value) : std::nullopt, ts);
        recs.push_back(std::move(r));
      }
      auto bytes = builder.Build();
      BatchSetSummary sum;
      ASSERT_TRUE(ValidateBatches(bytes, &sum).ok());
      auto info = log->Append(bytes, sum);
      ASSERT_TRUE(info.ok()) << info.status().ToString();
      for (size_t i = 0; i < recs.size(); i++) {
        recs[i].offset = info->base_offset + static_cast<int64_t>(i);
        history_.push_back(recs[i]);
      }
    }
  }

  // Every record from `from`, in order; one fetch per batch set.
  std::vector<Rec> ReadAll(PartitionLog* log, int64_t from = 0) {
    std::vector<Rec> out;
    int64_t next = from;
    while (next < log->high_watermark()) {
      auto r = log->Read(next, 1 << 20);
      EXPECT_TRUE(r.ok()) << next << ": " << r.status().ToString();
      if (!r.ok() || r->size == 0) break;
      const int64_t before = next;
      size_t pos = 0;
      while (pos < r->size) {
        RecordBatchView v(r->data + pos);
        std::vector<DecodedRecord> recs;
        EXPECT_TRUE(DecodeRecords(r->data + pos, v.TotalSize(), &recs).ok());
        for (auto& d : recs) {
          if (d.offset < next) continue;
          Rec x{d.offset, std::string(*d.key),
                d.value ? std::optional<std::string>(std::string(*d.value)) : std::nullopt};
          out.push_back(std::move(x));
          next = d.offset + 1;
        }
        next = std::max(next, v.last_offset() + 1);
        pos += v.TotalSize();
      }
      EXPECT_GT(next, before);
      if (next <= before) break;
    }
    return out;
  }

  // What compaction may never change: the state, and every surviving record
  // is the original one at its offset.
  void ExpectSameStateAsHistory(PartitionLog* log) {
    const std::vector<Rec> got = ReadAll(log);
    EXPECT_EQ(Apply(got), Apply(history_));
    std::map<int64_t, const Rec*> by_offset;
    for (const Rec& r : history_) by_offset[r.offset] = &r;
    for (const Rec& r : got) {
      auto it = by_offset.find(r.offset);
      ASSERT_NE(it, by_offset.end()) << r.offset;
      EXPECT_EQ(it->second->key, r.key) << r.offset;
      EXPECT_EQ(it->second->value, r.value) << r.offset;
    }
  }

  // What compaction promises below `cleaned_to`: exactly the latest record
  // of each key there (tombstones kept unless `tombstones_gone`).
  void ExpectCompactedBelow(PartitionLog* log, int64_t cleaned_to, bool tombstones_gone) {
    std::map<std::string, const Rec*> latest;
    for (const Rec& r : history_) {
      if (r.offset < cleaned_to) latest[r.key] = &r;
    }
    std::vector<int64_t> want;
    for (auto& [k, r] : latest) {
      if (r->value || !tombstones_gone) want.push_back(r->offset);
    }
    std::sort(want.begin(), want.end());
    std::vector<int64_t> got;
    for (const Rec& r : ReadAll(log)) {
      if (r.offset < cleaned_to) got.push_back(r.offset);
    }
    EXPECT_EQ(got, want);
  }

  // A fetch at any offset leads to the first surviving record at or after
  // it, read as a consumer does: records below the fetch offset are skipped,
  // and a batch with none at or after it moves the fetch past its last
  // offset (a cleaned batch keeps its offset range).
  void ExpectEveryOffsetFindsTheNextSurvivor(PartitionLog* log) {
    const std::vector<Rec> all = ReadAll(log);
    size_t k = 0;
    for (int64_t o = 0; o < log->high_watermark(); o++) {
      while (k < all.size() && all[k].offset < o) k++;
      std::optional<int64_t> first;
      int64_t at = o;
      for (int fetches = 0; !first && at < log->high_watermark() && fetches < 64; fetches++) {
        auto r = log->Read(at, 1);
        ASSERT_TRUE(r.ok()) << at << ": " << r.status().ToString();
        if (r->size == 0) break;
        RecordBatchView v(r->data);
        std::vector<DecodedRecord> recs;
        ASSERT_TRUE(DecodeRecords(r->data, v.TotalSize(), &recs).ok());
        EXPECT_GE(v.last_offset(), at) << "a fetch at " << at << " served an older batch";
        for (auto& d : recs) {
          if (d.offset >= o) {
            first = d.offset;
            break;
          }
        }
        at = v.last_offset() + 1;
      }
      if (k == all.size()) {
        EXPECT_FALSE(first.has_value()) << o;
      } else {
        ASSERT_TRUE(first.has_value()) << o;
        EXPECT_EQ(*first, all[k].offset) << o;
      }
    }
  }

  size_t LeftoverFiles() {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(Dir())) {
      const std::string name = e.path().filename().string();
      if (name.ends_with(kCleanedSuffix) || name.ends_with(kDeletedSuffix) ||
          name == kSwapManifest) {
        n++;
      }
    }
    return n;
  }

  CleanOptions Options(int64_t now_ms, int64_t delete_retention_ms = 1LL << 40) {
    CleanOptions o;
    o.now_ms = now_ms;
    o.config.delete_retention_ms = delete_retention_ms;
    return o;
  }

  testing::TempDir dir_;
  LogConfig cfg_;
  std::mt19937 rng_{20261127};
  std::vector<Rec> history_;
  recovery::RecoveryReport last_report_;
};

TEST_F(LogCleanerTest, CompactedLogMatchesTheModelAndKeepsOffsets) {
  auto log = Create();
  Produce(log.get(), 1500, 40, 10, 1000);
  ASSERT_TRUE(log->Flush().ok());
  const size_t segments_before = log->segment_count();
  ASSERT_GT(segments_before, 5u);
  const int64_t bytes_before = log->size_bytes();
  OffsetMap map(1 << 20);
  auto stats = CleanLog(log.get(), &map, Options(2000));
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_GT(stats->cleaned_to, 0);
  EXPECT_FALSE(stats->map_filled);
  EXPECT_LT(log->size_bytes(), bytes_before / 4);
  EXPECT_EQ(LeftoverFiles(), 0u);
  // Groups are formed by input size: the next pass (there is something
  // dirty again) merges the small cleaned segments.
  EXPECT_EQ(log->segment_count(), segments_before);
  Produce(log.get(), 200, 40, 10, 1000);
  ASSERT_TRUE(log->Flush().ok());
  const size_t segments_now = log->segment_count();
  auto merged = CleanLog(log.get(), &map, Options(2000));
  ASSERT_TRUE(merged.ok()) << merged.status().ToString();
  EXPECT_LT(log->segment_count(), segments_now / 2);
  ExpectSameStateAsHistory(log.get());
  ExpectCompactedBelow(log.get(), merged->cleaned_to, /*tombstones_gone=*/false);
  ExpectEveryOffsetFindsTheNextSurvivor(log.get());
  // The next offset is never one given before.
  const int64_t hwm = log->high_watermark();
  Produce(log.get(), 1, 40, 10, 1000);
  EXPECT_EQ(history_.back().offset + 1, log->high_watermark());
  EXPECT_GE(history_.back().offset, hwm);

  // The same after a clean restart and after an unclean one.
  for (bool clean : {true, false}) {
    ASSERT_TRUE(log->Close().ok());
    log.reset();
    log = Reopen(clean);
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->cleaned_offset(), merged->cleaned_to);
    EXPECT_EQ(last_report_.truncation, "");
    ExpectSameStateAsHistory(log.get());
    ExpectEveryOffsetFindsTheNextSurvivor(log.get());
  }
}

TEST_F(LogCleanerTest, TombstonesGoAfterDeleteRetention) {
  auto log = Create();
  Produce(log.get(), 800, 30, 3, 1000);
  ASSERT_TRUE(log->Flush().ok());
  OffsetMap map(1 << 20);
  // Records at ts 1000; delete.retention.ms 500 at now 2000: due.
  auto stats = CleanLog(log.get(), &map, Options(2000, 500));
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_GT(stats->tombstones_removed, 0);
  ExpectSameStateAsHistory(log.get());
  ExpectCompactedBelow(log.get(), stats->cleaned_to, /*tombstones_gone=*/true);
  ExpectEveryOffsetFindsTheNextSurvivor(log.get());
}

TEST_F(LogCleanerTest, RepeatedPassesWithNewWritesStayCorrect) {
  auto log = Create();
  OffsetMap map(1 << 20);
  for (int round = 0; round < 6; round++) {
    Produce(log.get(), 300, 25, 8, 1000 + round);
    ASSERT_TRUE(log->Flush().ok());
    auto stats = CleanLog(log.get(), &map, Options(5000));
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    ExpectSameStateAsHistory(log.get());
    ExpectCompactedBelow(log.get(), log->cleaned_offset(), false);
  }
  ExpectEveryOffsetFindsTheNextSurvivor(log.get());
}

// A map too small for the dirty part: the pass ends where it filled, and
// the next passes go on from there.
TEST_F(LogCleanerTest, ASmallMapCleansInSeveralPasses) {
  auto log = Create();
  Produce(log.get(), 1500, 400, 20, 1000);
  ASSERT_TRUE(log->Flush().ok());
  OffsetMap map(100 * OffsetMap::kEntryBytes);  // 90 keys
  auto first = CleanLog(log.get(), &map, Options(2000));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->map_filled);
  ExpectSameStateAsHistory(log.get());
  ExpectCompactedBelow(log.get(), first->cleaned_to, false);
  int passes = 1;
  while (FindCleanable(*log, 2000, {}).dirty_bytes > 0 && passes < 200) {
    auto s = CleanLog(log.get(), &map, Options(2000));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    passes++;
  }
  EXPECT_GT(passes, 2);
  ExpectSameStateAsHistory(log.get());
  ExpectEveryOffsetFindsTheNextSurvivor(log.get());
}

TEST_F(LogCleanerTest, NothingIsCleanedInsideTheCompactionLagOrUnsynced) {
  auto log = Create();
  Produce(log.get(), 600, 20, 10, 1000);
  // Not synced yet: nothing is cleanable.
  EXPECT_EQ(FindCleanable(*log, 2000, {}).dirty_bytes, 0);
  ASSERT_TRUE(log->Flush().ok());
  CleanerConfig lag;
  lag.min_compaction_lag_ms = 5000;
  EXPECT_EQ(FindCleanable(*log, 2000, lag).dirty_bytes, 0);  // records 1 s old
  const Cleanable c = FindCleanable(*log, 7000, lag);
  EXPECT_GT(c.dirty_bytes, 0);
  EXPECT_TRUE(c.Due({}));
  EXPECT_DOUBLE_EQ(c.dirty_ratio(), 1.0);
}

// A crash at every step of every swap: the restarted log holds the same
// state, no leftover file, and a later pass completes the compaction.
TEST_F(LogCleanerTest, ACrashAtAnyStepLosesAndDuplicatesNothing) {
  // Count the steps of one whole pass.
  int steps = 0;
  {
    auto log = Create();
    Produce(log.get(), 500, 20, 10, 1000);
    ASSERT_TRUE(log->Flush().ok());
    OffsetMap map(1 << 20);
    CleanOptions o = Options(2000);
    o.fault = [&](std::string_view) { return ++steps > 0; };
    ASSERT_TRUE(CleanLog(log.get(), &map, o).ok());
  }
  ASSERT_GT(steps, 10);
  for (int crash_at = 1; crash_at <= steps; crash_at++) {
    SCOPED_TRACE("crash at step " + std::to_string(crash_at));
    std::filesystem::remove_all(Dir());
    history_.clear();
    rng_.seed(crash_at);
    auto log = Create();
    Produce(log.get(), 500, 20, 10, 1000);
    ASSERT_TRUE(log->Flush().ok());
    OffsetMap map(1 << 20);
    int n = 0;
    CleanOptions o = Options(2000);
    o.fault = [&](std::string_view) { return ++n < crash_at; };
    auto r = CleanLog(log.get(), &map, o);
    ASSERT_FALSE(r.ok());
    log.reset();  // the process dies here: no Close
    log = Reopen(/*clean=*/false);
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(LeftoverFiles(), 0u);
    EXPECT_EQ(last_report_.truncation, "");
    EXPECT_EQ(last_report_.offline_reason, "");
    ExpectSameStateAsHistory(log.get());
    ExpectEveryOffsetFindsTheNextSurvivor(log.get());
    ASSERT_TRUE(CleanLog(log.get(), &map, Options(2000)).ok());
    ExpectSameStateAsHistory(log.get());
    ExpectCompactedBelow(log.get(), log->cleaned_offset(), false);
  }
}

// A manifest that is not a range: recovery refuses (Corruption) and removes
// nothing, neither the cleaned files nor the old ones.
TEST_F(LogCleanerTest, AGarbledManifestDeletesNothing) {
  auto log = Create();
  Produce(log.get(), 300, 10, 10, 1000);
  ASSERT_TRUE(log->Flush().ok());
  OffsetMap map(1 << 20);
  int n = 0;
  CleanOptions o = Options(2000);
  o.fault = [&](std::string_view step) { return ++n < 2 || step != "manifest written"; };
  ASSERT_FALSE(CleanLog(log.get(), &map, o).ok());  // stops right after the commit
  log.reset();
  ASSERT_TRUE(WriteFileAtomically(Dir() + "/" + kSwapManifest, "garbage\n").ok());
  const size_t files_before = std::distance(std::filesystem::directory_iterator(Dir()),
                                            std::filesystem::directory_iterator());
  SwapRecovery rec;
  Status s = RecoverSwap(Dir(), &rec);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(Dir()),
                          std::filesystem::directory_iterator()),
            static_cast<std::ptrdiff_t>(files_before));
  EXPECT_GT(LeftoverFiles(), 1u);  // the manifest and the cleaned files are still there
}

// A compacted topic in a cluster: a follower fetches what its leader's
// cleaner left, offset gaps included (PartitionLog::AppendReplica, SkipTo),
// and ends where the leader ends, every offset finding the same records, the
// same after an unclean restart. Its index holds few offsets, so some gaps
// span whole follower segments, and one fetch of the whole log spans more
// offsets than a segment holds. A follower of a log that cannot have gaps
// refuses the first gap.
TEST_F(LogCleanerTest, AFollowerTakesACleanedLeadersBatchesGapsIncluded) {
  auto leader = Create();
  Produce(leader.get(), 1500, 40, 10, 1000);
  ASSERT_TRUE(leader->Flush().ok());
  OffsetMap map(1 << 20);
  auto stats = CleanLog(leader.get(), &map, Options(2000));
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  ASSERT_GT(stats->cleaned_to, 0);
  Produce(leader.get(), 50, 40, 10, 1000);  // a tail the cleaner has not seen
  const std::vector<Rec> want = ReadAll(leader.get());
  ASSERT_LT(want.size(), static_cast<size_t>(leader->log_end_offset()) / 4);  // gaps

  LogConfig fcfg = cfg_;
  fcfg.index_max_entries = 128;  // above the widest cleaned batch
  const std::string fdir = dir_.path() + "/f-0";
  auto created = PartitionLog::Create(fdir, fcfg);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto follower = std::move(created).value();
  testing::Replicate(*leader, follower.get(), 4096);
  EXPECT_EQ(follower->log_end_offset(), leader->log_end_offset());
  // Some follower segment begins inside a gap: SkipTo filled a segment's
  // index and rolled there.
  int in_gaps = 0;
  for (const auto& seg : *follower->SegmentsSnapshot()) {
    auto r = leader->Read(seg->base_offset(), 1);
    ASSERT_TRUE(r.ok() && r->size > 0);
    if (RecordBatchView(r->data).base_offset() != seg->base_offset()) in_gaps++;
  }
  EXPECT_GT(in_gaps, 0);
  auto same = [&](PartitionLog* f) {
    const std::vector<Rec> got = ReadAll(f);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); i++) {
      EXPECT_EQ(got[i].offset, want[i].offset);
      EXPECT_EQ(got[i].key, want[i].key);
      EXPECT_EQ(got[i].value, want[i].value);
    }
    // A fetch at any offset starts at the batch the leader's would.
    for (int64_t o = 0; o < leader->log_end_offset(); o++) {
      auto a = leader->Read(o, 1);
      auto b = f->Read(o, 1);
      ASSERT_TRUE(a.ok() && b.ok()) << o;
      ASSERT_GT(b->size, 0u) << o;
      EXPECT_EQ(RecordBatchView(b->data).base_offset(), RecordBatchView(a->data).base_offset())
          << o;
    }
  };
  same(follower.get());
  ASSERT_TRUE(follower->Flush().ok());
  follower.reset();
  recovery::RecoveryOptions o;
  o.clean_shutdown = false;
  recovery::RecoveryReport rep;
  auto reopened = recovery::LoadPartition(fdir, fcfg, o, &rep);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_TRUE(rep.truncation.empty()) << rep.truncation;
  EXPECT_EQ((*reopened)->log_end_offset(), leader->log_end_offset());
  same(reopened->get());

  // One fetch of the whole log spans more offsets than a follower segment
  // holds: it is stored batch by batch, rolling between them.
  auto big = PartitionLog::Create(dir_.path() + "/h-0", fcfg);
  ASSERT_TRUE(big.ok());
  int64_t widest_read = 0;  // a read serves one leader segment at most
  for (const auto& seg : *leader->SegmentsSnapshot()) {
    auto whole = leader->Read(seg->base_offset(), 1 << 20);
    ASSERT_TRUE(whole.ok());
    BatchSetSummary sum;
    ASSERT_TRUE(ValidateBatches(whole->bytes(), &sum, /*compacted=*/true).ok());
    widest_read = std::max(widest_read, sum.record_count);
  }
  ASSERT_GT(widest_read, int64_t{fcfg.index_max_entries});
  testing::Replicate(*leader, big->get(), 1 << 20);
  EXPECT_EQ((*big)->log_end_offset(), leader->log_end_offset());
  same(big->get());

  // A follower of a topic changed from compact back to delete (its config
  // says no gaps, and an empty log has no cleaner checkpoint) takes the
  // leader's leftover gaps too, as Kafka's followers do; its first gap marks
  // the log as one with gaps, so an unclean start walks it as such.
  LogConfig plain = cfg_;
  plain.compacted = false;
  const std::string pdir = dir_.path() + "/g-0";
  auto was_compacted = PartitionLog::Create(pdir, plain);
  ASSERT_TRUE(was_compacted.ok());
  ASSERT_FALSE(PartitionLog::CleanerCheckpointExists(pdir));
  testing::Replicate(*leader, was_compacted->get(), 4096);
  EXPECT_EQ((*was_compacted)->log_end_offset(), leader->log_end_offset());
  same(was_compacted->get());
  EXPECT_TRUE(PartitionLog::CleanerCheckpointExists(pdir));
  was_compacted->reset();
  auto plain_reopened = recovery::LoadPartition(pdir, plain, o, &rep);
  ASSERT_TRUE(plain_reopened.ok()) << plain_reopened.status().ToString();
  EXPECT_TRUE(rep.truncation.empty()) << rep.truncation;
  same(plain_reopened->get());
  // An overlap is still refused: the follower's log end would be wrong.
  auto again = leader->Read(0, 4096);
  ASSERT_TRUE(again.ok());
  BatchSetSummary sum;
  ASSERT_TRUE(ValidateBatches(again->bytes(), &sum, /*compacted=*/true).ok());
  EXPECT_EQ((*plain_reopened)->AppendReplica(again->bytes(), sum).status().code(),
            Status::Code::kOutOfRange);
}

}  // namespace
}  // namespace sentry
