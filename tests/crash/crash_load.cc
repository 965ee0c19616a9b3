#include "crash/crash_load.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <random>
#include <set>
#include <vector>

#include "protocol/messages.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

namespace sentry {

// Produces acks=-1 batches to one partition until the connection breaks.
void ProduceUntilBroken(int port, int partition, int cycle, Acked* acked, int16_t acks,
                        const std::atomic<bool>* stop) {
  auto conn = client::Connection::Connect("127.0.0.1", port);
  if (!conn.ok()) return;
  std::mt19937 rng(cycle * 31 + partition);
  std::map<uint32_t, std::vector<std::string>> in_flight;
  for (int seq = 0;; seq++) {
    // Keep up to 8 requests in flight: a group commit has company.
    while (in_flight.size() < 8) {
      RecordBatchBuilder b;
      std::vector<std::string> values;
      int n = 1 + static_cast<int>(rng() % 5);
      for (int i = 0; i < n; i++) {
        std::string value = "c" + std::to_string(cycle) + "-p" + std::to_string(partition) + "-" +
                            std::to_string(seq) + "-" + std::to_string(i);
        if (acked->keyed) {
          // Half on a few hot keys (compaction keeps the last of each), half
          // on keys of their own (compaction must keep every one, wherever
          // it sits, so a lost cleaned segment shows).
          const std::string key =
              rng() % 2 ? "k" + std::to_string(rng() % Acked::kKeys) : "u" + value;
          values.push_back(key + "|" + value);
          b.Add(key, values.back());
        } else {
          values.push_back(value);
          b.Add(std::nullopt, values.back());
        }
      }
      auto bytes = b.Build();
      auto corr = (*conn)->Send(1, client::Client::EncodeProduce(acked->topic, partition, acks, bytes,
                                                                  10000));
      if (!corr.ok()) return;
      in_flight[corr.value()] = std::move(values);
      seq++;
    }
    if (stop && stop->load()) return;
    auto r = (*conn)->Receive(15000);
    if (!r.ok()) return;
    auto it = in_flight.find(r->header.correlation_id);
    if (it == in_flight.end()) return;
    if (r->error_code == 0) {
      protocol::ProduceResponse pr;
      auto rd = r->reader();
      if (!protocol::Decode(&rd, &pr)) return;
      std::lock_guard<std::mutex> l(acked->mu);
      for (size_t i = 0; i < it->second.size(); i++) {
        acked->by_offset[partition][pr.base_offset + static_cast<int64_t>(i)] = it->second[i];
      }
    }
    in_flight.erase(it);
  }
}

// Commits growing offsets for group "g" until the connection breaks.
void CommitUntilBroken(int port, Acked* acked, const std::atomic<bool>* stop) {
  auto c = client::Client::Connect("127.0.0.1", port);
  if (!c.ok()) return;
  for (int64_t n = 0; !(stop && stop->load()); n++) {
    int p = static_cast<int>(n % kPartitions);
    int64_t offset;
    {
      std::lock_guard<std::mutex> l(acked->mu);
      offset = std::max<int64_t>(acked->max_commit_sent[p] + 1, 0);
      acked->max_commit_sent[p] = offset;
    }
    auto r = (*c)->CommitOffset("g", acked->topic, p, offset, "m" + std::to_string(offset));
    if (!r.ok()) return;
    if (r.value() == 0) {
      std::lock_guard<std::mutex> l(acked->mu);
      acked->last_commit_acked[p] = std::max(acked->last_commit_acked[p], offset);
    }
  }
}

void Verify(client::Client* c, Acked* acked, bool acked_must_survive) {
  std::lock_guard<std::mutex> l(acked->mu);
  for (int p = 0; p < kPartitions; p++) {
    auto start = c->ListOffsets(acked->topic, p, -2);
    auto end = c->ListOffsets(acked->topic, p, -1);
    ASSERT_TRUE(start.ok() && end.ok());
    ASSERT_EQ(start->body.offset, 0);
    int64_t next = 0;
    std::set<std::string> seen;
    std::map<int64_t, std::string> found;
    while (next < end->body.offset) {
      auto f = c->Fetch(acked->topic, p, next, 1 << 20);
      ASSERT_TRUE(f.ok()) << f.status().ToString();
      ASSERT_EQ(f->error, 0) << "partition " << p << " offset " << next;
      const auto& bytes = f->body.records;
      ASSERT_FALSE(bytes.empty());
      size_t pos = 0;
      while (pos < bytes.size()) {
        RecordBatchView v;
        ASSERT_TRUE(RecordBatchView::Parse(bytes.data() + pos, bytes.size() - pos, &v).ok())
            << "batch at offset " << next << " failed its checks";
        std::vector<DecodedRecord> recs;
        ASSERT_TRUE(DecodeRecords(bytes.data() + pos, v.TotalSize(), &recs).ok());
        for (auto& r : recs) {
          if (r.offset < next) continue;
          ASSERT_EQ(r.offset, next) << "offsets not contiguous in partition " << p;
          ASSERT_TRUE(seen.insert(std::string(*r.value)).second) << "duplicate " << *r.value;
          found[r.offset] = std::string(*r.value);
          next++;
        }
        pos += v.TotalSize();
      }
    }
    auto& by_offset = acked->by_offset[p];
    if (!acked_must_survive) {  // what the log lost may go; what it kept must match
      auto lost = by_offset.lower_bound(next);
      acked->lost += static_cast<int64_t>(std::distance(lost, by_offset.end()));
      by_offset.erase(lost, by_offset.end());
    }
    for (auto& [off, val] : by_offset) {
      auto it = found.find(off);
      ASSERT_NE(it, found.end()) << "acknowledged offset " << off << " of partition " << p
                                 << " lost (log end " << next << ")";
      ASSERT_EQ(it->second, val) << "offset " << off << " holds another record";
    }
    auto committed = c->FetchOffset("g", acked->topic, p);
    ASSERT_TRUE(committed.ok());
    ASSERT_GE(committed->body.offset, acked->last_commit_acked[p]) << "partition " << p;
    ASSERT_LE(committed->body.offset, acked->max_commit_sent[p]);
    if (committed->body.offset >= 0) {
      ASSERT_EQ(committed->body.metadata, "m" + std::to_string(committed->body.offset));
    }
  }
}

void VerifyKept(client::Client* c, Acked* acked, int partitions, bool compacted, Kept* kept) {
  std::lock_guard<std::mutex> l(acked->mu);
  for (int p = 0; p < partitions; p++) {
    auto start = c->ListOffsets(acked->topic, p, -2);
    auto end = c->ListOffsets(acked->topic, p, -1);
    EXPECT_TRUE(start.ok() && end.ok() && start->ok() && end->ok());
    if (!(start.ok() && end.ok() && start->ok() && end->ok())) return;
    int64_t log_start = start->body.offset;
    const int64_t log_end = end->body.offset;
    std::map<int64_t, std::pair<std::string, std::string>> found;  // offset -> key, value
    std::set<std::string> seen;
    int64_t next = log_start;
    while (next < log_end) {
      auto f = c->Fetch(acked->topic, p, next, 1 << 20);
      ASSERT_TRUE(f.ok()) << f.status().ToString();
      if (f->error == 1 /* OFFSET_OUT_OF_RANGE */ && !compacted) {
        // Retention runs while this reads: the start may have moved past
        // `next` since it was asked. Only forward, and never past the end.
        auto moved = c->ListOffsets(acked->topic, p, -2);
        ASSERT_TRUE(moved.ok() && moved->ok());
        ASSERT_GT(moved->body.offset, next)
            << acked->topic << "-" << p << ": offset " << next << " out of range, log start "
            << moved->body.offset;
        ASSERT_LE(moved->body.offset, log_end);
        log_start = next = moved->body.offset;
        found.clear();  // the check is from the new start
        continue;
      }
      ASSERT_EQ(f->error, 0) << acked->topic << "-" << p << " offset " << next;
      const auto& bytes = f->body.records;
      ASSERT_FALSE(bytes.empty()) << acked->topic << "-" << p << " offset " << next
                                  << ": nothing served below the log end " << log_end;
      size_t pos = 0;
      int64_t batch_end = next;
      while (pos < bytes.size()) {
        RecordBatchView v;
        ASSERT_TRUE(RecordBatchView::Parse(bytes.data() + pos, bytes.size() - pos, &v).ok())
            << "a batch of " << acked->topic << "-" << p << " at " << next << " failed its checks";
        std::vector<DecodedRecord> recs;
        ASSERT_TRUE(DecodeRecords(bytes.data() + pos, v.TotalSize(), &recs).ok());
        for (auto& r : recs) {
          if (r.offset < next) continue;
          if (!compacted) {
            ASSERT_EQ(r.offset, next) << "offsets not contiguous in " << acked->topic << "-" << p;
          }
          ASSERT_TRUE(seen.insert(std::string(*r.value)).second) << "duplicate " << *r.value;
          found[r.offset] = {r.key ? std::string(*r.key) : "", std::string(*r.value)};
          next = r.offset + 1;
        }
        // A compacted batch may have lost its last records: its offsets
        // still run to its last offset delta.
        batch_end = std::max(batch_end, v.last_offset() + 1);
        pos += v.TotalSize();
      }
      next = std::max(next, batch_end);
    }
    kept->log_starts += log_start;
    kept->compacted_away += log_end - log_start - static_cast<int64_t>(found.size());
    std::map<std::string, int64_t> last_acked;  // key -> offset
    for (const auto& [off, val] : acked->by_offset[p]) {
      if (off < log_start) continue;
      auto it = found.find(off);
      if (!compacted) {
        ASSERT_NE(it, found.end()) << "acknowledged offset " << off << " of " << acked->topic
                                   << "-" << p << " lost (log " << log_start << "-" << log_end
                                   << ")";
      }
      if (it != found.end()) {
        ASSERT_EQ(it->second.second, val) << "offset " << off << " holds another record";
      }
      if (compacted) last_acked[val.substr(0, val.find('|'))] = off;
    }
    for (const auto& [key, off] : last_acked) {
      if (found.count(off)) continue;
      const bool superseded = std::any_of(found.upper_bound(off), found.end(),
                                          [&](const auto& kv) { return kv.second.first == key; });
      ASSERT_TRUE(superseded) << "key " << key << " of " << acked->topic << "-" << p
                              << ": its last acknowledged record (offset " << off
                              << ") is gone and no later one replaced it";
    }
  }
}

}  // namespace sentry
