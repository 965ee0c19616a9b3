#include "frontend/kafka_errors.h"

#include "metrics/thread_metrics.h"

namespace sentry::frontend {

using broker::Errc;
using kafka::ErrorCode;

namespace {

int16_t Map(Errc e) {
  switch (e) {
    case Errc::kNone: return Code(ErrorCode::kNone);
    case Errc::kUnknownTopicOrPartition: return Code(ErrorCode::kUnknownTopicOrPartition);
    case Errc::kInvalidTopic: return Code(ErrorCode::kInvalidTopicException);
    case Errc::kInvalidPartitions: return Code(ErrorCode::kInvalidPartitions);
    case Errc::kInvalidConfig: return Code(ErrorCode::kInvalidConfig);
    case Errc::kTopicAlreadyExists: return Code(ErrorCode::kTopicAlreadyExists);
    case Errc::kRecordTooLarge: return Code(ErrorCode::kMessageTooLarge);
    case Errc::kCorruptRecord: return Code(ErrorCode::kCorruptMessage);
    case Errc::kOffsetOutOfRange: return Code(ErrorCode::kOffsetOutOfRange);
    case Errc::kTimedOut: return Code(ErrorCode::kRequestTimedOut);
    case Errc::kStorage: return Code(ErrorCode::kKafkaStorageError);
    case Errc::kInvalidRequest: return Code(ErrorCode::kInvalidRequest);
    case Errc::kInternal: return Code(ErrorCode::kUnknownServerError);
    case Errc::kOutOfOrderSequence: return Code(ErrorCode::kOutOfOrderSequenceNumber);
    case Errc::kProducerFenced: return Code(ErrorCode::kInvalidProducerEpoch);
    case Errc::kInvalidRecord: return Code(ErrorCode::kInvalidRecord);
    case Errc::kNotLeader: return Code(ErrorCode::kNotLeaderOrFollower);
    case Errc::kLeaderNotAvailable: return Code(ErrorCode::kLeaderNotAvailable);
    case Errc::kNotEnoughReplicas: return Code(ErrorCode::kNotEnoughReplicas);
    case Errc::kFencedLeaderEpoch: return Code(ErrorCode::kFencedLeaderEpoch);
    case Errc::kUnknownLeaderEpoch: return Code(ErrorCode::kUnknownLeaderEpoch);
    case Errc::kInvalidReplicationFactor: return Code(ErrorCode::kInvalidReplicationFactor);
    // Kafka answers REQUEST_TIMED_OUT when its controller cannot be reached.
    case Errc::kClusterUnavailable: return Code(ErrorCode::kRequestTimedOut);
    case Errc::kNotCoordinator: return Code(ErrorCode::kNotCoordinator);
  }
  return Code(ErrorCode::kUnknownServerError);
}

int16_t Map(group::GroupErrc e) {
  using group::GroupErrc;
  switch (e) {
    case GroupErrc::kNone: return Code(ErrorCode::kNone);
    case GroupErrc::kInvalidGroupId: return Code(ErrorCode::kInvalidGroupId);
    case GroupErrc::kCoordinatorNotAvailable: return Code(ErrorCode::kCoordinatorNotAvailable);
    case GroupErrc::kUnknownMemberId: return Code(ErrorCode::kUnknownMemberId);
    case GroupErrc::kIllegalGeneration: return Code(ErrorCode::kIllegalGeneration);
    case GroupErrc::kRebalanceInProgress: return Code(ErrorCode::kRebalanceInProgress);
    case GroupErrc::kFencedInstanceId: return Code(ErrorCode::kFencedInstanceId);
    case GroupErrc::kInconsistentGroupProtocol:
      return Code(ErrorCode::kInconsistentGroupProtocol);
    case GroupErrc::kInvalidSessionTimeout: return Code(ErrorCode::kInvalidSessionTimeout);
    case GroupErrc::kMemberIdRequired: return Code(ErrorCode::kMemberIdRequired);
    case GroupErrc::kGroupIdNotFound: return Code(ErrorCode::kGroupIdNotFound);
    case GroupErrc::kGroupMaxSizeReached: return Code(ErrorCode::kGroupMaxSizeReached);
    case GroupErrc::kStaleMemberEpoch: return Code(ErrorCode::kStaleMemberEpoch);
    case GroupErrc::kUnreleasedInstanceId: return Code(ErrorCode::kUnreleasedInstanceId);
    case GroupErrc::kGroupSubscribedToTopic: return Code(ErrorCode::kGroupSubscribedToTopic);
    case GroupErrc::kNonEmptyGroup: return Code(ErrorCode::kNonEmptyGroup);
    case GroupErrc::kInvalidRequest: return Code(ErrorCode::kInvalidRequest);
    case GroupErrc::kNotCoordinator: return Code(ErrorCode::kNotCoordinator);
  }
  return Code(ErrorCode::kUnknownServerError);
}

}  // namespace

// Every non-zero code is counted under the request being served (metrics:
// sentry_request_errors_total).
int16_t ToKafkaError(Errc e) {
  const int16_t code = Map(e);
  metrics::ThreadMetrics::ErrorInRequest(static_cast<int16_t>(code));
  return code;
}

int16_t ToKafkaError(group::GroupErrc e) {
  const int16_t code = Map(e);
  metrics::ThreadMetrics::ErrorInRequest(static_cast<int16_t>(code));
  return code;
}

}  // namespace sentry::frontend
