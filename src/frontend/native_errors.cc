#include "frontend/native_errors.h"

#include "metrics/thread_metrics.h"

namespace sentry::frontend {

using broker::Errc;
using protocol::ErrorCode;

namespace {

ErrorCode Map(Errc e) {
  switch (e) {
    case Errc::kNone: return ErrorCode::kNone;
    case Errc::kUnknownTopicOrPartition: return ErrorCode::kUnknownTopicOrPartition;
    case Errc::kInvalidTopic: return ErrorCode::kInvalidTopic;
    case Errc::kInvalidPartitions: return ErrorCode::kInvalidPartitions;
    case Errc::kInvalidConfig: return ErrorCode::kInvalidConfig;
    case Errc::kTopicAlreadyExists: return ErrorCode::kTopicAlreadyExists;
    case Errc::kRecordTooLarge: return ErrorCode::kMessageTooLarge;
    case Errc::kCorruptRecord: return ErrorCode::kCorruptMessage;
    case Errc::kOffsetOutOfRange: return ErrorCode::kOffsetOutOfRange;
    case Errc::kTimedOut: return ErrorCode::kRequestTimedOut;
    case Errc::kStorage: return ErrorCode::kKafkaStorageError;
    case Errc::kInvalidRequest: return ErrorCode::kInvalidRequest;
    case Errc::kInternal: return ErrorCode::kUnknownServerError;
    case Errc::kInvalidRecord: return ErrorCode::kInvalidRecord;
    case Errc::kNotLeader: return ErrorCode::kNotLeaderOrFollower;
    case Errc::kLeaderNotAvailable: return ErrorCode::kLeaderNotAvailable;
    case Errc::kNotEnoughReplicas: return ErrorCode::kNotEnoughReplicas;
    case Errc::kInvalidReplicationFactor: return ErrorCode::kInvalidReplicationFactor;
    case Errc::kClusterUnavailable: return ErrorCode::kRequestTimedOut;
    case Errc::kNotCoordinator: return ErrorCode::kNotCoordinator;
    // Leader epochs travel only between brokers, on the Kafka protocol.
    case Errc::kFencedLeaderEpoch:
    case Errc::kUnknownLeaderEpoch: return ErrorCode::kNotLeaderOrFollower;
    // The native protocol has no idempotent producer (docs/protocol.md): a
    // native client that set producer ids in its batches made a bad request.
    case Errc::kOutOfOrderSequence: return ErrorCode::kOutOfOrderSequence;
    case Errc::kProducerFenced: return ErrorCode::kInvalidProducerEpoch;
  }
  return ErrorCode::kUnknownServerError;
}

ErrorCode Map(group::GroupErrc e) {
  using group::GroupErrc;
  switch (e) {
    case GroupErrc::kNone: return ErrorCode::kNone;
    case GroupErrc::kInvalidGroupId: return ErrorCode::kInvalidGroupId;
    case GroupErrc::kCoordinatorNotAvailable: return ErrorCode::kCoordinatorNotAvailable;
    case GroupErrc::kUnknownMemberId: return ErrorCode::kUnknownMemberId;
    case GroupErrc::kIllegalGeneration: return ErrorCode::kIllegalGeneration;
    case GroupErrc::kRebalanceInProgress: return ErrorCode::kRebalanceInProgress;
    case GroupErrc::kFencedInstanceId: return ErrorCode::kFencedInstanceId;
    case GroupErrc::kInconsistentGroupProtocol: return ErrorCode::kInconsistentGroupProtocol;
    case GroupErrc::kGroupIdNotFound: return ErrorCode::kGroupIdNotFound;
    case GroupErrc::kGroupMaxSizeReached: return ErrorCode::kGroupMaxSizeReached;
    case GroupErrc::kStaleMemberEpoch: return ErrorCode::kStaleMemberEpoch;
    case GroupErrc::kUnreleasedInstanceId: return ErrorCode::kUnreleasedInstanceId;
    case GroupErrc::kNotCoordinator: return ErrorCode::kNotCoordinator;
    // Kafka-protocol-only outcomes never reach a native client; if one did,
    // the request was not acceptable.
    case GroupErrc::kInvalidSessionTimeout:
    case GroupErrc::kMemberIdRequired:
    case GroupErrc::kGroupSubscribedToTopic:
    case GroupErrc::kNonEmptyGroup:
    case GroupErrc::kInvalidRequest: return ErrorCode::kInvalidRequest;
  }
  return ErrorCode::kUnknownServerError;
}

}  // namespace

// Every non-zero code is counted under the request being served (metrics:
// sentry_request_errors_total).
ErrorCode ToNativeError(Errc e) {
  const ErrorCode code = Map(e);
  metrics::ThreadMetrics::ErrorInRequest(static_cast<int16_t>(code));
  return code;
}

ErrorCode ToNativeError(group::GroupErrc e) {
  const ErrorCode code = Map(e);
  metrics::ThreadMetrics::ErrorInRequest(static_cast<int16_t>(code));
  return code;
}

}  // namespace sentry::frontend
