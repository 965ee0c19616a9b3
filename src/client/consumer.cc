#include "client/consumer.h"

#include "storage/decompress.h"

#include <poll.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <thread>

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
  auto pool = std::make_unique<BrokerPool>(options.host, options.port, options.connect_timeout_ms,
                                           100, options.security);
  SENTRY_RETURN_IF_ERROR(pool->Refresh(topic));
  const int32_t n = pool->partitions();
  if (partitions.empty()) {
    for (int32_t p = 0; p < n; p++) partitions.push_back(p);
  }
  std::unique_ptr<Consumer> consumer(new Consumer(options, topic, std::move(pool)));
  BrokerPool& bp = *consumer->pool_;
  for (int32_t p : partitions) {
    if (p < 0 || p >= n) {
      return ErrorStatus(static_cast<int16_t>(protocol::ErrorCode::kUnknownTopicOrPartition),
                         topic + "-" + std::to_string(p));
    }
    int64_t pos = -1;
    if (!options.group.empty()) {
      SENTRY_ASSIGN_OR_RETURN(Client * c, consumer->Coordinator());
      SENTRY_ASSIGN_OR_RETURN(auto committed, Admin(c).FetchCommittedOffset(options.group, topic, p));
      pos = committed;
    }
    if (pos < 0) {
      if (start.kind == StartPosition::Kind::kOffset) {
        pos = start.value;
      } else {
        const int64_t ts = start.kind == StartPosition::Kind::kEarliest ? -2
                           : start.kind == StartPosition::Kind::kLatest ? -1
                                                                        : start.value;
        if (bp.Leader(p) == -1) {
          return ErrorStatus(static_cast<int16_t>(protocol::ErrorCode::kLeaderNotAvailable),
                             topic + "-" + std::to_string(p));
        }
        SENTRY_ASSIGN_OR_RETURN(Client * c, bp.Get(bp.Leader(p)));
        SENTRY_ASSIGN_OR_RETURN(auto o, Admin(c).ListOffset(topic, p, ts));
        pos = o;
      }
    }
    consumer->partitions_.push_back(p);
    consumer->state_[p].position = pos;
  }
  return consumer;
}

Consumer::~Consumer() = default;

Result<Client*> Consumer::Coordinator() {
  const std::string& group = options_.group;
  if (pool_->Coordinator(group) == -1) SENTRY_RETURN_IF_ERROR(pool_->Refresh(topic_));
  const int32_t id = pool_->Coordinator(group);
  if (id == -1) {
    return Status::Unavailable("no coordinator for group '" + group +
                               "' right now (its offsets-log partition has no leader)");
  }
  return pool_->Get(id);
}

void Consumer::ForgetFetches(int32_t broker) {
  for (auto& [p, st] : state_) {
    if (st.fetch_corr != 0 && st.fetch_broker == broker) st.fetch_corr = 0;
  }
}

Status Consumer::SendFetches(int max_wait_ms) {
  const int64_t now = SteadyMillis();
  // No broker answering: the partitions wait for a later refresh. The topic
  // gone ends the poll on a single node; in a cluster the broker asked may
  // just not have heard of it yet (restarted), so it is asked again later.
  Status refreshed = pool_->RefreshIfStale(topic_, now);
  if (refreshed.IsNotFound() && !pool_->cluster_mode()) return refreshed;
  for (int32_t p : partitions_) {
    PartitionState& st = state_[p];
    if (st.fetch_corr != 0 || st.retry_at > now) continue;
    const int32_t leader = pool_->Leader(p);
    if (leader == -1) continue;
    auto c = pool_->Get(leader);
    if (!c.ok()) {
      if (!pool_->cluster_mode()) return c.status();
      pool_->MarkStale();
      st.retry_at = now + kRetryBackoffMs;
      continue;
    }
    protocol::FetchRequest req{topic_, p, st.position, options_.max_bytes, 1, max_wait_ms};
    auto corr = c.value()->connection().Send(static_cast<uint16_t>(protocol::ApiKey::kFetch),
                                             Client::EncodeFetch(req));
    if (!corr.ok()) {
      pool_->Drop(leader);
      ForgetFetches(leader);
      if (!pool_->cluster_mode()) return corr.status();
      continue;
    }
    st.fetch_corr = corr.value();
    st.fetch_broker = leader;
    st.fetch_serial = pool_->Serial(leader);
    st.fetch_offset = st.position;
  }
  return Status::OK();
}

std::optional<int32_t> Consumer::WaitAnswer(int wait_ms) {
  std::map<int32_t, Client*> waiting;  // brokers with fetches in flight
  for (auto& [p, st] : state_) {
    if (st.fetch_corr == 0) continue;
    if (pool_->Serial(st.fetch_broker) != st.fetch_serial) {
      st.fetch_corr = 0;  // the pool closed that connection: send again
      continue;
    }
    waiting[st.fetch_broker] = pool_->Find(st.fetch_broker);
  }
  std::vector<pollfd> fds;
  std::vector<int32_t> fd_broker;
  for (auto& [b, c] : waiting) {
    if (c->connection().WaitReadable(0)) return b;  // a parked answer
    fds.push_back(pollfd{c->connection().fd(), POLLIN, 0});
    fd_broker.push_back(b);
  }
  if (fds.empty()) {
    // Nothing in flight (no leader known now): wait a little, then retry.
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(wait_ms, kRetryBackoffMs)));
    return std::nullopt;
  }
  if (::poll(fds.data(), fds.size(), wait_ms) <= 0) return std::nullopt;
  for (size_t i = 0; i < fds.size(); i++) {
    if (fds[i].revents != 0) return fd_broker[i];
  }
  return std::nullopt;
}

Result<std::vector<ConsumerRecord>> Consumer::Poll(int timeout_ms) {
  std::vector<ConsumerRecord> out;
  const int64_t deadline = SteadyMillis() + timeout_ms;
  const int wait = std::clamp(timeout_ms, 0, options_.max_wait_ms);
  while (true) {
    SENTRY_RETURN_IF_ERROR(SendFetches(wait));
    const int64_t left = deadline - SteadyMillis();
    auto broker = WaitAnswer(static_cast<int>(std::max<int64_t>(left, 0)));
    if (!broker) {
      if (SteadyMillis() >= deadline) return out;  // fetches stay in flight for the next Poll
      continue;
    }
    auto r = pool_->Find(*broker)->connection().Receive(wait + 30000);
    if (!r.ok()) {
      pool_->Drop(*broker);
      ForgetFetches(*broker);
      if (!pool_->cluster_mode()) return r.status();
      continue;  // ask who leads now, fetch there
    }
    PartitionState* st = nullptr;
    int32_t partition = -1;
    for (auto& [p, s] : state_) {
      if (s.fetch_corr == r.value().header.correlation_id && s.fetch_broker == *broker) {
        st = &s;
        partition = p;
      }
    }
    if (!st) continue;
    st->fetch_corr = 0;
    const std::string where = "fetch " + topic_ + "-" + std::to_string(partition) + " at offset " +
                              std::to_string(st->fetch_offset);
    protocol::FetchResponse fr;
    protocol::ByteReader rd = r.value().reader();
    const bool decoded = !r.value().body.empty() && protocol::Decode(&rd, &fr);
    if (decoded) st->high_watermark = fr.header.high_watermark;
    const int16_t code = r.value().error_code;
    if (IsLeadershipError(code) ||
        (pool_->cluster_mode() &&
         code == static_cast<int16_t>(protocol::ErrorCode::kUnknownTopicOrPartition))) {
      // The leader moved (or, in a cluster, a broker has not heard of the
      // topic yet, or it was deleted): ask again, fetch there.
      pool_->MarkStale();
      st->retry_at = SteadyMillis() + kRetryBackoffMs;
      continue;
    }
    if (code != 0) {
      Status s = ErrorStatus(code, where);
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
  // Answers to fetches in flight on the same connection may come first; Call parks them.
  SENTRY_ASSIGN_OR_RETURN(Client * c, Coordinator());
  Admin admin(c);
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
