#include "frontend/kafka_errors.h"

namespace sentry::frontend {

using broker::Errc;
using kafka::ErrorCode;

int16_t ToKafkaError(Errc e) {
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
  }
  return Code(ErrorCode::kUnknownServerError);
}

}  // namespace sentry::frontend
