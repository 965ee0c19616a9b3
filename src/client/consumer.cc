#include "client/consumer.h"

#include "storage/decompress.h"

#include <algorithm>
#include <charconv>
#include <chrono>

#include "client/admin.h"
#include "client/error_status.h"
#include "common/clock.h"
#include "protocol/errors.h"
#include "protocol/messages.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

namespace sentry::client {

namespace {
bool ParseI64(std::string_view s, int64_t* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}
}  // namespace

Result<StartPosition> StartPosition::Parse(std::string_view s) {
  StartPosition sp;
  if (s == "earliest") return sp;
  if (s == "latest") {
    sp.kind = Kind::kLatest;
    return sp;
  }
  if (!s.empty() && s[0] == '@') {
    sp.kind = Kind::kTimestamp;
    if (ParseI64(s.substr(1), &sp.value) && sp.value >= 0) return sp;
  } else {
    sp.kind = Kind::kOffset;
    if (ParseI64(s, &sp.value) && sp.value >= 0) return sp;
  }
  return Status::InvalidArgument("start position must be earliest, latest, OFFSET or @UNIX_MS, not '" +
                                 std::string(s) + "'");
}

Result<int64_t> DecodeFetchedRecords(int32_t partition, std::span<const uint8_t> bytes,
                                     int64_t from_offset, std::vector<ConsumerRecord>* out) {
  int64_t next = from_offset;
  size_t pos = 0;
  std::vector<DecodedRecord> records;
  std::vector<uint8_t> scratch;  // a compressed batch's records
  while (pos < bytes.size()) {
    const size_t total = RecordBatchView::PeekTotalSize(bytes.data() + pos, bytes.size() - pos);
    if (total == 0 || total > bytes.size() - pos) break;  // partial batch: the next fetch gets it
    RecordBatchView v;
    Status s = RecordBatchView::Parse(bytes.data() + pos, bytes.size() - pos, &v);
    if (!s.ok()) {
      return Status::Corruption("partition " + std::to_string(partition) + " batch at offset " +
                                std::to_string(GetI64(bytes.data() + pos)) + ": " + s.message());
    }
    if (v.last_offset() >= from_offset) {
      records.clear();
      s = DecodeBatchRecords(bytes.data() + pos, v.TotalSize(), &records, &scratch);
      if (!s.ok()) return s;
      for (auto& r : records) {
        if (r.offset < from_offset) continue;  // the batch starts before the position
        ConsumerRecord c;
        c.partition = partition;
        c.offset = r.offset;
        c.timestamp = r.timestamp;
        if (r.key) c.key.emplace(*r.key);
        if (r.value) c.value.emplace(*r.value);
        out->push_back(std::move(c));
      }
    }
    next = std::max(next, v.last_offset() + 1);
    pos += v.TotalSize();
  }
  return next;
}

Result<std::unique_ptr<Consumer>> Consumer::Create(const ConsumerOptions& options,
                                                   const std::string& topic,
                                                   std::vector<int32_t> partitions,
                                                   StartPosition start) {
  SENTRY_ASSIGN_OR_RETURN(auto c, Client::Connect(options.host, options.port, options.connect_timeout_ms));
  Admin admin(c.get());
  SENTRY_ASSIGN_OR_RETURN(auto n, admin.PartitionCount(topic));
  if (partitions.empty()) {
    for (int32_t p = 0; p < n; p++) partitions.push_back(p);
  }
  std::unique_ptr<Consumer> consumer(new Consumer(options, topic, std::move(c)));
  for (int32_t p : partitions) {
    if (p < 0 || p >= n) {
      return ErrorStatus(static_cast<int16_t>(protocol::ErrorCode::kUnknownTopicOrPartition),
                         topic + "-" + std::to_string(p));
    }
    int64_t pos = -1;
    if (!options.group.empty()) {
      SENTRY_ASSIGN_OR_RETURN(auto committed, admin.FetchCommittedOffset(options.group, topic, p));
      pos = committed;
    }
    if (pos < 0) {
      if (start.kind == StartPosition::Kind::kOffset) {
        pos = start.value;
      } else {
        const int64_t ts = start.kind == StartPosition::Kind::kEarliest ? -2
                           : start.kind == StartPosition::Kind::kLatest ? -1
                                                                        : start.value;
        SENTRY_ASSIGN_OR_RETURN(auto o, admin.ListOffset(topic, p, ts));
        pos = o;
      }
    }
    consumer->partitions_.push_back(p);
    consumer->state_[p].position = pos;
  }
  return consumer;
}

Consumer::~Consumer() = default;

Status Consumer::SendFetches(int max_wait_ms) {
  for (int32_t p : partitions_) {
    PartitionState& st = state_[p];
    if (st.fetch_corr != 0) continue;
    protocol::FetchRequest req{topic_, p, st.position, options_.max_bytes, 1, max_wait_ms};
    SENTRY_ASSIGN_OR_RETURN(st.fetch_corr, client_->connection().Send(
                                               static_cast<uint16_t>(protocol::ApiKey::kFetch),
                                               Client::EncodeFetch(req)));
    st.fetch_offset = st.position;
  }
  return Status::OK();
}

Result<std::vector<ConsumerRecord>> Consumer::Poll(int timeout_ms) {
  std::vector<ConsumerRecord> out;
  const int64_t deadline = SteadyMillis() + timeout_ms;
  const int wait = std::clamp(timeout_ms, 0, options_.max_wait_ms);
  while (true) {
    SENTRY_RETURN_IF_ERROR(SendFetches(wait));
    const int64_t left = deadline - SteadyMillis();
    if (!client_->connection().WaitReadable(static_cast<int>(std::max<int64_t>(left, 0)))) {
      return out;  // nothing arrived in time; fetches stay in flight for the next Poll
    }
    SENTRY_ASSIGN_OR_RETURN(auto r, client_->connection().Receive(wait + 30000));
    PartitionState* st = nullptr;
    int32_t partition = -1;
    for (auto& [p, s] : state_) {
      if (s.fetch_corr == r.header.correlation_id) {
        st = &s;
        partition = p;
      }
    }
    if (!st) continue;
    st->fetch_corr = 0;
    const std::string where = "fetch " + topic_ + "-" + std::to_string(partition) + " at offset " +
                              std::to_string(st->fetch_offset);
    protocol::FetchResponse fr;
    protocol::ByteReader rd = r.reader();
    const bool decoded = !r.body.empty() && protocol::Decode(&rd, &fr);
    if (decoded) st->high_watermark = fr.header.high_watermark;
    if (r.error_code != 0) {
      Status s = ErrorStatus(r.error_code, where);
      if (decoded) {
        return Status(s.code(), s.message() + " (log start " +
                                    std::to_string(fr.header.log_start_offset) +
                                    ", high watermark " +
                                    std::to_string(fr.header.high_watermark) + ")");
      }
      return s;
    }
    if (!decoded) return Status::Corruption(where + ": malformed FETCH response");
    if (st->fetch_offset != st->position || !fr.records) continue;  // a Seek made it stale
    SENTRY_ASSIGN_OR_RETURN(auto next, DecodeFetchedRecords(partition, *fr.records, st->position, &out));
    st->position = next;
    if (!out.empty() || SteadyMillis() >= deadline) return out;
  }
}

Status Consumer::Commit() {
  if (options_.group.empty()) return Status::InvalidArgument("commit needs a consumer group");
  // Answers to fetches in flight may come first; Call parks them.
  Admin admin(client_.get());
  for (int32_t p : partitions_) {
    SENTRY_RETURN_IF_ERROR(admin.CommitOffset(options_.group, topic_, p, state_[p].position));
  }
  return Status::OK();
}

Status Consumer::Seek(int32_t partition, int64_t offset) {
  auto it = state_.find(partition);
  if (it == state_.end()) return Status::InvalidArgument("partition not assigned");
  it->second.position = offset;
  return Status::OK();
}

}  // namespace sentry::client
