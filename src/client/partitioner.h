// client::Partitioner: picks the partition of a record the way the broker
// does for partition -1 (docs/protocol.md): murmur2 of the key, Kafka's default
// partitioner, so a keyed record lands on the same partition whichever side
// chooses; records without a key go round-robin, one record at a time.
//
// Threads: one thread at a time (the round-robin counter is not atomic).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/murmur2.h"

namespace sentry::client {

class Partitioner {
 public:
  explicit Partitioner(int32_t partitions) : partitions_(partitions > 0 ? partitions : 1) {}

  int32_t Partition(std::optional<std::string_view> key) {
    if (key) {
      return KafkaPartitionForKey(reinterpret_cast<const uint8_t*>(key->data()), key->size(),
                                  partitions_);
    }
    int32_t p = next_;
    next_ = (next_ + 1) % partitions_;
    return p;
  }
  int32_t partitions() const { return partitions_; }

 private:
  int32_t partitions_;
  int32_t next_ = 0;
};

}  // namespace sentry::client
