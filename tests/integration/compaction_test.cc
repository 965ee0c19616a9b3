// Compaction against a real sentryd: a compacted topic read from offset 0
// gives the latest value of every key (compared with a model of everything
// produced), records without a key are refused, and a kill -9 at random
// moments and at every kind of step of the cleaner's swap loses nothing and
// duplicates nothing.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common/file_util.h"
#include "integration/broker_process.h"
#include "integration/error_code.h"
#include "protocol/errors.h"
#include "storage/record_batch_builder.h"
#include "storage/segment.h"
#include "storage/segment_swap.h"
#include "compaction_model.h"
#include "test_util.h"

namespace sentry {
namespace {

namespace fs = std::filesystem;
using protocol::ErrorCode;
using testing::BrokerProcess;

using testing::E;

using testing::Apply;
using testing::Rec;

// Cycles of the kill -9 loop; SENTRY_COMPACTION_CYCLES raises it (README).
int Cycles() {
  const char* v = std::getenv("SENTRY_COMPACTION_CYCLES");
  return v ? std::max(1, std::atoi(v)) : 20;
}

class CompactionIntegrationTest : public ::testing::Test {
 protected:
  std::vector<std::string> Flags(bool cleaner) {
    return {"--log.cleaner.backoff.ms", "20", "--log.flush.offset.checkpoint.interval.ms", "100",
            "--log.cleaner.threads", cleaner ? "1" : "0"};
  }
  void CreateTopic(client::Client* c) {
    ASSERT_EQ(c->CreateTopic("c", 1,
                             {{"cleanup.policy", "compact"},
                              {"segment.bytes", "4096"},
                              {"min.cleanable.dirty.ratio", "0.1"}})
                  .value(),
              0);
  }
  // `batches` batches of 1-5 records over `keys` keys, ~1 in 8 a tombstone.
  void Produce(client::Client* c, int batches, int keys) {
    std::uniform_int_distribution<int> nrec(1, 5), key(0, keys - 1), tomb(0, 7);
    for (int b = 0; b < batches; b++) {
      RecordBatchBuilder builder;
      std::vector<Rec> recs;
      for (int i = nrec(rng_); i > 0; i--) {
        Rec r;
        r.key = "key-" + std::to_string(key(rng_));
        if (tomb(rng_) != 0) r.value = "value-" + std::to_string(produced_++);
        builder.Add(r.key, r.value ? std::optional<std::string_view>(*r.value) : std::nullopt);
        recs.push_back(std::move(r));
      }
      auto bytes = builder.Build();
      auto reply = c->Produce("c", 0, -1, bytes);
      ASSERT_TRUE(reply.ok());
      ASSERT_EQ(reply->error, 0);
      for (size_t i = 0; i < recs.size(); i++) {
        recs[i].offset = reply->body.base_offset + static_cast<int64_t>(i);
        history_.push_back(recs[i]);
      }
    }
  }
  // Everything from offset 0, as a consumer reads it.
  std::vector<Rec> ReadAll(client::Client* c) {
    std::vector<Rec> out;
    int64_t next = 0;
    for (int fetches = 0; fetches < 100000; fetches++) {
      auto f = c->Fetch("c", 0, next, 64 << 10);
      EXPECT_TRUE(f.ok());
      if (!f.ok()) break;
      EXPECT_EQ(f->error, 0) << next;
      const auto& bytes = f->body.records;
      if (bytes.empty()) break;
      size_t pos = 0;
      while (pos + batch_layout::kHeaderSize <= bytes.size()) {
        RecordBatchView v(bytes.data() + pos);
        if (pos + v.TotalSize() > bytes.size()) break;  // cut at max_bytes
        std::vector<DecodedRecord> recs;
        EXPECT_TRUE(DecodeRecords(bytes.data() + pos, v.TotalSize(), &recs).ok());
        for (auto& d : recs) {
          if (d.offset < next) continue;
          out.push_back({d.offset, std::string(*d.key),
                         d.value ? std::optional<std::string>(std::string(*d.value))
                                 : std::nullopt});
        }
        next = std::max(next, v.last_offset() + 1);
        pos += v.TotalSize();
      }
    }
    return out;
  }
  // The model holds: same state, each survivor the original at its offset,
  // offsets increasing (nothing duplicated). Returns the survivors.
  std::vector<Rec> ExpectModel(client::Client* c) {
    std::vector<Rec> got = ReadAll(c);
    EXPECT_EQ(Apply(got), Apply(history_));
    std::map<int64_t, const Rec*> by_offset;
    for (const Rec& r : history_) by_offset[r.offset] = &r;
    int64_t prev = -1;
    for (const Rec& r : got) {
      EXPECT_GT(r.offset, prev);
      prev = r.offset;
      auto it = by_offset.find(r.offset);
      if (it == by_offset.end()) {
        ADD_FAILURE() << "offset " << r.offset << " was never produced";
        continue;
      }
      EXPECT_EQ(it->second->key, r.key) << r.offset;
      EXPECT_EQ(it->second->value, r.value) << r.offset;
    }
    return got;
  }
  size_t LeftoverFiles() {
    size_t n = 0;
    for (auto& e : fs::directory_iterator(dir_ / "data/c-0")) {
      const std::string name = e.path().filename().string();
      n += name.ends_with(kCleanedSuffix) || name.ends_with(kDeletedSuffix) ||
           name == kSwapManifest;
    }
    return n;
  }
  // Waits until the broker printed one of `needles` or exited.
  static bool WaitForAny(BrokerProcess* b, const std::vector<std::string>& needles, int ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string out = b->Output();
      for (const auto& n : needles) {
        if (out.find(n) != std::string::npos) return true;
      }
      if (b->WaitForOutput("\x01never", 20)) return true;  // paces the poll
    }
    return false;
  }

  testing::TempDir dir_;
  std::mt19937 rng_{42};
  std::vector<Rec> history_;
  int produced_ = 0;
};

TEST_F(CompactionIntegrationTest, ReadFromZeroGivesTheLatestValuePerKeyAndNullKeysAreRefused) {
  BrokerProcess broker(dir_ / "data", Flags(/*cleaner=*/true));
  ASSERT_TRUE(broker.Start()) << broker.Output();
  auto c = broker.NewClient();
  CreateTopic(c.get());
  // A record without a key: INVALID_RECORD, nothing stored.
  RecordBatchBuilder nokey;
  nokey.Add("k", "v");
  nokey.Add(std::nullopt, "no key");
  auto bad = nokey.Build();
  auto refused = c->Produce("c", 0, 1, bad);
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->error, E(ErrorCode::kInvalidRecord));
  EXPECT_EQ(c->ListOffsets("c", 0, -1)->body.offset, 0);

  Produce(c.get(), 1200, 40);
  ASSERT_TRUE(broker.WaitForOutput("log cleaner: c-0 cleaned to offset", 30000)) << broker.Output();
  // The cleaner keeps up: a later pass has left few duplicates below the
  // active segment. Await a read that shows far fewer records than written.
  std::vector<Rec> got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  do {
    got = ExpectModel(c.get());
  } while (got.size() * 4 > history_.size() && std::chrono::steady_clock::now() < deadline &&
           !HasFailure());
  EXPECT_LT(got.size() * 4, history_.size());
  // DESCRIBE_LOG shows the compaction: a checkpoint, compacted bytes, and
  // as many segments as there are .log files.
  // (Cleanable bytes count synced segments only: await the sync of the last
  // rolls, which the cleaner and the checkpoint do within milliseconds.)
  // The segment count is compared with the files once the cleaner is idle
  // (nothing left to compact), since a pass merges segments meanwhile.
  protocol::PartitionLogState st;
  size_t files = 0;
  const auto describe_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    auto d = c->DescribeLog("c");
    ASSERT_TRUE(d.ok());
    ASSERT_EQ(d->error, 0);
    ASSERT_EQ(d->body.partitions.size(), 1u);
    st = d->body.partitions[0];
    files = Segment::ListBases(dir_ / "data/c-0").value().size();
  } while ((st.clean_bytes == 0 || static_cast<size_t>(st.segments) != files) &&
           std::chrono::steady_clock::now() < describe_deadline);
  EXPECT_GT(st.cleaned_offset, 0);
  EXPECT_GT(st.clean_bytes, 0);
  EXPECT_EQ(st.high_watermark, history_.back().offset + 1);
  EXPECT_EQ(st.offline, 0);
  EXPECT_EQ(static_cast<size_t>(st.segments), files);
  EXPECT_GT(st.size_bytes, 0);
  EXPECT_EQ(c->DescribeLog("nope")->error, E(ErrorCode::kUnknownTopicOrPartition));
  c.reset();
  broker.Kill();
  ASSERT_TRUE(broker.Start()) << broker.Output();
  c = broker.NewClient();
  ExpectModel(c.get());
  EXPECT_EQ(c->ListOffsets("c", 0, -1)->body.offset, history_.back().offset + 1);
  EXPECT_EQ(broker.Stop(), 0);
}

// kill -9 while the cleaner works: at a random crash point of its swaps
// (SENTRY_FAULT_CLEANER_CRASH_AT) or at a random moment. After each restart
// (cleaner off, so the files are as recovery left them) the model holds and
// no .cleaned / .deleted / manifest file is left.
TEST_F(CompactionIntegrationTest, Kill9LoopDuringCompactionLosesAndDuplicatesNothing) {
  BrokerProcess broker(dir_ / "data", Flags(false));
  ASSERT_TRUE(broker.Start()) << broker.Output();
  {
    auto c = broker.NewClient();
    CreateTopic(c.get());
  }
  ASSERT_EQ(broker.Stop(), 0);
  std::uniform_int_distribution<int> crash_at(1, 60), wait_ms(0, 60);
  int self_kills = 0;
  const int cycles = Cycles();
  for (int cycle = 0; cycle < cycles; cycle++) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    const bool by_step = cycle % 2 == 0;
    const int at = crash_at(rng_);
    // New records first (cleaner off, clean stop), so every acknowledged
    // write is known to the model before anything is killed.
    broker.set_extra_args(Flags(false));
    ASSERT_TRUE(broker.Start()) << broker.Output();
    {
      auto c = broker.NewClient();
      Produce(c.get(), 150, 30);
      ASSERT_FALSE(HasFailure());
    }
    ASSERT_EQ(broker.Stop(), 0);
    // Then the cleaner, killed in the middle.
    if (by_step) ::setenv("SENTRY_FAULT_CLEANER_CRASH_AT", std::to_string(at).c_str(), 1);
    broker.set_extra_args(Flags(true));
    const bool started = broker.Start();
    ::unsetenv("SENTRY_FAULT_CLEANER_CRASH_AT");
    if (!started) {
      // The cleaner starts before the listeners: a slow start (sanitizers)
      // may reach the crash point first.
      ASSERT_TRUE(by_step);
      ASSERT_TRUE(WaitForAny(&broker, {"fault injection: killing"}, 5000)) << broker.Output();
      self_kills++;
    } else if (by_step) {
      // The broker kills itself at that step, or finishes its passes first.
      WaitForAny(&broker, {"fault injection: killing", "cleaned to offset"}, 10000);
      if (WaitForAny(&broker, {"fault injection: killing"}, 300)) self_kills++;
    } else {
      WaitForAny(&broker, {"log cleaner: c-0"}, 5000);
      std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms(rng_)));  // a random moment
    }
    broker.Kill();
    // Restart with the cleaner off: what recovery left is what we check.
    broker.set_extra_args(Flags(false));
    ASSERT_TRUE(broker.Start()) << broker.Output();
    EXPECT_EQ(LeftoverFiles(), 0u);
    {
      auto c = broker.NewClient();
      ExpectModel(c.get());
      EXPECT_EQ(c->ListOffsets("c", 0, -1)->body.offset, history_.back().offset + 1);
    }
    ASSERT_EQ(broker.Stop(), 0);
    if (HasFailure()) break;
  }
  std::printf("%d self-kills in %d cycles; %zu records produced\n", self_kills, cycles, history_.size());
  // The loop did hit swaps in progress, not only idle moments.
  EXPECT_GT(self_kills, 0);
}

// The internal offsets log is compacted like any compacted topic: after many
// commits a restart replays about one record per live key, not the history,
// and every group's latest offsets survive a clean stop and a kill -9.
TEST(OffsetsLogCompactionTest, ARestartReplaysTheLatestCommitsNotTheHistory) {
  testing::TempDir dir;
  BrokerProcess broker(dir / "data", {"--offsets.topic.segment.bytes", "4096",
                                      "--log.cleaner.backoff.ms", "20",
                                      "--log.flush.offset.checkpoint.interval.ms", "100"});
  ASSERT_TRUE(broker.Start()) << broker.Output();
  auto c = broker.NewClient();
  ASSERT_EQ(c->CreateTopic("t", 4).value(), 0);
  constexpr int kGroups = 5, kPartitions = 4, kCommits = 1000;
  std::map<std::pair<int, int>, int64_t> latest;
  for (int i = 0; i < kCommits; i++) {
    const int g = i % kGroups, p = (i / kGroups) % kPartitions;
    ASSERT_EQ(c->CommitOffset("g" + std::to_string(g), "t", p, i).value(), 0);
    latest[{g, p}] = i;
  }
  // Await a pass that reached (nearly) the last commit: only the active
  // segment (a few dozen commits of 4 KiB) stays uncompacted.
  auto cleaned_to = [&] {
    const std::string out = broker.Output();
    const std::string needle = "log cleaner: __consumer_offsets-0 cleaned to offset ";
    long best = -1;
    for (size_t at = out.find(needle); at != std::string::npos; at = out.find(needle, at + 1)) {
      best = std::max(best, std::strtol(out.c_str() + at + needle.size(), nullptr, 10));
    }
    return best;
  };
  const auto pass_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (cleaned_to() < kCommits - 200 && std::chrono::steady_clock::now() < pass_deadline) {
    broker.WaitForOutput("\x01never", 20);  // paces the poll
  }
  ASSERT_GE(cleaned_to(), kCommits - 200) << broker.Output();
  auto expect_latest = [&](client::Client* cl) {
    for (auto& [gp, offset] : latest) {
      auto f = cl->FetchOffset("g" + std::to_string(gp.first), "t", gp.second);
      ASSERT_TRUE(f.ok());
      EXPECT_EQ(f->body.offset, offset) << gp.first << "/" << gp.second;
    }
  };
  expect_latest(c.get());
  c.reset();
  ASSERT_EQ(broker.Stop(), 0);
  ASSERT_TRUE(broker.Start()) << broker.Output();
  // "Replayed N records of the offsets log": far fewer than the commits.
  const std::string out = broker.Output();
  const size_t at = out.find("Replayed ");
  ASSERT_NE(at, std::string::npos) << out;
  const long replayed = std::strtol(out.c_str() + at + 9, nullptr, 10);
  EXPECT_LT(replayed, kCommits / 4) << out.substr(at, 80);
  EXPECT_GE(replayed, static_cast<long>(latest.size()));
  c = broker.NewClient();
  expect_latest(c.get());
  c.reset();
  broker.Kill();
  ASSERT_TRUE(broker.Start()) << broker.Output();
  c = broker.NewClient();
  expect_latest(c.get());
  EXPECT_EQ(broker.Stop(), 0);
}

// Settings of an existing topic change live (ALTER_TOPIC_CONFIG, sentryctl
// topic alter): segment.bytes, flush.messages and message.timestamp.type at
// the next write, retention.ms at the next check, cleanup.policy=compact
// refuses keyless records and compacts, and back to delete the partition
// (which now has offset gaps) still loads after a kill -9. Refused changes
// change nothing, on disk included.
TEST(AlterTopicConfigTest, ChangesApplyLivePersistAndRefusalsChangeNothing) {
  testing::TempDir dir;
  BrokerProcess broker(dir / "data", {"--log.retention.check.interval.ms", "100",
                                      "--log.cleaner.backoff.ms", "20",
                                      "--log.flush.offset.checkpoint.interval.ms", "100"});
  ASSERT_TRUE(broker.Start()) << broker.Output();
  auto c = broker.NewClient();
  ASSERT_EQ(c->CreateTopic("a", 1, {{"segment.bytes", "16384"}}).value(), 0);
  const std::string meta = dir / "data/__topics/a.toml";
  auto read_meta = [&] { return ReadFile(meta).value(); };
  const int64_t hour_ago =
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch()).count() - 3600 * 1000;
  for (int i = 0; i < 300; i++) {
    RecordBatchBuilder b(hour_ago);
    for (int k = 0; k < 3; k++) b.Add("k" + std::to_string((i * 3 + k) % 20), "old value", hour_ago);
    ASSERT_EQ(c->Produce("a", 0, 1, b.Build())->error, 0);
  }
  ASSERT_EQ(c->ListOffsets("a", 0, -2)->body.offset, 0);

  // Refusals: nothing changes, the metadata file included.
  const std::string before = read_meta();
  using Changes = std::vector<std::pair<std::string, std::optional<std::string>>>;
  EXPECT_EQ(c->AlterTopicConfig("a", Changes{{"segment.bytes", "100"}}).value(),  // < 1024
            E(ErrorCode::kInvalidConfig));
  EXPECT_EQ(c->AlterTopicConfig("a", Changes{{"retention.ms", "60000"}, {"no.such.key", "1"}})
                .value(),
            E(ErrorCode::kInvalidConfig));
  EXPECT_EQ(c->AlterTopicConfig("a", Changes{{"retention.ms", "soon"}}).value(),
            E(ErrorCode::kInvalidConfig));
  EXPECT_EQ(c->AlterTopicConfig("missing", Changes{{"retention.ms", "1"}}).value(),
            E(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_EQ(read_meta(), before);
  EXPECT_EQ(c->ListOffsets("a", 0, -2)->body.offset, 0);  // no retention ran

  // What the partition itself holds changes too: smaller segments from the
  // next roll on, every write synced (flush.messages=1), the broker's clock
  // on each batch (LogAppendTime); and back.
  const int32_t segments_before = c->DescribeLog("a")->body.partitions.at(0).segments;
  ASSERT_EQ(c->AlterTopicConfig("a", Changes{{"segment.bytes", "2048"},
                                             {"flush.messages", "1"},
                                             {"message.timestamp.type", "LogAppendTime"}})
                .value(),
            0);
  for (int i = 0; i < 20; i++) {
    RecordBatchBuilder b(hour_ago);
    b.Add("k" + std::to_string(i % 20), std::string(200, 'v'), hour_ago);
    auto reply = c->Produce("a", 0, 1, b.Build());
    ASSERT_EQ(reply->error, 0);
    EXPECT_GE(reply->body.log_append_time, hour_ago + 3000 * 1000);  // the broker's now
  }
  auto after_alter = c->DescribeLog("a")->body.partitions.at(0);
  EXPECT_GE(after_alter.segments, segments_before + 20 * 270 / 2048 - 1);
  EXPECT_EQ(after_alter.durable_offset, after_alter.high_watermark);  // flush.messages=1
  ASSERT_EQ(c->AlterTopicConfig("a", Changes{{"segment.bytes", "16384"},
                                             {"flush.messages", std::nullopt},
                                             {"message.timestamp.type", std::nullopt}})
                .value(),
            0);
  {
    RecordBatchBuilder b(hour_ago);
    b.Add("k0", "v", hour_ago);
    auto reply = c->Produce("a", 0, 1, b.Build());
    ASSERT_EQ(reply->error, 0);
    EXPECT_EQ(reply->body.log_append_time, -1);  // CreateTime again
  }

  // retention.ms applies at the next check.
  ASSERT_EQ(c->AlterTopicConfig("a", Changes{{"retention.ms", "60000"}}).value(), 0);
  EXPECT_NE(read_meta().find("60000"), std::string::npos) << read_meta();
  ASSERT_TRUE(broker.WaitForOutput("retention: a-0 starts at offset")) << broker.Output();
  const int64_t start = c->ListOffsets("a", 0, -2)->body.offset;
  EXPECT_GT(start, 0);

  // cleanup.policy=compact: keyless records refused from now on, and the
  // cleaner compacts what is there (retention back to the default).
  ASSERT_EQ(c->AlterTopicConfig("a", Changes{{"cleanup.policy", "compact"},
                                             {"retention.ms", std::nullopt}})
                .value(),
            0);
  RecordBatchBuilder keyless_builder;
  keyless_builder.Add(std::nullopt, "v");
  const std::vector<uint8_t> keyless = keyless_builder.Build();
  EXPECT_EQ(c->Produce("a", 0, 1, keyless)->error, E(ErrorCode::kInvalidRecord));
  for (int i = 0; i < 300; i++) {
    RecordBatchBuilder b;
    for (int k = 0; k < 3; k++) b.Add("k" + std::to_string((i * 3 + k) % 20), "new value");
    ASSERT_EQ(c->Produce("a", 0, 1, b.Build())->error, 0);
  }
  ASSERT_TRUE(broker.WaitForOutput("log cleaner: a-0 cleaned", 20000)) << broker.Output();

  // Back to delete: keyless records are taken again; the log (with gaps)
  // loads after a kill -9 and reads from its start to its end.
  ASSERT_EQ(c->AlterTopicConfig("a", Changes{{"cleanup.policy", "delete"}}).value(), 0);
  EXPECT_EQ(c->Produce("a", 0, 1, keyless)->error, 0);
  const int64_t last_end = c->ListOffsets("a", 0, -1)->body.offset;
  EXPECT_GT(last_end, 1800);
  c.reset();
  broker.Kill();
  ASSERT_TRUE(broker.Start()) << broker.Output();
  EXPECT_EQ(broker.Output().find("OFFLINE"), std::string::npos) << broker.Output();
  c = broker.NewClient();
  EXPECT_EQ(c->ListOffsets("a", 0, -1)->body.offset, last_end);
  int64_t next = c->ListOffsets("a", 0, -2)->body.offset;
  EXPECT_EQ(next, start);
  int fetches = 0;
  while (next < last_end && fetches++ < 10000) {
    auto f = c->Fetch("a", 0, next, 1 << 16);
    ASSERT_TRUE(f.ok());
    ASSERT_EQ(f->error, 0) << next;
    ASSERT_FALSE(f->body.records.empty()) << next;
    size_t pos = 0;
    const auto& bytes = f->body.records;
    while (pos + batch_layout::kHeaderSize <= bytes.size()) {
      RecordBatchView v(bytes.data() + pos);
      if (pos + v.TotalSize() > bytes.size()) break;
      next = std::max(next, v.last_offset() + 1);
      pos += v.TotalSize();
    }
  }
  EXPECT_EQ(next, last_end);
  EXPECT_EQ(broker.Stop(), 0);
}

}  // namespace
}  // namespace sentry
