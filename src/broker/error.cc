#include "broker/error.h"

namespace sentry::broker {

Errc FromStatus(const Status& s) {
  switch (s.code()) {
    case Status::Code::kOk: return Errc::kNone;
    case Status::Code::kNotFound: return Errc::kUnknownTopicOrPartition;
    case Status::Code::kTooLarge: return Errc::kRecordTooLarge;
    case Status::Code::kCorruption: return Errc::kCorruptRecord;
    case Status::Code::kOutOfRange: return Errc::kOffsetOutOfRange;
    case Status::Code::kTimedOut: return Errc::kTimedOut;
    case Status::Code::kIoError:
    case Status::Code::kNoSpace:
    case Status::Code::kFull:
    case Status::Code::kUnavailable: return Errc::kStorage;
    case Status::Code::kInvalidArgument: return Errc::kInvalidRequest;
    case Status::Code::kOutOfOrderSequence: return Errc::kOutOfOrderSequence;
    case Status::Code::kProducerFenced: return Errc::kProducerFenced;
    case Status::Code::kNotLeader: return Errc::kNotLeader;
    case Status::Code::kAlreadyExists:
    case Status::Code::kPermissionDenied:
    case Status::Code::kNotSupported: return Errc::kInternal;
  }
  return Errc::kInternal;
}

const char* ErrcName(Errc e) {
  switch (e) {
    case Errc::kNone: return "NONE";
    case Errc::kUnknownTopicOrPartition: return "UNKNOWN_TOPIC_OR_PARTITION";
    case Errc::kInvalidTopic: return "INVALID_TOPIC";
    case Errc::kInvalidPartitions: return "INVALID_PARTITIONS";
    case Errc::kInvalidConfig: return "INVALID_CONFIG";
    case Errc::kTopicAlreadyExists: return "TOPIC_ALREADY_EXISTS";
    case Errc::kRecordTooLarge: return "RECORD_TOO_LARGE";
    case Errc::kCorruptRecord: return "CORRUPT_RECORD";
    case Errc::kOffsetOutOfRange: return "OFFSET_OUT_OF_RANGE";
    case Errc::kTimedOut: return "TIMED_OUT";
    case Errc::kStorage: return "STORAGE_ERROR";
    case Errc::kInvalidRequest: return "INVALID_REQUEST";
    case Errc::kInternal: return "INTERNAL";
    case Errc::kOutOfOrderSequence: return "OUT_OF_ORDER_SEQUENCE";
    case Errc::kProducerFenced: return "PRODUCER_FENCED";
    case Errc::kInvalidRecord: return "INVALID_RECORD";
    case Errc::kNotLeader: return "NOT_LEADER_OR_FOLLOWER";
    case Errc::kLeaderNotAvailable: return "LEADER_NOT_AVAILABLE";
    case Errc::kNotEnoughReplicas: return "NOT_ENOUGH_REPLICAS";
    case Errc::kFencedLeaderEpoch: return "FENCED_LEADER_EPOCH";
    case Errc::kUnknownLeaderEpoch: return "UNKNOWN_LEADER_EPOCH";
    case Errc::kInvalidReplicationFactor: return "INVALID_REPLICATION_FACTOR";
    case Errc::kClusterUnavailable: return "CLUSTER_UNAVAILABLE";
    case Errc::kNotCoordinator: return "NOT_COORDINATOR";
  }
  return "UNKNOWN";
}

}  // namespace sentry::broker
