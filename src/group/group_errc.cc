#include "group/group_errc.h"

namespace sentry::group {

const char* GroupErrcName(GroupErrc e) {
  switch (e) {
    case GroupErrc::kNone:
      return "NONE";
    case GroupErrc::kInvalidGroupId:
      return "INVALID_GROUP_ID";
    case GroupErrc::kCoordinatorNotAvailable:
      return "COORDINATOR_NOT_AVAILABLE";
    case GroupErrc::kUnknownMemberId:
      return "UNKNOWN_MEMBER_ID";
    case GroupErrc::kIllegalGeneration:
      return "ILLEGAL_GENERATION";
    case GroupErrc::kRebalanceInProgress:
      return "REBALANCE_IN_PROGRESS";
    case GroupErrc::kFencedInstanceId:
      return "FENCED_INSTANCE_ID";
    case GroupErrc::kInconsistentGroupProtocol:
      return "INCONSISTENT_GROUP_PROTOCOL";
    case GroupErrc::kInvalidSessionTimeout:
      return "INVALID_SESSION_TIMEOUT";
    case GroupErrc::kMemberIdRequired:
      return "MEMBER_ID_REQUIRED";
    case GroupErrc::kGroupIdNotFound:
      return "GROUP_ID_NOT_FOUND";
    case GroupErrc::kGroupMaxSizeReached:
      return "GROUP_MAX_SIZE_REACHED";
    case GroupErrc::kStaleMemberEpoch:
      return "STALE_MEMBER_EPOCH";
    case GroupErrc::kUnreleasedInstanceId:
      return "UNRELEASED_INSTANCE_ID";
    case GroupErrc::kGroupSubscribedToTopic:
      return "GROUP_SUBSCRIBED_TO_TOPIC";
    case GroupErrc::kNonEmptyGroup:
      return "NON_EMPTY_GROUP";
    case GroupErrc::kInvalidRequest:
      return "INVALID_REQUEST";
    case GroupErrc::kNotCoordinator:
      return "NOT_COORDINATOR";
  }
  return "UNKNOWN";
}

}  // namespace sentry::group
