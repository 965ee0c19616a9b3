#include "protocol/errors.h"

namespace sentry::protocol {

const char* ErrorName(int16_t code) { return ErrorName(static_cast<ErrorCode>(code)); }

const char* ErrorName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNone: return "NONE";
    case ErrorCode::kUnknownServerError: return "UNKNOWN_SERVER_ERROR";
    case ErrorCode::kOffsetOutOfRange: return "OFFSET_OUT_OF_RANGE";
    case ErrorCode::kCorruptMessage: return "CORRUPT_MESSAGE";
    case ErrorCode::kUnknownTopicOrPartition: return "UNKNOWN_TOPIC_OR_PARTITION";
    case ErrorCode::kRequestTimedOut: return "REQUEST_TIMED_OUT";
    case ErrorCode::kLeaderNotAvailable: return "LEADER_NOT_AVAILABLE";
    case ErrorCode::kNotLeaderOrFollower: return "NOT_LEADER_OR_FOLLOWER";
    case ErrorCode::kNotEnoughReplicas: return "NOT_ENOUGH_REPLICAS";
    case ErrorCode::kInvalidReplicationFactor: return "INVALID_REPLICATION_FACTOR";
    case ErrorCode::kMessageTooLarge: return "MESSAGE_TOO_LARGE";
    case ErrorCode::kInvalidTopic: return "INVALID_TOPIC_EXCEPTION";
    case ErrorCode::kUnsupportedVersion: return "UNSUPPORTED_VERSION";
    case ErrorCode::kTopicAlreadyExists: return "TOPIC_ALREADY_EXISTS";
    case ErrorCode::kInvalidPartitions: return "INVALID_PARTITIONS";
    case ErrorCode::kInvalidConfig: return "INVALID_CONFIG";
    case ErrorCode::kInvalidRequest: return "INVALID_REQUEST";
    case ErrorCode::kKafkaStorageError: return "KAFKA_STORAGE_ERROR";
    case ErrorCode::kInvalidRecord: return "INVALID_RECORD";
    case ErrorCode::kOutOfOrderSequence: return "OUT_OF_ORDER_SEQUENCE_NUMBER";
    case ErrorCode::kInvalidProducerEpoch: return "INVALID_PRODUCER_EPOCH";
    case ErrorCode::kCoordinatorNotAvailable: return "COORDINATOR_NOT_AVAILABLE";
    case ErrorCode::kNotCoordinator: return "NOT_COORDINATOR";
    case ErrorCode::kIllegalGeneration: return "ILLEGAL_GENERATION";
    case ErrorCode::kInconsistentGroupProtocol: return "INCONSISTENT_GROUP_PROTOCOL";
    case ErrorCode::kInvalidGroupId: return "INVALID_GROUP_ID";
    case ErrorCode::kUnknownMemberId: return "UNKNOWN_MEMBER_ID";
    case ErrorCode::kRebalanceInProgress: return "REBALANCE_IN_PROGRESS";
    case ErrorCode::kGroupIdNotFound: return "GROUP_ID_NOT_FOUND";
    case ErrorCode::kGroupMaxSizeReached: return "GROUP_MAX_SIZE_REACHED";
    case ErrorCode::kFencedInstanceId: return "FENCED_INSTANCE_ID";
    case ErrorCode::kUnreleasedInstanceId: return "UNRELEASED_INSTANCE_ID";
    case ErrorCode::kStaleMemberEpoch: return "STALE_MEMBER_EPOCH";
    case ErrorCode::kTopicAuthorizationFailed: return "TOPIC_AUTHORIZATION_FAILED";
    case ErrorCode::kGroupAuthorizationFailed: return "GROUP_AUTHORIZATION_FAILED";
    case ErrorCode::kClusterAuthorizationFailed: return "CLUSTER_AUTHORIZATION_FAILED";
    case ErrorCode::kUnsupportedSaslMechanism: return "UNSUPPORTED_SASL_MECHANISM";
    case ErrorCode::kIllegalSaslState: return "ILLEGAL_SASL_STATE";
    case ErrorCode::kSaslAuthenticationFailed: return "SASL_AUTHENTICATION_FAILED";
  }
  return "UNKNOWN_ERROR_CODE";
}

const char* ErrorAdvice(int16_t code) {
  switch (static_cast<ErrorCode>(code)) {
    case ErrorCode::kNone: return "";
    case ErrorCode::kUnknownServerError: return "The broker hit a bug; check its log and report it.";
    case ErrorCode::kOffsetOutOfRange: return "Ask for an offset between the log start and the log end (see `sentryctl offsets`).";
    case ErrorCode::kCorruptMessage: return "The record batch failed validation; the client sent damaged data.";
    case ErrorCode::kUnknownTopicOrPartition: return "Create the topic first, or check the name and partition number.";
    case ErrorCode::kRequestTimedOut: return "The write was not made durable in time; retry or raise the timeout.";
    case ErrorCode::kLeaderNotAvailable: return "No leader for this partition right now (an election or every replica down); retry shortly.";
    case ErrorCode::kNotLeaderOrFollower: return "Another broker leads this partition: refresh metadata and send there.";
    case ErrorCode::kNotEnoughReplicas: return "Fewer in-sync replicas than min.insync.replicas: wait for a replica to catch up or restart it.";
    case ErrorCode::kInvalidReplicationFactor: return "Ask for a replication factor between 1 and the number of live brokers.";
    case ErrorCode::kMessageTooLarge: return "Send smaller batches or raise max.message.bytes / max.frame.bytes.";
    case ErrorCode::kInvalidTopic: return "Use 1-249 characters of [a-zA-Z0-9._-], not '.' or '..'.";
    case ErrorCode::kUnsupportedVersion: return "Use a version API_VERSIONS lists (1; OFFSET_COMMIT also 2).";
    case ErrorCode::kTopicAlreadyExists: return "Pick another name or delete the existing topic first.";
    case ErrorCode::kInvalidPartitions: return "Use a partition count between 1 and the broker's limit.";
    case ErrorCode::kInvalidConfig: return "Check the topic config key and value against docs/operations.md.";
    case ErrorCode::kInvalidRequest: return "The request was malformed; check the client against docs/protocol.md.";
    case ErrorCode::kKafkaStorageError: return "The broker's disk is full or failing; free space or check its log.";
    case ErrorCode::kInvalidRecord: return "Give every record a key: the topic is compacted (cleanup.policy=compact).";
    case ErrorCode::kOutOfOrderSequence: return "An idempotent producer's batch does not follow its last one (a batch was lost): start a new producer (INIT_PRODUCER_ID).";
    case ErrorCode::kInvalidProducerEpoch: return "A newer epoch of this producer id wrote since: this producer is stale; start a new one.";
    case ErrorCode::kCoordinatorNotAvailable: return "The broker is stopping, or the cluster has no group coordinator right now; reconnect and join again.";
    case ErrorCode::kNotCoordinator: return "Another broker coordinates this group (the leader of the __consumer_offsets partition its id hashes to): ask DESCRIBE_CLUSTER and go there.";
    case ErrorCode::kIllegalGeneration: return "The group moved on; rejoin before committing.";
    case ErrorCode::kInconsistentGroupProtocol: return "The group is of the other kind (Kafka classic vs native) or its members disagree.";
    case ErrorCode::kInvalidGroupId: return "Give a non-empty group id.";
    case ErrorCode::kUnknownMemberId: return "Not a member (any more): join the group again with member epoch 0.";
    case ErrorCode::kRebalanceInProgress: return "Rejoin the group.";
    case ErrorCode::kGroupIdNotFound: return "No such group (see `sentryctl group list`).";
    case ErrorCode::kGroupMaxSizeReached: return "The group has group.max.size members already.";
    case ErrorCode::kFencedInstanceId: return "Another process took this group.instance.id.";
    case ErrorCode::kUnreleasedInstanceId: return "A live member still holds this instance id; stop it first.";
    case ErrorCode::kStaleMemberEpoch: return "Heartbeat again and use the member epoch it returns.";
    case ErrorCode::kTopicAuthorizationFailed:
    case ErrorCode::kGroupAuthorizationFailed:
    case ErrorCode::kClusterAuthorizationFailed:
      return "The broker's ACLs do not allow this principal to do that (docs/security.md).";
    case ErrorCode::kUnsupportedSaslMechanism:
      return "The listener does not offer that SASL mechanism; use one its answer lists.";
    case ErrorCode::kIllegalSaslState:
      return "Authenticate first (--user/--password), or this listener does not ask for SASL (native.sasl=none).";
    case ErrorCode::kSaslAuthenticationFailed:
      return "Wrong user name or password, or no credential for this mechanism (sentryctl user list).";
  }
  return "Unknown error code.";
}

const char* ApiName(uint16_t key) {
  static const char* kNames[] = {"API_VERSIONS",  "PRODUCE",      "FETCH",
                                 "LIST_OFFSETS",  "METADATA",     "CREATE_TOPIC",
                                 "DELETE_TOPIC",  "OFFSET_COMMIT", "OFFSET_FETCH",
                                 "CONSUMER_GROUP_HEARTBEAT", "LIST_GROUPS", "DESCRIBE_GROUP",
                                 "DELETE_RECORDS", "ALTER_TOPIC_CONFIG", "DESCRIBE_LOG",
                                 "DESCRIBE_CLUSTER", "INIT_PRODUCER_ID", "AUTHENTICATE"};
  return key < kApiKeyCount ? kNames[key] : "UNKNOWN";
}

}  // namespace sentry::protocol
