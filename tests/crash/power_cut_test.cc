// Power cuts (issue 18): sentryd's data directory lives on cutfs
// (tests/cutfs), a FUSE file system that keeps what was written in memory and,
// on a cut, forgets everything no fsync/msync reached (or, every other cut,
// keeps a random part of it, pages torn at sector boundaries). Unlike kill -9,
// which keeps the page cache, this shows what the disk really held.
//
// Each cycle: acks=-1 producers on four partitions, an offset committer and a
// topic create/produce/delete churn run; at a random moment sentryd is killed
// and the power cut; sentryd restarts on what the disk held; then
//   - every acknowledged record is present at its offset, offsets contiguous,
//     no duplicates, every batch valid (crash_load.h's Verify);
//   - committed offsets are at least the last acknowledged commit;
//   - a topic whose create was acknowledged exists whole, with the record
//     acknowledged in it, unless its delete was sent; a topic whose delete was
//     acknowledged is gone; every topic listed serves all its partitions.
// SENTRY_POWER_CUTS sets the number of cuts (20 by default, as in CI).
//
// Needs /dev/fuse and the right to mount (root here and in CI): without them
// the test fails and says so, rather than passing on a disk that keeps all.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crash/crash_load.h"
#include "cutfs/cutfs_process.h"
#include "integration/broker_process.h"
#include "protocol/messages.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"
#include "test_util.h"

namespace sentry {
namespace {

using testing::CutFs;

// Topics made and removed by the churn thread, as the broker answered.
struct TopicLedger {
  std::mutex mu;
  // Acknowledged creates -> the acknowledged record in partition 1 (offset
  // -1 while its produce is unanswered).
  std::map<std::string, std::pair<int64_t, std::string>> created;
  std::set<std::string> delete_sent, deleted;
  std::set<std::string> create_sent;
};

// Creates 2-partition topics, produces one acks=-1 record to each, deletes
// every other one, until the connection breaks.
void ChurnUntilBroken(int port, int cycle, TopicLedger* ledger) {
  auto c = client::Client::Connect("127.0.0.1", port);
  if (!c.ok()) return;
  for (int i = 0;; i++) {
    std::string name = "churn-" + std::to_string(cycle) + "-" + std::to_string(i);
    {
      std::lock_guard<std::mutex> l(ledger->mu);
      ledger->create_sent.insert(name);
    }
    auto cr = (*c)->CreateTopic(name, 2);
    if (!cr.ok() || cr.value() != 0) return;
    {
      std::lock_guard<std::mutex> l(ledger->mu);
      ledger->created[name] = {-1, ""};
    }
    std::string value = "only-" + name;
    RecordBatchBuilder b;
    b.Add(std::nullopt, value);
    auto p = (*c)->Produce(name, 1, -1, b.Build());
    if (!p.ok() || !p->ok()) return;
    {
      std::lock_guard<std::mutex> l(ledger->mu);
      ledger->created[name] = {p->body.base_offset, value};
    }
    if (i % 2 == 1) continue;
    {
      std::lock_guard<std::mutex> l(ledger->mu);
      ledger->delete_sent.insert(name);
    }
    auto d = (*c)->DeleteTopic(name);
    if (!d.ok() || d.value() != 0) return;
    std::lock_guard<std::mutex> l(ledger->mu);
    ledger->deleted.insert(name);
  }
}

void VerifyTopics(client::Client* c, TopicLedger* ledger) {
  std::lock_guard<std::mutex> l(ledger->mu);
  auto md = c->Metadata();
  ASSERT_TRUE(md.ok() && md->ok());
  std::set<std::string> listed;
  for (const auto& t : md->body.topics) {
    listed.insert(t.name);
    if (t.name == "crash") continue;
    ASSERT_TRUE(ledger->create_sent.count(t.name)) << "a topic nobody created: " << t.name;
    ASSERT_EQ(t.partitions.size(), 2u) << t.name << " is not whole";
    for (int32_t p = 0; p < 2; p++) {
      auto end = c->ListOffsets(t.name, p, -1);
      ASSERT_TRUE(end.ok() && end->ok()) << t.name << "-" << p << " does not serve";
    }
  }
  for (const auto& [name, rec] : ledger->created) {
    if (ledger->delete_sent.count(name)) continue;
    ASSERT_TRUE(listed.count(name)) << "topic " << name << " was acknowledged and is gone";
    if (rec.first < 0) continue;
    auto f = c->Fetch(name, 1, rec.first, 1 << 16);
    ASSERT_TRUE(f.ok() && f->error == 0) << name;
    ASSERT_FALSE(f->body.records.empty())
        << "the record acknowledged at offset " << rec.first << " of " << name << "-1 is gone";
    std::vector<DecodedRecord> recs;
    ASSERT_TRUE(DecodeRecords(f->body.records.data(), f->body.records.size(), &recs).ok());
    ASSERT_FALSE(recs.empty());
    ASSERT_EQ(std::string(*recs[0].value), rec.second);
  }
  for (const auto& name : ledger->deleted) {
    ASSERT_FALSE(listed.count(name)) << "topic " << name << " was deleted and came back";
  }
}

// sentryd on cutfs, as every test here runs it: 64 KiB segments (so cuts
// land around rolls) and 200 ms recovery checkpoints (so they land around
// checkpoint rewrites, and rolled segments are synced often).
class BrokerOnCutFs {
 public:
  explicit BrokerOnCutFs(uint64_t seed, std::vector<std::string> extra = {})
      : disk_(dir_ / "disk", seed), broker_(dir_ / "disk/data", Args(std::move(extra))) {}

  // Mounts cutfs and starts sentryd on it (GoogleTest assertions).
  void Start() {
    std::string why;
    ASSERT_TRUE(disk_.Mount(&why)) << why;
    ASSERT_TRUE(broker_.Start()) << broker_.Output();
  }

  // Lets `load` run a random while (the moment of the cut is the test's
  // random input: sleeping is the point), kills sentryd, waits for the load
  // to stop, cuts the power (every other cycle a random-subset cut) and
  // restarts sentryd on what the disk held. Returns cutfs's report of the
  // cut (GoogleTest assertions: check HasFatalFailure()).
  std::string CutDuring(std::vector<std::thread>* load, int cycle, std::mt19937* rng) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + (*rng)() % 600));
    broker_.Kill();
    for (auto& t : *load) t.join();
    std::string report = disk_.Cut(cycle % 2 == 1);
    EXPECT_FALSE(report.empty()) << "cycle " << cycle << ": cutfs did not come back:\n"
                                 << disk_.output();
    if (report.empty()) return report;
    EXPECT_TRUE(broker_.Start()) << "cycle " << cycle << " (" << report << "):\n"
                                 << broker_.Output();
    return report;
  }

  testing::BrokerProcess& broker() { return broker_; }

 private:
  static std::vector<std::string> Args(std::vector<std::string> extra) {
    std::vector<std::string> args{"--segment.bytes", "65536",
                                  "--log.flush.offset.checkpoint.interval.ms", "200"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  testing::TempDir dir_;
  CutFs disk_;
  testing::BrokerProcess broker_;
};

TEST(PowerCutTest, AcknowledgedRecordsTopicsAndCommitsSurviveEveryCut) {
  const char* env = std::getenv("SENTRY_POWER_CUTS");
  const int cuts = env ? std::atoi(env) : 20;
  BrokerOnCutFs rig(18);
  rig.Start();
  if (HasFatalFailure()) return;
  testing::BrokerProcess& broker = rig.broker();
  {
    auto c = broker.NewClient();
    ASSERT_EQ(c->CreateTopic("crash", kPartitions).value(), 0);
  }
  Acked acked;
  TopicLedger topics;
  std::mt19937 rng(2718);
  for (int cycle = 0; cycle < cuts; cycle++) {
    std::vector<std::thread> load;
    for (int p = 0; p < kPartitions; p++) {
      load.emplace_back([&, p] { ProduceUntilBroken(broker.port(), p, cycle, &acked); });
    }
    load.emplace_back([&] { CommitUntilBroken(broker.port(), &acked); });
    load.emplace_back([&] { ChurnUntilBroken(broker.port(), cycle, &topics); });
    std::string report = rig.CutDuring(&load, cycle, &rng);
    if (HasFailure()) return;
    std::printf("cycle %d: %s\n", cycle, report.c_str());
    auto c = broker.NewClient();
    ASSERT_TRUE(c);
    Verify(c.get(), &acked);
    VerifyTopics(c.get(), &topics);
    if (HasFatalFailure()) {
      ADD_FAILURE() << "cycle " << cycle << " (" << report << ") broker output:\n"
                    << broker.Output();
      return;
    }
  }
  size_t total = 0;
  for (auto& m : acked.by_offset) total += m.size();
  EXPECT_GT(total, 1000u) << "too little load to mean anything";
  EXPECT_GT(topics.created.size(), static_cast<size_t>(cuts)) << "too little topic churn";
  EXPECT_EQ(broker.Stop(), 0);
  RecordProperty("acknowledged_records", static_cast<int>(total));
  RecordProperty("topics_created", static_cast<int>(topics.created.size()));
  std::printf("%d cuts: %zu acks=-1 records acknowledged, all present; %zu topics created\n", cuts,
              total, topics.created.size());
}

// acks=1 promises durability only with flush.messages=1 (every batch synced
// before its answer, docs/design.md); without a flush setting it promises
// what a process crash keeps, and a power cut may take the unsynced tail.
// Under acks=1 load on one topic of each kind, 10 cuts: every acknowledged
// record of the flush.messages=1 topic survives; the other topic's log is a
// clean prefix of what was acknowledged (contiguous, valid, each record
// where it was acknowledged), however much of its tail went.
TEST(PowerCutTest, AcksOneSurvivesWithFlushMessagesOneAndLeavesAPrefixWithout) {
  const char* env = std::getenv("SENTRY_POWER_CUTS");
  const int cuts = env ? std::max(10, std::atoi(env) / 2) : 10;  // fewer test nothing
  // Rolled segments are msynced with each recovery-point checkpoint (as
  // Kafka flushes on roll): every 200 ms here, so the lazy topic keeps an
  // older prefix through a cut and the prefix check has something to check.
  BrokerOnCutFs rig(1918);
  rig.Start();
  if (HasFatalFailure()) return;
  testing::BrokerProcess& broker = rig.broker();
  {
    auto c = broker.NewClient();
    ASSERT_EQ(c->CreateTopic("each", kPartitions, {{"flush.messages", "1"}}).value(), 0);
    ASSERT_EQ(c->CreateTopic("lazy", kPartitions).value(), 0);
  }
  Acked each("each"), lazy("lazy");
  std::mt19937 rng(1066);
  for (int cycle = 0; cycle < cuts; cycle++) {
    std::vector<std::thread> load;
    for (int p = 0; p < kPartitions; p++) {
      load.emplace_back([&, p] { ProduceUntilBroken(broker.port(), p, cycle, &each, 1); });
      load.emplace_back([&, p] { ProduceUntilBroken(broker.port(), p, cycle, &lazy, 1); });
    }
    std::string report = rig.CutDuring(&load, cycle, &rng);
    if (HasFailure()) return;
    auto c = broker.NewClient();
    ASSERT_TRUE(c);
    Verify(c.get(), &each);
    Verify(c.get(), &lazy, /*acked_must_survive=*/false);
    std::printf("cycle %d: %s; acks=1 records without a flush: %lld lost so far\n", cycle,
                report.c_str(), static_cast<long long>(lazy.lost));
    if (HasFatalFailure()) {
      ADD_FAILURE() << "cycle " << cycle << " (" << report << ") broker output:\n"
                    << broker.Output();
      return;
    }
  }
  size_t total = 0;
  for (auto& m : each.by_offset) total += m.size();
  EXPECT_GT(total, 500u) << "too little load to mean anything";
  size_t kept = 0;
  for (auto& m : lazy.by_offset) kept += m.size();
  EXPECT_GT(kept, 0u) << "no rolled segment of the lazy topic was flushed before any cut";
  std::printf("%d cuts: %zu acks=1 records with flush.messages=1, all present; without a flush "
              "%zu kept, %lld lost\n", cuts, total, kept, static_cast<long long>(lazy.lost));
  EXPECT_EQ(broker.Stop(), 0);
  RecordProperty("flush_messages_1_records", static_cast<int>(total));
  RecordProperty("acks_1_records_lost_without_flush", static_cast<int>(lazy.lost));
  RecordProperty("acks_1_records_kept_without_flush", static_cast<int>(kept));
}

// Compaction and retention under power cuts: acks=-1 keyed load on a
// compacted topic and plain load on a topic with retention.bytes, both with
// 16 KiB segments, while the cleaner (100 ms backoff) and retention (every
// 100 ms) rewrite and delete segments; 10 cuts. After each: every batch
// valid; the retained topic contiguous from its log start with every
// acknowledged record at or above it in place; in the compacted topic every
// acknowledged record still there holds its value at its offset, and each
// key's last acknowledged record is there or was superseded by a later one
// (a cleaner swap cut half-way must leave one whole version). The test
// fails unless compaction removed records and retention moved log starts.
TEST(PowerCutTest, CompactionAndRetentionStayConsistentAcrossCuts) {
  const char* env = std::getenv("SENTRY_POWER_CUTS");
  const int cuts = env ? std::max(10, std::atoi(env) / 2) : 10;  // fewer test nothing
  constexpr int kTopicPartitions = 2;
  BrokerOnCutFs rig(1453, {"--log.cleaner.backoff.ms", "100",
                           "--log.retention.check.interval.ms", "100"});
  rig.Start();
  if (HasFatalFailure()) return;
  testing::BrokerProcess& broker = rig.broker();
  {
    auto c = broker.NewClient();
    ASSERT_EQ(c->CreateTopic("compact", kTopicPartitions,
                             {{"cleanup.policy", "compact"}, {"segment.bytes", "16384"},
                              {"min.cleanable.dirty.ratio", "0.01"}})
                  .value(),
              0);
    ASSERT_EQ(c->CreateTopic("retained", kTopicPartitions,
                             {{"segment.bytes", "16384"}, {"retention.bytes", "49152"}})
                  .value(),
              0);
  }
  Acked compact("compact", /*keyed=*/true), retained("retained");
  std::mt19937 rng(1815);
  Kept kept_compact, kept_retained;
  for (int cycle = 0; cycle < cuts; cycle++) {
    std::vector<std::thread> load;
    for (int p = 0; p < kTopicPartitions; p++) {
      load.emplace_back([&, p] { ProduceUntilBroken(broker.port(), p, cycle, &compact); });
      load.emplace_back([&, p] { ProduceUntilBroken(broker.port(), p, cycle, &retained); });
    }
    std::string report = rig.CutDuring(&load, cycle, &rng);
    if (HasFailure()) return;
    auto c = broker.NewClient();
    ASSERT_TRUE(c);
    kept_compact = {};
    kept_retained = {};
    VerifyKept(c.get(), &compact, kTopicPartitions, /*compacted=*/true, &kept_compact);
    VerifyKept(c.get(), &retained, kTopicPartitions, /*compacted=*/false, &kept_retained);
    std::printf("cycle %d: %s; compacted away %lld, retention log starts %lld\n", cycle,
                report.c_str(), static_cast<long long>(kept_compact.compacted_away),
                static_cast<long long>(kept_retained.log_starts));
    if (HasFatalFailure()) {
      ADD_FAILURE() << "cycle " << cycle << " (" << report << ") broker output:\n"
                    << broker.Output();
      return;
    }
  }
  EXPECT_GT(kept_compact.compacted_away, 0) << "the cleaner never compacted: nothing was tested";
  EXPECT_GT(kept_retained.log_starts, 0) << "retention never deleted: nothing was tested";
  EXPECT_EQ(broker.Stop(), 0);
  RecordProperty("compacted_away", static_cast<int>(kept_compact.compacted_away));
  RecordProperty("retention_log_starts", static_cast<int>(kept_retained.log_starts));
}

}  // namespace
}  // namespace sentry
