// The load and the check shared by the crash tests (kill -9 in
// crash_loop_test.cc, power cuts in power_cut_test.cc): acks=-1 producers
// on the partitions of a topic ("crash"), an offset committer for group "g",
// and the verification of what a restarted broker holds.
#pragma once

#include <atomic>
#include <map>
#include <utility>
#include <mutex>
#include <string>

#include "client/client.h"

namespace sentry {

constexpr int kPartitions = 4;

struct Acked {
  explicit Acked(std::string t = "crash", bool k = false) : topic(std::move(t)), keyed(k) {}
  const std::string topic;
  // Records carry keys: half one of kKeys hot keys, half a key of their own;
  // each value starts with its key and '|' (a compacted topic's check needs
  // the key of every acknowledged record).
  const bool keyed;
  static constexpr int kKeys = 24;
  std::mutex mu;
  std::map<int64_t, std::string> by_offset[kPartitions];  // acknowledged records
  int64_t last_commit_acked[kPartitions] = {-1, -1, -1, -1};
  int64_t max_commit_sent[kPartitions] = {-1, -1, -1, -1};
  int64_t lost = 0;  // acknowledged records a power cut took (acks=1 without a flush)
};

// Produces batches of 1-5 records to `partition` of acked->topic, up to 8 requests
// in flight, until the connection breaks (or `stop`); records what was
// acknowledged at which offset.
void ProduceUntilBroken(int port, int partition, int cycle, Acked* acked, int16_t acks = -1,
                        const std::atomic<bool>* stop = nullptr);

// Commits growing offsets of acked->topic for group "g" until the connection
// breaks.
void CommitUntilBroken(int port, Acked* acked, const std::atomic<bool>* stop = nullptr);

// Offsets contiguous from 0, no duplicates, every batch valid; every
// acknowledged record at its offset (with !acked_must_survive: those below
// the log end; the ones past it are counted in `lost` and forgotten, so the
// next appends may take their offsets); committed offsets between the last
// acknowledged commit and the last one sent. GoogleTest assertions: check
// HasFatalFailure() after it.
void Verify(client::Client* c, Acked* acked, bool acked_must_survive = true);

// For a topic that retention or compaction shrinks (acked->keyed for
// compaction), partitions [0, partitions): every batch valid, offsets
// increasing from the log start, no value twice; below the log end:
//  - not compacted: contiguous from the log start, and every acknowledged
//    record at or above the start at its offset;
//  - compacted: every acknowledged record still present holds its value at
//    its offset, and each key's last acknowledged record is present or
//    superseded by a later record of that key.
// Adds to *kept how many offsets below the end are missing (compacted away)
// and the log starts (so a test can tell that compaction and retention ran
// at all). GoogleTest assertions: check HasFatalFailure() after it.
struct Kept {
  int64_t compacted_away = 0;
  int64_t log_starts = 0;  // sum over partitions
};
void VerifyKept(client::Client* c, Acked* acked, int partitions, bool compacted, Kept* kept);

}  // namespace sentry
