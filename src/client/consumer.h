// client::Consumer: reads one topic (all partitions or a chosen few) from
// earliest / latest / an offset / a timestamp, with long-poll fetches, and
// commits its positions for a group.
//
// One FETCH per partition is kept in flight, on the connection to that
// partition's leader (a BrokerPool says which broker leads; a single-node
// broker leads everything). Answers for different partitions come back in any
// order and are matched by broker and correlation id. In a cluster,
// NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE and a lost connection make it
// ask who leads now and fetch there, without ending the poll; committed
// offsets live on the group coordinator (BrokerPool::Coordinator). A fetch answer starts with the batch holding the requested
// offset, which may begin earlier: records below the position are skipped
// (DecodeFetchedRecords).
//
// Threads: one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "client/broker_pool.h"
#include "client/client.h"

namespace sentry::client {

// Where a partition starts when the group has nothing committed.
struct StartPosition {
  enum class Kind { kEarliest, kLatest, kOffset, kTimestamp };
  Kind kind = Kind::kEarliest;
  int64_t value = 0;  // the offset, or the timestamp in ms

  // "earliest", "latest", "OFFSET" or "@UNIX_MS".
  static Result<StartPosition> Parse(std::string_view s);
};

struct ConsumerRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
};

struct ConsumerOptions {
  std::string host = "127.0.0.1";
  int port = 7070;
  Security security;  // TLS (native.tls.port) and SASL (native.sasl); empty: neither
  std::string group;             // empty: no committed offsets are read or written
  int32_t max_bytes = 1 << 20;   // per fetch
  int32_t max_wait_ms = 500;     // long-poll wait when a partition is caught up
  int connect_timeout_ms = 5000;
};

// Appends the records of `bytes` (whole batches from FETCH) with offset >=
// `from_offset` to `out`; returns the offset after the last batch decoded
// (from_offset when none). A trailing partial batch is ignored.
Result<int64_t> DecodeFetchedRecords(int32_t partition, std::span<const uint8_t> bytes,
                                     int64_t from_offset, std::vector<ConsumerRecord>* out);

class Consumer {
 public:
  // partitions empty = all. With a group, a partition starts at its committed
  // offset when there is one, otherwise at `start`.
  static Result<std::unique_ptr<Consumer>> Create(const ConsumerOptions& options,
                                                  const std::string& topic,
                                                  std::vector<int32_t> partitions,
                                                  StartPosition start);
  ~Consumer();

  // Waits up to timeout_ms for records; empty when none arrived. Errors
  // (OFFSET_OUT_OF_RANGE; on a single node also a lost connection) end the
  // poll.
  Result<std::vector<ConsumerRecord>> Poll(int timeout_ms);
  // Commits every partition's position (the next offset to read) for the group.
  Status Commit();
  Status Seek(int32_t partition, int64_t offset);

  const std::vector<int32_t>& partitions() const { return partitions_; }
  int64_t position(int32_t partition) const { return state_.at(partition).position; }
  // High watermark from the last fetch answer (-1 before one).
  int64_t high_watermark(int32_t partition) const {
    return state_.at(partition).high_watermark;
  }

 private:
  struct PartitionState {
    int64_t position = 0;
    int64_t high_watermark = -1;
    uint32_t fetch_corr = 0;       // 0: no fetch in flight
    int32_t fetch_broker = 0;      // where it went
    uint64_t fetch_serial = 0;     // on which connection (BrokerPool::Serial)
    int64_t fetch_offset = -1;     // the offset that fetch asked for
    int64_t retry_at = 0;          // no fetch before (steady ms), after a leader moved
  };
  static constexpr int kRetryBackoffMs = 100;
  Consumer(ConsumerOptions o, std::string topic, std::unique_ptr<BrokerPool> pool)
      : options_(std::move(o)), topic_(std::move(topic)), pool_(std::move(pool)) {}
  Status SendFetches(int max_wait_ms);
  // Waits up to wait_ms for an answer; the broker it came from, or nullopt.
  std::optional<int32_t> WaitAnswer(int wait_ms);
  // Fetches in flight to `broker` are forgotten (sent again).
  void ForgetFetches(int32_t broker);
  Result<Client*> Coordinator();

  ConsumerOptions options_;
  std::string topic_;
  std::unique_ptr<BrokerPool> pool_;
  std::vector<int32_t> partitions_;
  std::map<int32_t, PartitionState> state_;
};

}  // namespace sentry::client
