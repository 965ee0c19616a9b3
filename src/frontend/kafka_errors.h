// The Kafka protocol's error codes for the broker's errors: the one place
// where a broker::Errc becomes a Kafka wire code (docs/kafka.md, "Errors").
#pragma once

#include <cstdint>

#include "broker/error.h"
#include "kafka/errors.h"

namespace sentry::frontend {

int16_t ToKafkaError(broker::Errc e);

}  // namespace sentry::frontend
