// Error: the broker core's own error vocabulary, protocol-neutral. Each front
// end maps an Errc to its wire code in one place (the native protocol in
// frontend/native_errors.cc); storage and pipeline results (Status) become an
// Errc in one place too (FromStatus below).
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace sentry::broker {

enum class Errc : uint8_t {
  kNone = 0,
  kUnknownTopicOrPartition,
  kInvalidTopic,
  kInvalidPartitions,
  kInvalidConfig,
  kTopicAlreadyExists,
  kRecordTooLarge,
  kCorruptRecord,
  kOffsetOutOfRange,
  kTimedOut,
  kStorage,         // disk error, disk full, partition offline
  kInvalidRequest,  // well-formed but not allowed (e.g. acks=2)
  kInternal,        // a bug or an unexpected exception
  kOutOfOrderSequence,  // idempotent producer: the batch does not follow the last one
  kProducerFenced,      // idempotent producer: an older epoch than the current one
  kInvalidRecord,       // a record the topic cannot take (no key on a compacted topic)
  // Cluster mode (docs/cluster.md):
  kNotLeader,             // this broker does not lead the partition (clients refresh metadata)
  kLeaderNotAvailable,    // no leader at the moment (an election is under way, or offline)
  kNotEnoughReplicas,     // acks=-1 and the ISR is smaller than min.insync.replicas
  kFencedLeaderEpoch,     // the asker's leader epoch is older than the partition's
  kUnknownLeaderEpoch,    // the asker's leader epoch is newer than this broker knows
  kInvalidReplicationFactor,
  kClusterUnavailable,    // the metadata store (etcd) does not answer
  kNotCoordinator,        // the group lives on the leader of its __consumer_offsets partition
};

struct Error {
  Errc code = Errc::kNone;
  std::string message;  // for the log and for tools
  bool ok() const { return code == Errc::kNone; }
};

// A storage or pipeline Status as the broker reports it.
Errc FromStatus(const Status& s);
const char* ErrcName(Errc e);

}  // namespace sentry::broker
