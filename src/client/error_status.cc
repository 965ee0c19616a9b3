#include "client/error_status.h"

#include <string>

#include "protocol/errors.h"

namespace sentry::client {

using protocol::ErrorCode;

Status ErrorStatus(int16_t code, std::string_view context) {
  if (code == 0) return Status::OK();
  std::string msg = std::string(context) + ": " + protocol::ErrorName(code) + ": " +
                    protocol::ErrorAdvice(code);
  switch (static_cast<ErrorCode>(code)) {
    case ErrorCode::kUnknownTopicOrPartition: return Status::NotFound(std::move(msg));
    case ErrorCode::kTopicAlreadyExists: return Status::AlreadyExists(std::move(msg));
    case ErrorCode::kOffsetOutOfRange: return Status::OutOfRange(std::move(msg));
    case ErrorCode::kCorruptMessage: return Status::Corruption(std::move(msg));
    case ErrorCode::kMessageTooLarge: return Status::TooLarge(std::move(msg));
    case ErrorCode::kRequestTimedOut: return Status::TimedOut(std::move(msg));
    case ErrorCode::kKafkaStorageError: return Status::IoError(std::move(msg));
    case ErrorCode::kUnsupportedVersion: return Status::NotSupported(std::move(msg));
    case ErrorCode::kLeaderNotAvailable:
    case ErrorCode::kNotLeaderOrFollower:
    case ErrorCode::kNotEnoughReplicas: return Status::Unavailable(std::move(msg));
    default: return Status::InvalidArgument(std::move(msg));
  }
}

bool IsRetriable(int16_t code) {
  switch (static_cast<ErrorCode>(code)) {
    case ErrorCode::kRequestTimedOut:
    case ErrorCode::kKafkaStorageError:
    case ErrorCode::kLeaderNotAvailable:
    case ErrorCode::kNotLeaderOrFollower:
    case ErrorCode::kNotEnoughReplicas: return true;
    default: return false;
  }
}

bool IsLeadershipError(int16_t code) {
  return code == static_cast<int16_t>(ErrorCode::kNotLeaderOrFollower) ||
         code == static_cast<int16_t>(ErrorCode::kLeaderNotAvailable);
}

}  // namespace sentry::client
