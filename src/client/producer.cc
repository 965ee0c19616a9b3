#include "client/producer.h"

#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <thread>

#include "client/admin.h"
#include "client/error_status.h"
#include "common/clock.h"
#include "protocol/errors.h"
#include "protocol/messages.h"

namespace sentry::client {


Result<std::unique_ptr<Producer>> Producer::Create(const ProducerOptions& options,
                                                   const std::string& topic) {
  if (options.acks != -1 && options.acks != 0 && options.acks != 1) {
    return Status::InvalidArgument("acks must be -1, 0 or 1, not " + std::to_string(options.acks));
  }
  auto pool = std::make_unique<BrokerPool>(options.host, options.port, options.connect_timeout_ms,
                                           static_cast<int>(options.retry_backoff_ms),
                                           options.security);
  SENTRY_RETURN_IF_ERROR(pool->Refresh(topic));
  if (pool->partitions() < 1) return Status::NotFound("topic '" + topic + "' has no partitions");
  std::unique_ptr<Producer> p(new Producer(options, topic, std::move(pool)));
  if (options.enable_idempotence) {
    // Any broker hands out ids: the one the caller named.
    SENTRY_ASSIGN_OR_RETURN(Client * c, p->pool_->Get(BrokerPool::kBootstrap));
    SENTRY_ASSIGN_OR_RETURN(auto id, c->InitProducerId());
    if (!id.ok()) return ErrorStatus(id.error, "INIT_PRODUCER_ID");
    p->accumulator_.SetProducer(id.body.producer_id, id.body.producer_epoch);
  }
  return p;
}

Producer::Producer(const ProducerOptions& o, std::string topic, std::unique_ptr<BrokerPool> pool)
    : options_(o),
      topic_(std::move(topic)),
      partitioner_(pool->partitions()),
      accumulator_(pool->partitions(), o.batch_size, o.linger_ms),
      pool_(std::move(pool)),
      busy_(pool_->partitions(), 0),
      backoff_until_(pool_->partitions(), 0) {}

Producer::~Producer() = default;

Status Producer::Send(std::optional<std::string_view> key, std::optional<std::string_view> value,
                      int32_t partition, int64_t timestamp_ms) {
  if (partition < 0) {
    partition = partitioner_.Partition(key);
  } else if (partition >= partitions()) {
    return ErrorStatus(static_cast<int16_t>(protocol::ErrorCode::kUnknownTopicOrPartition),
                       topic_ + "-" + std::to_string(partition));
  }
  accumulator_.Append(partition, key, value, timestamp_ms, SteadyMillis());
  // Back-pressure: wait for answers rather than queue without bound.
  while (accumulator_.buffered_bytes() > options_.buffer_memory && Pending()) {
    Status s = Poll(100);
    (void)s;  // failures are kept in first_error_
  }
  Status s = Poll(0);
  (void)s;
  return first_error_;
}

Status Producer::Poll(int timeout_ms) {
  const int64_t deadline = SteadyMillis() + timeout_ms;
  while (true) {
    int64_t now = SteadyMillis();
    accumulator_.CloseExpired(now, flushing_);
    SendReady(now);
    // A request unanswered for twice its timeout is taken as a lost connection.
    for (auto& [broker, link] : in_flight_) {
      bool late = false;
      for (auto& [corr, f] : link.requests) {
        late = late || now - f.sent_ms > 2 * int64_t{options_.request_timeout_ms} + 5000;
      }
      if (late) {
        ConnectionLost(broker, link.serial, Status::TimedOut("no PRODUCE response in time"), now);
        break;  // in_flight_ changed
      }
    }
    if (!Pending() || now >= deadline) break;
    // Sleep until a response arrives or the next timer (linger, backoff) or
    // the deadline.
    int64_t wake = std::min(deadline, accumulator_.NextLingerDeadline());
    for (int32_t p = 0; p < partitions(); p++) {
      if (!busy_[p] && !accumulator_.ready(p).empty()) {
        wake = std::min(wake, std::max(backoff_until_[p], now));
      }
    }
    ReceiveResponses(static_cast<int>(std::clamp<int64_t>(wake - now, 0, INT_MAX)));
  }
  return first_error_;
}

void Producer::ReceiveResponses(int wait_ms) {
  // Answers parked by a DESCRIBE_CLUSTER call on the same connection first.
  std::vector<int32_t> readable;
  std::vector<pollfd> fds;
  std::vector<int32_t> fd_broker;
  for (auto& [broker, link] : in_flight_) {
    if (link.requests.empty()) continue;
    if (!LinkAlive(broker, link) || link.client->connection().WaitReadable(0)) {
      readable.push_back(broker);  // a closed one is handled below
    } else {
      fds.push_back(pollfd{link.client->connection().fd(), POLLIN, 0});
      fd_broker.push_back(broker);
    }
  }
  if (readable.empty()) {
    if (fds.empty()) {
      if (wait_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
      return;
    }
    if (::poll(fds.data(), fds.size(), wait_ms) <= 0) return;
    for (size_t i = 0; i < fds.size(); i++) {
      if (fds[i].revents != 0) readable.push_back(fd_broker[i]);
    }
  }
  for (int32_t broker : readable) {
    // Everything that has arrived; HandleResponse may end the link.
    for (bool first = true;; first = false) {
      auto it = in_flight_.find(broker);
      if (it == in_flight_.end() || it->second.requests.empty()) break;
      Link& link = it->second;
      if (!LinkAlive(broker, link)) {
        ConnectionLost(broker, link.serial, Status::Unavailable("connection closed"),
                       SteadyMillis());
        break;
      }
      if (!first && !link.client->connection().WaitReadable(0)) break;
      auto r = link.client->connection().Receive(options_.request_timeout_ms);
      if (!r.ok()) {
        ConnectionLost(broker, link.serial, r.status(), SteadyMillis());
        break;
      }
      HandleResponse(broker, std::move(r).value());
    }
  }
}

Status Producer::Flush(int timeout_ms) {
  const int64_t deadline = SteadyMillis() + timeout_ms;
  flushing_ = true;
  while (Pending()) {
    int64_t left = deadline - SteadyMillis();
    if (left <= 0) break;
    Status s = Poll(static_cast<int>(left));
    (void)s;
  }
  flushing_ = false;
  Status out = first_error_;
  if (out.ok() && Pending()) out = Status::TimedOut("flush: records still unacknowledged");
  first_error_ = Status::OK();
  return out;
}

void Producer::SendReady(int64_t now) {
  for (int32_t p = 0; p < partitions(); p++) {
    if (busy_[p] || accumulator_.ready(p).empty() || backoff_until_[p] > now) continue;
    SendPartition(p, now);
  }
}

void Producer::SendPartition(int32_t p, int64_t now) {
  auto& ready = accumulator_.ready(p);
  InFlight f;
  f.partition = p;
  f.sent_ms = now;
  size_t bytes = 0;
  // Idempotent: one batch per request, as Kafka's producers, so a resent
  // batch is never mixed with new ones (the broker refuses such a request).
  const size_t max_batches = options_.enable_idempotence ? 1 : SIZE_MAX;
  while (!ready.empty() && f.batches.size() < max_batches &&
         (f.batches.empty() || bytes + ready.front().bytes.size() <= options_.max_request_bytes)) {
    bytes += ready.front().bytes.size();
    f.batches.push_back(std::move(ready.front()));
    ready.pop_front();
  }
  for (auto& b : f.batches) {
    b.attempts++;
    if (b.first_sent_ms < 0) b.first_sent_ms = now;
  }
  // Whom to send to: a failed lookup or connect counts as an attempt. The
  // topic gone fails the batches on a single node; in a cluster the broker
  // asked may just not have heard of it yet (restarted): retried until the
  // delivery timeout, as Kafka's producer does.
  Status s = pool_->RefreshIfStale(topic_, now);
  if (s.IsNotFound() && !pool_->cluster_mode()) {
    for (auto& b : f.batches) {
      accumulator_.Release(b.bytes.size());
      Report(b, -1, s);
    }
    return;
  }
  const int32_t leader = pool_->Leader(p);
  if (leader == -1) {
    if (s.ok()) {
      s = ErrorStatus(static_cast<int16_t>(protocol::ErrorCode::kLeaderNotAvailable),
                      "produce to " + topic_ + "-" + std::to_string(p));
    }
    RetryOrFail(p, std::move(f.batches), s, now);
    return;
  }
  auto client = pool_->Get(leader);
  if (!client.ok()) {
    pool_->MarkStale();
    RetryOrFail(p, std::move(f.batches), client.status(), now);
    return;
  }
  std::span<const uint8_t> records;
  if (f.batches.size() == 1) {
    records = f.batches[0].bytes;
  } else {
    request_records_.clear();
    for (auto& b : f.batches) {
      request_records_.insert(request_records_.end(), b.bytes.begin(), b.bytes.end());
    }
    records = request_records_;
  }
  auto body = Client::EncodeProduce(topic_, p, options_.acks, records,
                                    options_.request_timeout_ms);
  // Requests still in flight on a connection the pool has replaced are lost.
  if (auto it = in_flight_.find(leader); it != in_flight_.end() && !it->second.requests.empty() &&
                                         !LinkAlive(leader, it->second)) {
    ConnectionLost(leader, it->second.serial, Status::Unavailable("connection closed"), now);
  }
  auto corr = client.value()->connection().Send(static_cast<uint16_t>(protocol::ApiKey::kProduce),
                                                body);
  if (!corr.ok()) {
    // Put this request's batches back first, then everything in flight there.
    RetryOrFail(p, std::move(f.batches), corr.status(), now);
    ConnectionLost(leader, pool_->Serial(leader), corr.status(), now);
    return;
  }
  if (options_.acks == 0) {
    for (auto& b : f.batches) {
      accumulator_.Release(b.bytes.size());
      Report(b, -1, Status::OK());
    }
    return;
  }
  busy_[p] = 1;
  Link& link = in_flight_[leader];
  link.client = client.value();
  link.serial = pool_->Serial(leader);
  link.requests.emplace(corr.value(), std::move(f));
  in_flight_count_++;
}

void Producer::HandleResponse(int32_t broker, Response r) {
  Link& link = in_flight_[broker];
  auto it = link.requests.find(r.header.correlation_id);
  if (it == link.requests.end()) return;  // a DESCRIBE_CLUSTER answer after its timeout
  InFlight f = std::move(it->second);
  link.requests.erase(it);
  in_flight_count_--;
  busy_[f.partition] = 0;
  const int64_t now = SteadyMillis();
  const std::string where = "produce to " + topic_ + "-" + std::to_string(f.partition);
  if (r.error_code != 0) {
    Status s = ErrorStatus(r.error_code, where);
    // In a cluster a broker may not have heard of a new topic yet (or it
    // was deleted): ask again; the answer decides.
    const bool unknown_in_cluster =
        pool_->cluster_mode() &&
        r.error_code == static_cast<int16_t>(protocol::ErrorCode::kUnknownTopicOrPartition);
    if (IsLeadershipError(r.error_code) || unknown_in_cluster) pool_->MarkStale();
    if (IsRetriable(r.error_code) || unknown_in_cluster) {
      RetryOrFail(f.partition, std::move(f.batches), s, now);
    } else {
      for (auto& b : f.batches) {
        accumulator_.Release(b.bytes.size());
        Report(b, -1, s);
      }
    }
    return;
  }
  protocol::ProduceResponse pr;
  protocol::ByteReader rd = r.reader();
  if (!protocol::Decode(&rd, &pr)) {
    RetryOrFail(f.partition, std::move(f.batches), Status::Corruption("malformed PRODUCE response"),
                now);
    ConnectionLost(broker, link.serial, Status::Corruption("malformed PRODUCE response"), now);
    return;
  }
  int64_t offset = pr.base_offset;
  for (auto& b : f.batches) {
    accumulator_.Release(b.bytes.size());
    Report(b, offset, Status::OK());
    offset += b.records;
  }
}

void Producer::RetryOrFail(int32_t partition, std::vector<ProducerBatch> batches,
                           const Status& why, int64_t now) {
  if (batches.empty()) return;
  const ProducerBatch& first = batches.front();
  const bool expired =
      first.first_sent_ms >= 0 && now - first.first_sent_ms >= options_.delivery_timeout_ms;
  if (first.attempts > options_.retries || expired) {
    for (auto& b : batches) {
      accumulator_.Release(b.bytes.size());
      Report(b, -1, why);
    }
    return;
  }
  last_retry_ = why;
  backoff_until_[partition] = now + options_.retry_backoff_ms;
  accumulator_.Requeue(partition, std::move(batches));
}

std::string Producer::State() const {
  std::string out = fmt::format("delivered {} failed {} in_flight {} buffered {} B;",
                                records_delivered_, records_failed_, in_flight_count_,
                                accumulator_.buffered_bytes());
  for (int32_t p = 0; p < partitions(); p++) {
    out += fmt::format(" p{} leader {}{};", p, pool_->Leader(p), busy_[p] ? " busy" : "");
  }
  out += " metadata: " + pool_->last_refresh().ToString();
  out += "; last retry: " + (last_retry_.ok() ? std::string("none") : last_retry_.ToString());
  return out;
}

void Producer::ConnectionLost(int32_t broker, uint64_t serial, const Status& why, int64_t now) {
  if (serial != 0 && pool_->Serial(broker) == serial) pool_->Drop(broker);
  pool_->MarkStale();
  auto it = in_flight_.find(broker);
  if (it == in_flight_.end() || it->second.serial != serial) return;
  // One request per partition at most, so requeueing each keeps every
  // partition's order.
  for (auto& [corr, f] : it->second.requests) {
    busy_[f.partition] = 0;
    in_flight_count_--;
    RetryOrFail(f.partition, std::move(f.batches), why, now);
  }
  in_flight_.erase(it);
}

void Producer::Report(const ProducerBatch& b, int64_t base_offset, const Status& s) {
  if (s.ok()) {
    records_delivered_ += b.records;
  } else {
    records_failed_ += b.records;
    if (first_error_.ok()) first_error_ = s;
  }
  if (callback_) callback_(DeliveryReport{b.partition, base_offset, b.records, s});
}

}  // namespace sentry::client
