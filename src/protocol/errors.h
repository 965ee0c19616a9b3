// Protocol error codes (i16; the numbers are Apache Kafka's) and API keys.
#pragma once

#include <cstdint>

namespace sentry::protocol {

enum class ErrorCode : int16_t {
  kNone = 0,
  kUnknownServerError = -1,
  kOffsetOutOfRange = 1,
  kCorruptMessage = 2,
  kUnknownTopicOrPartition = 3,
  kLeaderNotAvailable = 5,
  kNotLeaderOrFollower = 6,
  kRequestTimedOut = 7,
  kNotEnoughReplicas = 19,
  kMessageTooLarge = 10,
  kInvalidTopic = 17,
  kUnsupportedVersion = 35,
  kTopicAlreadyExists = 36,
  kInvalidPartitions = 37,
  kInvalidReplicationFactor = 38,
  kInvalidConfig = 40,
  kInvalidRequest = 42,
  kKafkaStorageError = 56,
  kInvalidRecord = 87,
  // Idempotent producers (INIT_PRODUCER_ID)
  kOutOfOrderSequence = 45,
  kInvalidProducerEpoch = 47,
  // Consumer groups
  kCoordinatorNotAvailable = 15,
  kNotCoordinator = 16,
  kIllegalGeneration = 22,
  kInconsistentGroupProtocol = 23,
  kInvalidGroupId = 24,
  kUnknownMemberId = 25,
  kRebalanceInProgress = 27,
  kGroupIdNotFound = 69,
  kGroupMaxSizeReached = 81,
  kFencedInstanceId = 82,
  kUnreleasedInstanceId = 111,
  kStaleMemberEpoch = 113,
  // Authorization (authorizer.enabled)
  kTopicAuthorizationFailed = 29,
  kGroupAuthorizationFailed = 30,
  kClusterAuthorizationFailed = 31,
  // Authentication (native.sasl=required, AUTHENTICATE)
  kUnsupportedSaslMechanism = 33,
  kIllegalSaslState = 34,
  kSaslAuthenticationFailed = 58,
};

const char* ErrorName(ErrorCode code);
const char* ErrorName(int16_t code);
// One plain sentence on what to do about it, for tools.
const char* ErrorAdvice(int16_t code);

enum class ApiKey : uint16_t {
  kApiVersions = 0,
  kProduce = 1,
  kFetch = 2,
  kListOffsets = 3,
  kMetadata = 4,
  kCreateTopic = 5,
  kDeleteTopic = 6,
  kOffsetCommit = 7,
  kOffsetFetch = 8,
  kConsumerGroupHeartbeat = 9,
  kListGroups = 10,
  kDescribeGroup = 11,
  kDeleteRecords = 12,
  kAlterTopicConfig = 13,
  kDescribeLog = 14,
  kDescribeCluster = 15,
  kInitProducerId = 16,
  kAuthenticate = 17,
};
constexpr uint16_t kApiKeyCount = 18;
constexpr uint16_t kApiVersion = 1;  // every API is served at version 1...
constexpr uint16_t kOffsetCommitMemberVersion = 2;  // ...and OFFSET_COMMIT at 2 as well
// The highest version of `key` served (the lowest is kApiVersion for all).
constexpr uint16_t MaxApiVersion(uint16_t key) {
  return key == static_cast<uint16_t>(ApiKey::kOffsetCommit) ? kOffsetCommitMemberVersion
                                                             : kApiVersion;
}
const char* ApiName(uint16_t key);

}  // namespace sentry::protocol
