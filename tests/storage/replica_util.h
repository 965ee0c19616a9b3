// Helpers shared by the replication tests of storage (replica_log_test) and
// recovery (replica_recovery_test): a leader's appends with epochs, a
// follower's copy through AppendReplica, and what a log holds, read back.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "storage/partition_log.h"
#include "storage/record_batch_builder.h"

namespace sentry::testing {

// One batch of `records` records, values "<tag>-<first_value + i>" padded to
// `value_bytes`, appended under leader epoch `epoch` (-1: none).
inline AppendInfo AppendBatch(PartitionLog* log, int records, int32_t epoch,
                              const std::string& tag = "v", int first_value = 0,
                              size_t value_bytes = 40, int64_t ts = 1000) {
  RecordBatchBuilder b(ts);
  for (int i = 0; i < records; i++) {
    std::string v = tag + "-" + std::to_string(first_value + i);
    if (v.size() < value_bytes) v.resize(value_bytes, '.');
    b.Add(std::nullopt, v, ts + i);
  }
  auto bytes = b.Build();
  BatchSetSummary sum;
  EXPECT_TRUE(ValidateBatches(bytes, &sum).ok());
  auto r = log->Append(bytes, sum, epoch);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : AppendInfo{};
}

// Every batch from the log start to the log end, as Read serves them.
inline std::vector<uint8_t> LogBytes(const PartitionLog& log) {
  std::vector<uint8_t> out;
  int64_t next = log.log_start_offset();
  while (next < log.high_watermark()) {
    auto r = log.Read(next, 1 << 20);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok() || r->size == 0) break;
    out.insert(out.end(), r->data, r->data + r->size);
    size_t pos = 0;
    while (pos < r->size) {
      RecordBatchView v(r->data + pos);
      next = v.last_offset() + 1;
      pos += v.TotalSize();
    }
  }
  return out;
}

// (offset, value) of every record from the log start, decoded.
inline std::vector<std::pair<int64_t, std::string>> Records(const PartitionLog& log) {
  std::vector<std::pair<int64_t, std::string>> out;
  const std::vector<uint8_t> bytes = LogBytes(log);
  for (size_t pos = 0; pos < bytes.size();) {
    RecordBatchView v(bytes.data() + pos);
    std::vector<DecodedRecord> recs;
    EXPECT_TRUE(DecodeRecords(bytes.data() + pos, v.TotalSize(), &recs).ok());
    for (const auto& r : recs) out.emplace_back(r.offset, std::string(r.value.value_or("")));
    pos += v.TotalSize();
  }
  return out;
}

// The follower fetches from the leader what it lacks, `max_bytes` at a time
// (at least one batch, as Read serves), and appends it as a replica.
inline void Replicate(const PartitionLog& leader, PartitionLog* follower, size_t max_bytes) {
  while (follower->log_end_offset() < leader.log_end_offset()) {
    auto r = leader.Read(follower->log_end_offset(), max_bytes);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_GT(r->size, 0u);
    BatchSetSummary sum;
    ASSERT_TRUE(ValidateBatches(r->bytes(), &sum, /*compacted=*/true).ok());
    auto a = follower->AppendReplica(r->bytes(), sum);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    ASSERT_EQ(a->base_offset, RecordBatchView(r->data).base_offset());
  }
}

inline std::vector<uint8_t> FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {});
}

// The partition_leader_epoch of every batch, in order.
inline std::vector<int32_t> BatchEpochs(const PartitionLog& log) {
  std::vector<int32_t> out;
  const std::vector<uint8_t> bytes = LogBytes(log);
  for (size_t pos = 0; pos < bytes.size();) {
    RecordBatchView v(bytes.data() + pos);
    out.push_back(v.partition_leader_epoch());
    pos += v.TotalSize();
  }
  return out;
}

}  // namespace sentry::testing
