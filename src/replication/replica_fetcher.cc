#include "replication/replica_fetcher.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/clock.h"
#include "kafka/errors.h"
#include "kafka/messages.h"
#include "metrics/histogram.h"
#include "storage/record_batch.h"

namespace sentry::replication {

namespace {
constexpr int16_t kFetchVersion = 11;                 // current_leader_epoch, not flexible
constexpr int16_t kOffsetForLeaderEpochVersion = 3;   // replica_id, not flexible
constexpr int kConnectTimeoutMs = 3000;

template <typename Message>
std::vector<uint8_t> EncodeBody(int16_t version, const Message& m) {
  std::vector<uint8_t> body;
  kafka::Writer w(&body);
  kafka::Encode(w, version, m);
  return body;
}

// The whole batches at the front of `bytes` (a fetch may end in a partial one).
std::span<const uint8_t> WholeBatches(std::span<const uint8_t> bytes) {
  size_t at = 0;
  while (bytes.size() - at >= batch_layout::kHeaderSize) {
    const size_t total = RecordBatchView(bytes.data() + at).TotalSize();
    if (total > bytes.size() - at || total < batch_layout::kHeaderSize) break;
    at += total;
  }
  return bytes.first(at);
}
}  // namespace

ReplicaFetcher::ReplicaFetcher(FetcherOptions opt, int32_t leader_id)
    : opt_(opt), leader_id_(leader_id) {
  thread_ = std::thread([this] { Run(); });
}

ReplicaFetcher::~ReplicaFetcher() { Stop(); }

void ReplicaFetcher::RequestStop() {
  {
    std::lock_guard l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  // A fetch blocked on a leader that stopped answering (paused, cut off)
  // ends now instead of at its timeout.
  std::lock_guard l(conn_mu_);
  if (conn_) conn_->Abort();
}

void ReplicaFetcher::Stop() {
  RequestStop();
  if (thread_.joinable()) thread_.join();
}

void ReplicaFetcher::SetLeaderAddress(const std::string& host, int32_t port) {
  std::lock_guard l(mu_);
  if (host == host_ && port == port_) return;
  host_ = host;
  port_ = port;
  address_changed_ = true;
  cv_.notify_all();
}

void ReplicaFetcher::Follow(const std::shared_ptr<pipeline::Partition>& p, int32_t epoch) {
  std::lock_guard l(mu_);
  auto& f = parts_[p.get()];
  if (f.p && f.epoch == epoch) return;
  f.p = p;
  f.epoch = epoch;
  f.needs_truncation = true;
  f.paused_until_ms = 0;
  cv_.notify_all();
}

void ReplicaFetcher::Unfollow(const pipeline::Partition* p) {
  std::lock_guard l(mu_);
  parts_.erase(p);
}

void ReplicaFetcher::FollowLogStart(pipeline::Partition* p, int64_t leader_start) {
  MutexLock l(&p->retention_mu());
  if (p->deleted()) return;
  PartitionLog* log = p->log();
  const int64_t target = std::min(leader_start, log->log_end_offset());
  if (target <= log->log_start_offset()) return;
  // Durable up to the new start first, as DeleteRecords on the leader: a
  // crash must not leave the log ending below a persisted start.
  Status s = log->Flush().status();
  if (s.ok()) s = log->AdvanceLogStart(target).status();
  if (!s.ok() && append_error_.Allow()) {
    spdlog::error("replica fetcher: moving the log start of {}-{} to {} failed: {}{}", p->topic(),
                  p->index(), target, s.ToString(), append_error_.Suppressed());
  }
}

bool ReplicaFetcher::empty() const {
  std::lock_guard l(mu_);
  return parts_.empty();
}

void ReplicaFetcher::Update(const pipeline::Partition* p, bool needs_truncation,
                            int64_t pause_ms) {
  std::lock_guard l(mu_);
  auto it = parts_.find(p);
  if (it == parts_.end()) return;
  if (needs_truncation) it->second.needs_truncation = true;
  if (pause_ms > 0) it->second.paused_until_ms = SteadyMillis() + pause_ms;
}

void ReplicaFetcher::Run() {
  while (true) {
    std::vector<Followed> parts;
    std::string host;
    int32_t port = -1;
    {
      std::unique_lock l(mu_);
      cv_.wait(l, [&] { return stop_ || (!parts_.empty() && port_ > 0); });
      if (stop_) {
        exited_.store(true);
        return;
      }
      if (address_changed_) {
        std::lock_guard cl(conn_mu_);
        conn_.reset();
        address_changed_ = false;
      }
      for (auto& [raw, f] : parts_) parts.push_back(f);
      host = host_;
      port = port_;
    }
    if (!conn_) {
      auto c = LeaderConnection::Connect(host, port, kConnectTimeoutMs);
      if (c.ok()) {
        std::lock_guard cl(conn_mu_);
        conn_ = std::move(*c);
      } else {
        if (warn_.Allow()) {
          spdlog::warn("replica fetcher: cannot reach leader {} at {}:{}: {}{}", leader_id_, host,
                       port, c.status().ToString(), warn_.Suppressed());
        }
      }
    }
    if (!conn_ || !Round(parts)) {
      {
        std::lock_guard cl(conn_mu_);
        conn_.reset();
      }
      std::unique_lock l(mu_);
      cv_.wait_for(l, std::chrono::milliseconds(opt_.backoff_ms), [&] { return stop_; });
    }
  }
}

bool ReplicaFetcher::Round(std::vector<Followed>& parts) {
  const int64_t now = SteadyMillis();
  std::vector<Followed*> truncate, fetch;
  for (auto& f : parts) {
    if (f.p->deleted() || f.paused_until_ms > now) continue;
    (f.needs_truncation ? truncate : fetch).push_back(&f);
  }
  if (!truncate.empty() && !Truncate(truncate)) return false;
  if (fetch.empty()) {
    // Nothing to fetch now (all paused or truncating): don't spin.
    std::unique_lock l(mu_);
    cv_.wait_for(l, std::chrono::milliseconds(truncate.empty() ? opt_.backoff_ms : 1),
                 [&] { return stop_; });
    return true;
  }
  return Fetch(fetch);
}

bool ReplicaFetcher::Truncate(std::vector<Followed*>& todo) {
  kafka::OffsetForLeaderEpochRequest req;
  req.replica_id = opt_.broker_id;
  std::vector<Followed*> asked;
  for (Followed* f : todo) {
    PartitionLog* log = f->p->log();
    const int32_t latest = log->leader_epochs().latest_epoch();
    if (latest < 0) {
      // No epoch in this log: empty (nothing to truncate), or written before
      // this broker joined a cluster (kept; docs/cluster.md).
      std::lock_guard l(mu_);
      if (auto it = parts_.find(f->p.get()); it != parts_.end() && it->second.epoch == f->epoch) {
        it->second.needs_truncation = false;
      }
      continue;
    }
    if (req.topics.empty() || req.topics.back().topic != f->p->topic()) {
      req.topics.push_back({f->p->topic(), {}});
    }
    req.topics.back().partitions.push_back({f->p->index(), f->epoch, latest});
    asked.push_back(f);
  }
  if (asked.empty()) return true;
  auto body = conn_->Call(kafka::OffsetForLeaderEpochRequest::kApiKey, kOffsetForLeaderEpochVersion,
                          EncodeBody(kOffsetForLeaderEpochVersion, req), kConnectTimeoutMs);
  if (!body.ok()) {
    spdlog::warn("replica fetcher: OffsetForLeaderEpoch to leader {} failed: {}", leader_id_,
                 body.status().ToString());
    return false;
  }
  kafka::Reader r(*body);
  kafka::OffsetForLeaderEpochResponse resp;
  if (!kafka::Decode(r, kOffsetForLeaderEpochVersion, &resp)) {
    spdlog::warn("replica fetcher: malformed OffsetForLeaderEpoch answer from leader {}", leader_id_);
    return false;
  }
  bool truncated = false;
  for (const auto& t : resp.topics) {
    for (const auto& pr : t.partitions) {
      auto f = std::find_if(asked.begin(), asked.end(), [&](Followed* x) {
        return x->p->topic() == t.topic && x->p->index() == pr.partition;
      });
      if (f == asked.end()) continue;
      pipeline::Partition* p = (*f)->p.get();
      if (pr.error_code != 0) {
        spdlog::info("replica fetcher: {}-{}: leader {} answered error {} to OffsetForLeaderEpoch; "
                     "waiting for new metadata", p->topic(), p->index(), leader_id_, pr.error_code);
        Update(p, false, opt_.backoff_ms);
        continue;
      }
      PartitionLog* log = p->log();
      int64_t to = log->log_end_offset();
      if (pr.leader_epoch < 0 || pr.end_offset < 0) {
        // The leader knows no epoch this old: keep only what was committed.
        to = std::min(to, p->replica().hw_floor.load());
      } else {
        auto [mine, my_end] = log->leader_epochs().EndOffsetFor(pr.leader_epoch, to);
        (void)mine;
        to = std::min({to, pr.end_offset, my_end < 0 ? to : my_end});
      }
      to = std::max(to, log->log_start_offset());
      if (to < log->log_end_offset()) {
        // No retention or cleaner pass meanwhile, then no append.
        MutexLock rl(&p->retention_mu());
        MutexLock l(&p->append_mu());
        const int64_t from = log->log_end_offset();
        Status s = log->TruncateTo(to);
        if (!s.ok()) {
          spdlog::error("replica fetcher: truncating {}-{} to {} failed: {}", p->topic(),
                        p->index(), to, s.ToString());
          Update(p, true, opt_.backoff_ms);
          continue;
        }
        spdlog::info("replica fetcher: {}-{} truncated from {} to {} (leader {} epoch {} ends at {})",
                     p->topic(), p->index(), from, to, leader_id_, pr.leader_epoch, pr.end_offset);
        truncated = true;
      }
      std::lock_guard l(mu_);
      if (auto it = parts_.find(p); it != parts_.end() && it->second.epoch == (*f)->epoch) {
        it->second.needs_truncation = false;
      }
    }
  }
  // A recovery checkpoint written before names recovery points past the new
  // ends (PartitionLog::TruncateTo): write it again.
  if (truncated && opt_.after_truncate) opt_.after_truncate();
  return true;
}

bool ReplicaFetcher::Fetch(std::vector<Followed*>& todo) {
  kafka::FetchRequest req;
  req.replica_id = opt_.broker_id;
  req.max_wait_ms = opt_.max_wait_ms;
  req.min_bytes = 1;
  req.max_bytes = opt_.response_max_bytes;
  req.session_id = 0;
  req.session_epoch = -1;
  for (Followed* f : todo) {
    if (req.topics.empty() || req.topics.back().topic != f->p->topic()) {
      req.topics.push_back({f->p->topic(), {}});
    }
    kafka::FetchRequest::FetchPartition fp;
    fp.partition = f->p->index();
    fp.current_leader_epoch = f->epoch;
    fp.fetch_offset = f->p->log()->log_end_offset();
    fp.log_start_offset = f->p->log()->log_start_offset();
    fp.partition_max_bytes = opt_.partition_max_bytes;
    req.topics.back().partitions.push_back(fp);
  }
  auto body = conn_->Call(kafka::FetchRequest::kApiKey, kFetchVersion,
                          EncodeBody(kFetchVersion, req), opt_.max_wait_ms + kConnectTimeoutMs);
  if (!body.ok()) {
    if (warn_.Allow()) {
      spdlog::warn("replica fetcher: fetch from leader {} failed: {}{}", leader_id_,
                   body.status().ToString(), warn_.Suppressed());
    }
    return false;
  }
  kafka::Reader r(*body);
  bool started_over = false;
  kafka::FetchResponse resp;
  if (!kafka::Decode(r, kFetchVersion, &resp)) {
    spdlog::warn("replica fetcher: malformed fetch answer from leader {}", leader_id_);
    return false;
  }
  for (const auto& t : resp.responses) {
    for (const auto& pd : t.partitions) {
      auto f = std::find_if(todo.begin(), todo.end(), [&](Followed* x) {
        return x->p->topic() == t.topic && x->p->index() == pd.partition_index;
      });
      if (f == todo.end()) continue;
      pipeline::Partition* p = (*f)->p.get();
      using kafka::ErrorCode;
      if (pd.error_code == kafka::Code(ErrorCode::kOffsetOutOfRange)) {
        if (pd.log_start_offset > p->log()->log_end_offset()) {
          // This whole copy is below what the leader still has: start over
          // at the leader's log start (Kafka's truncateFullyAndStartAt).
          if (StartOver(p, pd.log_start_offset, pd.log_start_offset)) started_over = true;
          continue;
        }
        spdlog::info("replica fetcher: {}-{} at {} is out of the leader's range; truncating",
                     p->topic(), p->index(), p->log()->log_end_offset());
        Update(p, true, 0);
        continue;
      }
      if (pd.error_code != 0) {
        Update(p, false, opt_.backoff_ms);  // not the leader in our epoch: new metadata comes
        continue;
      }
      std::span<const uint8_t> batches;
      if (pd.records) batches = WholeBatches(pd.records->data);
      PartitionLog* log = p->log();
      if (!batches.empty()) {
        // This copy ends at or below the leader's log start (it started over
        // there), which is inside the first batch the leader sends: it
        // starts over at that batch instead.
        const RecordBatchView first(batches.data());
        const int64_t end = log->log_end_offset();
        if (end <= pd.log_start_offset && first.base_offset() < end &&
            first.last_offset() >= end && StartOver(p, first.base_offset(), pd.log_start_offset)) {
          started_over = true;
        }
      }
      if (!batches.empty()) {
        BatchSetSummary summary;
        // A compacted leader's batches may hold fewer records than offsets.
        Status v = ValidateBatches(batches, &summary, /*compacted=*/true);
        Status s = v;
        if (v.ok()) {
          MutexLock l(&p->append_mu());
          if (p->deleted()) continue;
          auto appended = log->AppendReplica(batches, summary);
          s = appended.status();
          if (appended.ok()) {
            metrics::Bump(p->records_in, static_cast<uint64_t>(summary.record_count));
            metrics::Bump(p->bytes_in, batches.size());
            p->unflushed_messages += summary.record_count;
          }
        }
        if (!s.ok()) {
          if (append_error_.Allow()) {
            spdlog::error("replica fetcher: appending to {}-{} at {} failed: {}{}; retrying",
                          p->topic(), p->index(), log->log_end_offset(), s.ToString(),
                          append_error_.Suppressed());
          }
          Update(p, s.code() == Status::Code::kInvalidArgument, opt_.backoff_ms);
          continue;
        }
        bool flush = opt_.sync_before_ack;
        {
          MutexLock l(&p->append_mu());
          if (p->unflushed_messages >= p->policy().flush_messages) flush = true;
          if (flush) p->unflushed_messages = 0;
        }
        if (flush) {
          auto fl = log->Flush();
          if (!fl.ok()) {
            spdlog::error("replica fetcher: flush of {}-{} failed: {}", p->topic(), p->index(),
                          fl.status().ToString());
          }
        }
      }
      // The leader's high watermark, as far as this copy reaches.
      const int64_t hw = std::min(pd.high_watermark, log->log_end_offset());
      if (hw > p->replica().hw_floor.load()) p->replica().hw_floor.store(hw);
      // The leader's log start (DeleteRecords, retention): this copy starts
      // there too, as far as it reaches, as a Kafka follower does.
      if (pd.log_start_offset > log->log_start_offset()) FollowLogStart(p, pd.log_start_offset);
    }
  }
  // The recovery checkpoint names recovery points of the dropped logs.
  if (started_over && opt_.after_truncate) opt_.after_truncate();
  return true;
}

bool ReplicaFetcher::StartOver(pipeline::Partition* p, int64_t offset, int64_t leader_start) {
  MutexLock rl(&p->retention_mu());
  MutexLock l(&p->append_mu());
  if (p->deleted()) return false;
  PartitionLog* log = p->log();
  const int64_t start = log->log_start_offset();
  const int64_t end = log->log_end_offset();
  if (start == offset && end == offset) return false;  // already there
  Status s = log->StartOverAt(offset);
  if (!s.ok()) {
    if (append_error_.Allow()) {
      spdlog::error("replica fetcher: starting {}-{} over at offset {} failed: {}{}", p->topic(),
                    p->index(), offset, s.ToString(), append_error_.Suppressed());
    }
    Update(p, false, opt_.backoff_ms);
    return false;
  }
  // Everything below the leader's log start was committed there.
  if (leader_start > p->replica().hw_floor.load()) p->replica().hw_floor.store(leader_start);
  spdlog::warn("replica fetcher: {}-{}: its log [{}, {}) is not within leader {}'s, which starts "
               "at {}: dropped; it starts over at offset {}",
               p->topic(), p->index(), start, end, leader_id_, leader_start, offset);
  return true;
}

}  // namespace sentry::replication
