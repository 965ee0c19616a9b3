#include "storage/producer_state.h"

#include <fmt/format.h>

#include <limits>

#include "common/crc32c.h"
#include "common/endian.h"
#include "storage/batch_walker.h"
#include "storage/record_batch.h"

namespace sentry {

namespace {

// Snapshot layout (big-endian):
//   magic "SPS1", offset i64, producer count u32,
//   per producer: id i64, epoch i16, batch count u8,
//                 per batch: first_seq i32, last_seq i32, first_offset i64, last_offset i64
//   crc32c u32 of everything before it.
constexpr char kSnapshotMagic[4] = {'S', 'P', 'S', '1'};
constexpr size_t kBatchBytes = 4 + 4 + 8 + 8;

int32_t NextSeq(int32_t seq) {
  return seq == std::numeric_limits<int32_t>::max() ? 0 : seq + 1;
}

int32_t LastSeq(const RecordBatchView& b) {
  const int64_t last = static_cast<int64_t>(b.base_sequence()) + b.last_offset_delta();
  return static_cast<int32_t>(last % (static_cast<int64_t>(std::numeric_limits<int32_t>::max()) + 1));
}

// The batches of a validated batch set, in order (plain loops, so the
// thread-safety analysis sees the callers' REQUIRES).
std::vector<RecordBatchView> Batches(std::span<const uint8_t> batches) {
  std::vector<RecordBatchView> out;
  for (size_t pos = 0; pos < batches.size();) {
    out.emplace_back(batches.data() + pos);
    pos += out.back().TotalSize();
  }
  return out;
}

}  // namespace

ProducerState::Verdict ProducerState::Check(std::span<const uint8_t> batches) const {
  Verdict v;
  // Batches of one request are checked in order, each against the state as
  // the earlier ones would leave it (a small overlay, untouched state).
  std::map<int64_t, Entry> overlay;
  bool any = false;
  bool all_duplicates = true;
  bool some_duplicate = false;
  for (const RecordBatchView& b : Batches(batches)) {
    const int64_t pid = b.producer_id();
    if (pid < 0) {
      all_duplicates = false;
      continue;
    }
    any = true;
    auto oit = overlay.find(pid);
    if (oit == overlay.end()) {
      auto it = producers_.find(pid);
      oit = overlay.emplace(pid, it == producers_.end() ? Entry{} : it->second).first;
    }
    Entry& e = oit->second;
    const int16_t epoch = b.producer_epoch();
    const int32_t first = b.base_sequence();
    const int32_t last = LastSeq(b);
    if (e.epoch >= 0 && epoch < e.epoch) {
      v.status = Status::ProducerFenced(
          fmt::format("producer {} epoch {} is older than the current epoch {}", pid, epoch,
                      e.epoch));
      break;
    }
    bool duplicate = false;
    if (e.epoch >= 0 && epoch == e.epoch) {
      for (const BatchMeta& m : e.batches) {
        if (m.first_seq == first && m.last_seq == last) {
          if (v.first_offset < 0) v.first_offset = m.first_offset;
          v.last_offset = m.last_offset;
          duplicate = true;  // of a stored batch
          break;
        }
      }
    }
    if (duplicate) {
      some_duplicate = true;
      continue;
    }
    all_duplicates = false;
    if (e.epoch >= 0 && epoch > e.epoch && first != 0) {
      v.status = Status::OutOfOrderSequence(fmt::format(
          "producer {} starts epoch {} at sequence {}, not 0", pid, epoch, first));
      break;
    }
    if (e.epoch == epoch && !e.batches.empty() && first != NextSeq(e.batches.back().last_seq)) {
      v.status = Status::OutOfOrderSequence(
          fmt::format("producer {} epoch {}: sequence {} does not follow {}", pid, epoch, first,
                      e.batches.back().last_seq));
      break;
    }
    if (epoch != e.epoch) e.batches.clear();
    e.epoch = epoch;
    e.batches.push_back({first, last, -1, -1});
    if (e.batches.size() > kBatchesKept) e.batches.pop_front();
  }
  if (v.status.ok() && some_duplicate && !all_duplicates) {
    // A resent batch and new ones in one request: appending them all would
    // store the resent one twice, and the request is all or nothing. (Kafka
    // clients send one batch per partition per request; Sentry's native
    // client does too when idempotent.)
    v.status = Status::OutOfOrderSequence(
        "a request mixes batches already stored with new ones: send each batch on its own");
  }
  if (v.status.ok()) {
    v.duplicate = any && all_duplicates;
    if (!v.duplicate) v.first_offset = v.last_offset = -1;
  }
  return v;
}

void ProducerState::Record(std::span<const uint8_t> batches, int64_t base_offset) {
  int64_t offset = base_offset;
  for (const RecordBatchView& b : Batches(batches)) {
    const int64_t last_offset = offset + b.last_offset_delta();
    if (b.producer_id() >= 0) {
      Add(b.producer_id(), b.producer_epoch(), {b.base_sequence(), LastSeq(b), offset, last_offset});
    }
    offset = last_offset + 1;
  }
}

void ProducerState::Replay(int64_t producer_id, int16_t epoch, int32_t first_seq,
                           int32_t last_seq, int64_t first_offset, int64_t last_offset) {
  Add(producer_id, epoch, {first_seq, last_seq, first_offset, last_offset});
}

void ProducerState::Add(int64_t producer_id, int16_t epoch, const BatchMeta& b) {
  Entry& e = producers_[producer_id];
  if (epoch != e.epoch) {
    e.batches.clear();
    e.epoch = epoch;
  }
  e.batches.push_back(b);
  if (e.batches.size() > kBatchesKept) e.batches.pop_front();
  version_++;
}

bool ProducerState::HasBatchAtOrAfter(int64_t offset) const {
  // The newest batch of each producer is the last one kept.
  for (const auto& [id, e] : producers_) {
    if (!e.batches.empty() && e.batches.back().last_offset >= offset) return true;
  }
  return false;
}

void ProducerState::Reset(std::map<int64_t, Entry> producers) {
  producers_ = std::move(producers);
  version_++;
}

std::string ProducerState::Serialize(int64_t offset) const {
  std::string out(kSnapshotMagic, sizeof(kSnapshotMagic));
  auto put = [&out](auto v, size_t n) {
    uint8_t buf[8];
    if (n == 8) PutU64(buf, static_cast<uint64_t>(v));
    if (n == 4) PutU32(buf, static_cast<uint32_t>(v));
    if (n == 2) PutU16(buf, static_cast<uint16_t>(v));
    if (n == 1) buf[0] = static_cast<uint8_t>(v);
    out.append(reinterpret_cast<const char*>(buf), n);
  };
  put(offset, 8);
  put(producers_.size(), 4);
  for (const auto& [id, e] : producers_) {
    put(id, 8);
    put(e.epoch, 2);
    put(e.batches.size(), 1);
    for (const BatchMeta& b : e.batches) {
      put(b.first_seq, 4);
      put(b.last_seq, 4);
      put(b.first_offset, 8);
      put(b.last_offset, 8);
    }
  }
  put(Crc32c(out.data(), out.size()), 4);
  return out;
}

Status ProducerState::Parse(std::string_view bytes, int64_t* offset,
                            std::map<int64_t, Entry>* producers) {
  auto bad = [](const char* why) { return Status::Corruption(std::string("producer snapshot: ") + why); };
  if (bytes.size() < sizeof(kSnapshotMagic) + 8 + 4 + 4) return bad("too short");
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t body = bytes.size() - 4;
  if (Crc32c(p, body) != GetU32(p + body)) return bad("CRC mismatch");
  const std::string_view magic(kSnapshotMagic, sizeof(kSnapshotMagic));
  if (std::string_view(bytes.data(), magic.size()) != magic) {
    return bad("bad magic");
  }
  size_t pos = sizeof(kSnapshotMagic);
  *offset = GetI64(p + pos);
  pos += 8;
  const uint32_t count = GetU32(p + pos);
  pos += 4;
  producers->clear();
  for (uint32_t i = 0; i < count; i++) {
    if (body - pos < 8 + 2 + 1) return bad("truncated producer");
    const int64_t id = GetI64(p + pos);
    Entry e;
    e.epoch = GetI16(p + pos + 8);
    const uint8_t n = p[pos + 10];
    pos += 11;
    if (n > kBatchesKept || body - pos < n * kBatchBytes) return bad("truncated batches");
    for (uint8_t k = 0; k < n; k++) {
      e.batches.push_back({GetI32(p + pos), GetI32(p + pos + 4), GetI64(p + pos + 8),
                           GetI64(p + pos + 16)});
      pos += kBatchBytes;
    }
    (*producers)[id] = std::move(e);
  }
  if (pos != body) return bad("trailing bytes");
  return Status::OK();
}

}  // namespace sentry
