// client::Producer: batches records per partition and sends them to one
// topic with acks -1/0/1.
//
// Records are partitioned like the broker does (Partitioner: murmur2 of the
// key, round-robin without one) and collected by a RecordAccumulator up to
// `batch_size` bytes or `linger_ms`. Each PRODUCE request carries the closed
// batches of ONE partition, up to `max_request_bytes`; the broker appends them
// all or none. Requests for different partitions are pipelined on one
// connection; each partition has at most one request in flight, so a retried
// request can never be overtaken by a later one: records of a partition keep
// their order even across REQUEST_TIMED_OUT / KAFKA_STORAGE_ERROR retries and
// reconnects. (Delivery is at-least-once: a retry after a timeout or a lost
// connection can duplicate records the broker had already appended.)
//
// Threads: one thread at a time. There is no background thread: Send(),
// Poll() and Flush() drive the network, and linger expiry is acted on when
// one of them runs, so a caller that stops calling must Flush().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/client.h"
#include "client/partitioner.h"
#include "client/record_accumulator.h"

namespace sentry::client {

struct ProducerOptions {
  std::string host = "127.0.0.1";
  int port = 7070;
  int16_t acks = -1;
  size_t batch_size = 64 * 1024;         // batch.size
  int64_t linger_ms = 5;                 // linger.ms
  size_t max_request_bytes = 1 << 20;    // closed batches of one partition per request
  size_t buffer_memory = 32 << 20;       // Send() waits for acks above this
  int retries = 5;                       // resends of one batch (and reconnect attempts)
  int64_t retry_backoff_ms = 100;
  int32_t request_timeout_ms = 30000;    // PRODUCE timeout_ms; no answer in 2x = lost
  int connect_timeout_ms = 5000;
};

// The outcome of one batch. base_offset is -1 with acks=0 and on failure.
struct DeliveryReport {
  int32_t partition = 0;
  int64_t base_offset = -1;
  int32_t records = 0;
  Status status;
};

class Producer {
 public:
  using DeliveryCallback = std::function<void(const DeliveryReport&)>;

  // Connects and reads the topic's partition count (NotFound when the topic
  // does not exist).
  static Result<std::unique_ptr<Producer>> Create(const ProducerOptions& options,
                                                  const std::string& topic);
  ~Producer();

  // Queues one record; partition -1 lets the partitioner choose. Sends what
  // is ready without blocking unless more than buffer_memory is queued.
  // Returns the first delivery failure seen since the last Flush, if any.
  Status Send(std::optional<std::string_view> key, std::optional<std::string_view> value,
              int32_t partition = -1, int64_t timestamp_ms = -1);
  // Drives I/O for up to timeout_ms (returns early once nothing is pending).
  Status Poll(int timeout_ms);
  // Sends everything queued and waits for every answer. Returns the first
  // delivery failure since the last Flush (and forgets it).
  Status Flush(int timeout_ms = 120000);

  void set_delivery_callback(DeliveryCallback cb) { callback_ = std::move(cb); }
  int32_t partitions() const { return partitioner_.partitions(); }
  int64_t records_delivered() const { return records_delivered_; }
  int64_t records_failed() const { return records_failed_; }

 private:
  struct InFlight {
    int32_t partition = 0;
    int64_t sent_ms = 0;
    std::vector<ProducerBatch> batches;
  };

  Producer(const ProducerOptions& o, std::string topic, int32_t partitions,
           std::unique_ptr<Client> client);
  bool Pending() const { return !in_flight_.empty() || !accumulator_.empty(); }
  void SendReady(int64_t now);
  void HandleResponse(Response r);
  void ConnectionLost(const Status& why, int64_t now);
  // Requeues batches whose request failed retriably, or fails them past retries.
  void RetryOrFail(int32_t partition, std::vector<ProducerBatch> batches, const Status& why,
                   int64_t now);
  void Report(const ProducerBatch& b, int64_t base_offset, const Status& s);
  void FailEverything(const Status& why);
  void TryReconnect(int64_t now);

  ProducerOptions options_;
  std::string topic_;
  Partitioner partitioner_;
  RecordAccumulator accumulator_;
  std::unique_ptr<Client> client_;  // null while disconnected
  std::map<uint32_t, InFlight> in_flight_;  // by correlation id
  std::vector<char> busy_;                  // partition has a request in flight
  std::vector<int64_t> backoff_until_;      // per partition, after a retriable error
  int64_t reconnect_at_ = 0;
  int reconnect_failures_ = 0;
  bool flushing_ = false;
  Status first_error_;
  DeliveryCallback callback_;
  int64_t records_delivered_ = 0;
  int64_t records_failed_ = 0;
  std::vector<uint8_t> request_records_;  // scratch: concatenated batches
};

}  // namespace sentry::client
