#include "client/producer.h"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <climits>
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
  SENTRY_ASSIGN_OR_RETURN(auto c, Client::Connect(options.host, options.port, options.connect_timeout_ms));
  Admin admin(c.get());
  SENTRY_ASSIGN_OR_RETURN(auto n, admin.PartitionCount(topic));
  if (n < 1) return Status::NotFound("topic '" + topic + "' has no partitions");
  return std::unique_ptr<Producer>(new Producer(options, topic, n, std::move(c)));
}

Producer::Producer(const ProducerOptions& o, std::string topic, int32_t partitions,
                   std::unique_ptr<Client> client)
    : options_(o),
      topic_(std::move(topic)),
      partitioner_(partitions),
      accumulator_(partitions, o.batch_size, o.linger_ms),
      client_(std::move(client)),
      busy_(partitions, 0),
      backoff_until_(partitions, 0) {}

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
    if (!client_) TryReconnect(now);
    if (client_) SendReady(now);
    // A request unanswered for twice its timeout is taken as a lost connection.
    if (client_) {
      for (auto& [corr, f] : in_flight_) {
        if (now - f.sent_ms > 2 * int64_t{options_.request_timeout_ms} + 5000) {
          ConnectionLost(Status::TimedOut("no PRODUCE response in time"), now);
          break;
        }
      }
    }
    if (!Pending() || now >= deadline) break;
    // Sleep until a response arrives or the next timer (linger, backoff,
    // reconnect) or the deadline.
    int64_t wake = std::min(deadline, accumulator_.NextLingerDeadline());
    for (int32_t p = 0; p < partitions(); p++) {
      if (!busy_[p] && !accumulator_.ready(p).empty()) {
        wake = std::min(wake, std::max(backoff_until_[p], now));
      }
    }
    if (!client_) wake = std::min(wake, reconnect_at_);
    const int wait = static_cast<int>(std::clamp<int64_t>(wake - now, 0, INT_MAX));
    if (client_ && !in_flight_.empty()) {
      if (client_->connection().WaitReadable(wait)) {
        do {
          auto r = client_->connection().Receive(options_.request_timeout_ms);
          if (!r.ok()) {
            ConnectionLost(r.status(), SteadyMillis());
            break;
          }
          HandleResponse(std::move(r).value());
        } while (client_ && !in_flight_.empty() && client_->connection().WaitReadable(0));
      }
    } else if (wait > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(wait));
    }
  }
  return first_error_;
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
  for (int32_t p = 0; p < partitions() && client_; p++) {
    auto& ready = accumulator_.ready(p);
    if (busy_[p] || ready.empty() || backoff_until_[p] > now) continue;
    InFlight f;
    f.partition = p;
    f.sent_ms = now;
    size_t bytes = 0;
    while (!ready.empty() &&
           (f.batches.empty() || bytes + ready.front().bytes.size() <= options_.max_request_bytes)) {
      bytes += ready.front().bytes.size();
      f.batches.push_back(std::move(ready.front()));
      ready.pop_front();
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
    for (auto& b : f.batches) b.attempts++;
    auto body = Client::EncodeProduce(topic_, p, options_.acks, records,
                                      options_.request_timeout_ms);
    auto corr = client_->connection().Send(static_cast<uint16_t>(protocol::ApiKey::kProduce), body);
    if (!corr.ok()) {
      // Put this request's batches back first, then everything in flight.
      RetryOrFail(p, std::move(f.batches), corr.status(), now);
      ConnectionLost(corr.status(), now);
      return;
    }
    if (options_.acks == 0) {
      for (auto& b : f.batches) {
        accumulator_.Release(b.bytes.size());
        Report(b, -1, Status::OK());
      }
      continue;
    }
    busy_[p] = 1;
    in_flight_.emplace(corr.value(), std::move(f));
  }
}

void Producer::HandleResponse(Response r) {
  auto it = in_flight_.find(r.header.correlation_id);
  if (it == in_flight_.end()) return;  // not ours (cannot happen on a private connection)
  InFlight f = std::move(it->second);
  in_flight_.erase(it);
  busy_[f.partition] = 0;
  const int64_t now = SteadyMillis();
  const std::string where = "produce to " + topic_ + "-" + std::to_string(f.partition);
  if (r.error_code != 0) {
    Status s = ErrorStatus(r.error_code, where);
    if (IsRetriable(r.error_code)) {
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
    ConnectionLost(Status::Corruption("malformed PRODUCE response"), now);
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
  if (batches.front().attempts > options_.retries) {
    for (auto& b : batches) {
      accumulator_.Release(b.bytes.size());
      Report(b, -1, why);
    }
    return;
  }
  backoff_until_[partition] = now + options_.retry_backoff_ms;
  accumulator_.Requeue(partition, std::move(batches));
}

void Producer::ConnectionLost(const Status& why, int64_t now) {
  client_.reset();
  // One request per partition at most, so requeueing each keeps every
  // partition's order.
  for (auto& [corr, f] : in_flight_) {
    busy_[f.partition] = 0;
    RetryOrFail(f.partition, std::move(f.batches), why, now);
  }
  in_flight_.clear();
  reconnect_at_ = now;  // first attempt at once, then with backoff
}

void Producer::TryReconnect(int64_t now) {
  if (now < reconnect_at_) return;
  auto c = Client::Connect(options_.host, options_.port, options_.connect_timeout_ms);
  if (c.ok()) {
    client_ = std::move(c).value();
    reconnect_failures_ = 0;
    return;
  }
  if (++reconnect_failures_ > options_.retries) {
    FailEverything(c.status());
    reconnect_failures_ = 0;
  }
  reconnect_at_ = now + options_.retry_backoff_ms;
}

void Producer::FailEverything(const Status& why) {
  accumulator_.CloseExpired(0, /*flush=*/true);
  for (int32_t p = 0; p < partitions(); p++) {
    auto& q = accumulator_.ready(p);
    while (!q.empty()) {
      accumulator_.Release(q.front().bytes.size());
      Report(q.front(), -1, why);
      q.pop_front();
    }
  }
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
