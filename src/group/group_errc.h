// GroupErrc: the group coordinator's error vocabulary, protocol-neutral.
// Each front end maps it to its wire code in one place (Kafka's codes in
// frontend/kafka_errors.cc, the native protocol's in frontend/native_errors.cc).
// The names are Kafka's, whose semantics the coordinator follows.
#pragma once

#include <cstdint>

namespace sentry::group {

enum class GroupErrc : uint8_t {
  kNone = 0,
  kInvalidGroupId,             // empty group id
  kCoordinatorNotAvailable,    // the group is being removed (Dead): retry
  kUnknownMemberId,            // not (or no longer) a member of the group
  kIllegalGeneration,          // classic: a generation that is not the group's
  kRebalanceInProgress,        // classic: rejoin first
  kFencedInstanceId,           // static member replaced by a newer one
  kInconsistentGroupProtocol,  // protocol type/name disagree, or the other kind of group
  kInvalidSessionTimeout,      // outside group.min/max.session.timeout.ms
  kMemberIdRequired,           // classic v4+: first join hands out the member id
  kGroupIdNotFound,            // no such group
  kGroupMaxSizeReached,        // group.max.size members already
  kStaleMemberEpoch,           // native: an epoch that is not the member's
  kUnreleasedInstanceId,       // native: a static member id still in use
  kGroupSubscribedToTopic,     // OffsetDelete: a member still reads the topic
  kNonEmptyGroup,              // DeleteGroups: members are still in it
  kInvalidRequest,             // malformed field values
  kNotCoordinator,             // cluster mode: this broker does not coordinate groups now
};

const char* GroupErrcName(GroupErrc e);

}  // namespace sentry::group
