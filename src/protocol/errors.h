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
  kRequestTimedOut = 7,
  kMessageTooLarge = 10,
  kInvalidTopic = 17,
  kUnsupportedVersion = 35,
  kTopicAlreadyExists = 36,
  kInvalidPartitions = 37,
  kInvalidConfig = 40,
  kInvalidRequest = 42,
  kKafkaStorageError = 56,
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
};
constexpr uint16_t kApiKeyCount = 9;
constexpr uint16_t kApiVersion = 1;  // every API is at version 1
const char* ApiName(uint16_t key);

}  // namespace sentry::protocol
