// client::Producer: batches records per partition and sends them to one
// topic with acks -1/0/1, each partition's batches to its leader.
//
// Records are partitioned like the broker does (Partitioner: murmur2 of the
// key, round-robin without one) and collected by a RecordAccumulator up to
// `batch_size` bytes or `linger_ms`. Each PRODUCE request carries the closed
// batches of ONE partition, up to `max_request_bytes`; the broker appends them
// all or none. A BrokerPool says which broker leads each partition (one
// connection per leader; on a single-node broker, just the one); requests for
// different partitions are pipelined. Each partition has at most one request
// in flight, so a retried request can never be overtaken by a later one:
// records of a partition keep their order across retries, reconnects and
// leader changes. NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE and a lost
// connection make it ask the cluster again who leads (DESCRIBE_CLUSTER) and
// resend there. A batch fails after `retries` resends or `delivery_timeout_ms`
// after its first send, whichever comes first (Kafka's producer defaults).
// Delivery is at-least-once: a retry after a timeout, a lost connection or a
// failover can duplicate records the broker had already appended; with
// enable_idempotence the broker recognises the resent batch instead.
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

#include "client/broker_pool.h"
#include "client/client.h"
#include "client/partitioner.h"
#include "client/record_accumulator.h"

namespace sentry::client {

struct ProducerOptions {
  std::string host = "127.0.0.1";
  int port = 7070;
  Security security;  // TLS (native.tls.port) and SASL (native.sasl); empty: neither
  int16_t acks = -1;
  size_t batch_size = 64 * 1024;         // batch.size
  int64_t linger_ms = 5;                 // linger.ms
  size_t max_request_bytes = 1 << 20;    // closed batches of one partition per request
  size_t buffer_memory = 32 << 20;       // Send() waits for acks above this
  int retries = INT32_MAX;               // resends of one batch
  int64_t retry_backoff_ms = 100;
  int64_t delivery_timeout_ms = 120000;  // from a batch's first send to its failure
  // enable.idempotence: a producer id from INIT_PRODUCER_ID and sequence
  // numbers in every batch, so a resend (after a timeout, a lost connection
  // or a failover) is stored once: exactly once per partition, in order.
  // Off by default (the native client's choice, docs/protocol.md). A batch
  // that fails for good leaves a gap in its partition's sequence: that
  // partition's later batches fail too (OUT_OF_ORDER_SEQUENCE_NUMBER); make a
  // new producer then (Kafka's producer bumps its epoch instead).
  bool enable_idempotence = false;
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
  // One line for operators and tests: counts, each partition's leader, the
  // last metadata answer and the last retriable error (why nothing moves
  // while retries last, before delivery_timeout_ms fails the records).
  std::string State() const;

 private:
  struct InFlight {
    int32_t partition = 0;
    int64_t sent_ms = 0;
    std::vector<ProducerBatch> batches;
  };
  // The requests in flight on one broker's connection, by correlation id.
  struct Link {
    Client* client = nullptr;  // the connection they were sent on
    uint64_t serial = 0;       // its BrokerPool::Serial
    std::map<uint32_t, InFlight> requests;
  };

  Producer(const ProducerOptions& o, std::string topic, std::unique_ptr<BrokerPool> pool);
  bool Pending() const { return in_flight_count_ > 0 || !accumulator_.empty(); }
  void SendReady(int64_t now);
  // Sends the next request of partition p to its leader.
  void SendPartition(int32_t p, int64_t now);
  void HandleResponse(int32_t broker, Response r);
  // Drives the connections with requests in flight for up to wait_ms.
  void ReceiveResponses(int wait_ms);
  // The broker's connection `serial` failed (the pool closes it if still
  // open); the requests sent on it go back to their partitions.
  void ConnectionLost(int32_t broker, uint64_t serial, const Status& why, int64_t now);
  // True while the pool still holds the connection the link's requests were sent on.
  bool LinkAlive(int32_t broker, const Link& link) const {
    return link.serial != 0 && pool_->Serial(broker) == link.serial;
  }
  // Requeues batches whose request failed retriably, or fails them past
  // retries or the delivery timeout.
  void RetryOrFail(int32_t partition, std::vector<ProducerBatch> batches, const Status& why,
                   int64_t now);
  void Report(const ProducerBatch& b, int64_t base_offset, const Status& s);

  ProducerOptions options_;
  std::string topic_;
  Partitioner partitioner_;
  RecordAccumulator accumulator_;
  std::unique_ptr<BrokerPool> pool_;
  std::map<int32_t, Link> in_flight_;       // by broker
  size_t in_flight_count_ = 0;
  std::vector<char> busy_;                  // partition has a request in flight
  std::vector<int64_t> backoff_until_;      // per partition, after a retriable error
  bool flushing_ = false;
  Status first_error_;
  Status last_retry_;  // the error behind the last retry (State())
  DeliveryCallback callback_;
  int64_t records_delivered_ = 0;
  int64_t records_failed_ = 0;
  std::vector<uint8_t> request_records_;  // scratch: concatenated batches
};

}  // namespace sentry::client
