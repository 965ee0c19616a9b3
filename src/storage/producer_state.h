// ProducerState: what one partition remembers about idempotent producers
// (Kafka's producer state), so a retried batch is stored once.
//
// For each producer id: its epoch and its last five batches (first and last
// sequence, first and last offset). A batch with a producer id is
//  - a duplicate when the same epoch already has a batch with the same first
//    and last sequence among those five: it is not appended again, and the
//    answer carries the offsets of the copy already stored;
//  - out of order when its first sequence does not follow the producer's last
//    sequence (with wrap-around at INT32_MAX), or when a new epoch does not
//    start at sequence 0;
//  - fenced when its epoch is older than the producer's current one.
// A producer the partition knows nothing of (new, or its state was lost) may
// start at any sequence, as Kafka allows after KIP-360.
//
// Persistence: the state is rebuilt at start-up from the batch headers of the
// log (PartitionLog::ReloadProducers, called by recovery/producer_state_loader
// and by PartitionLog::TruncateTo when it drops a batch the state remembers),
// starting from a snapshot (`producer.snapshot` in the partition directory:
// the state as of an offset, written atomically by
// PartitionLog::SnapshotProducers at clean shutdown and with each recovery
// checkpoint) so a restart walks only what came after it.
//
// Threads: Check and Record come from the partition's writer thread; Snapshot
// from the maintenance thread. One mutex; the writer holds it (Lock) across
// check, append and record, so a snapshot never sees a batch in the log that
// the state misses.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"

namespace sentry {

class ProducerState {
 public:
  static constexpr size_t kBatchesKept = 5;
  static constexpr const char* kSnapshotFile = "producer.snapshot";

  struct BatchMeta {
    int32_t first_seq = 0;
    int32_t last_seq = 0;
    int64_t first_offset = 0;
    int64_t last_offset = 0;
  };
  struct Entry {
    int16_t epoch = -1;
    std::deque<BatchMeta> batches;  // oldest first, at most kBatchesKept
  };

  // The result of checking a set of batches before an append.
  struct Verdict {
    Status status;           // OutOfOrderSequence / ProducerFenced, else OK
    bool duplicate = false;  // every batch is already stored: do not append
                             // (some but not all: refused, OUT_OF_ORDER_SEQUENCE)
    int64_t first_offset = -1;  // of the stored copy, when duplicate
    int64_t last_offset = -1;
  };

  Mutex& mu() RETURN_CAPABILITY(mu_) { return mu_; }

  // Checks `batches` (one or more RecordBatch v2, already validated) against
  // the state. Batches without a producer id pass.
  Verdict Check(std::span<const uint8_t> batches) const REQUIRES(mu_);
  // Records `batches` as appended with the first at `base_offset`.
  void Record(std::span<const uint8_t> batches, int64_t base_offset) REQUIRES(mu_);
  // Replays one batch read back from the log (recovery).
  void Replay(int64_t producer_id, int16_t epoch, int32_t first_seq, int32_t last_seq,
              int64_t first_offset, int64_t last_offset) REQUIRES(mu_);

  // Snapshot bytes of the state as of log offset `offset` (the next offset
  // not covered), and the reverse. Parse fails on any damage (CRC-32C).
  std::string Serialize(int64_t offset) const REQUIRES(mu_);
  static Status Parse(std::string_view bytes, int64_t* offset,
                      std::map<int64_t, Entry>* producers);
  void Reset(std::map<int64_t, Entry> producers) REQUIRES(mu_);

  size_t size() const REQUIRES(mu_) { return producers_.size(); }
  // True when some remembered batch ends at or after `offset` (a truncation
  // to `offset` would leave the state remembering a dropped batch).
  bool HasBatchAtOrAfter(int64_t offset) const REQUIRES(mu_);
  // Bumped by every Record/Replay/Reset: a snapshot is written only when
  // this moved since the last one.
  uint64_t version() const REQUIRES(mu_) { return version_; }
  // What the last snapshot written covered (recovery/producer_state_loader).
  struct SnapshotMark {
    uint64_t version = UINT64_MAX;  // none written yet
    int64_t offset = -1;
    int64_t at_ms = 0;
  };
  SnapshotMark& snapshot_mark() REQUIRES(mu_) { return mark_; }

 private:
  void Add(int64_t producer_id, int16_t epoch, const BatchMeta& b) REQUIRES(mu_);

  mutable Mutex mu_;
  std::map<int64_t, Entry> producers_ GUARDED_BY(mu_);
  uint64_t version_ GUARDED_BY(mu_) = 0;
  SnapshotMark mark_ GUARDED_BY(mu_);
};

}  // namespace sentry
