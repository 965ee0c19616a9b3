// The Kafka protocol's error codes for the broker's errors: the one place
// where a broker::Errc or group::GroupErrc becomes a Kafka wire code (docs/kafka.md, "Errors").
#pragma once

#include <cstdint>

#include "broker/error.h"
#include "group/group_errc.h"
#include "kafka/errors.h"

namespace sentry::frontend {

int16_t ToKafkaError(broker::Errc e);
int16_t ToKafkaError(group::GroupErrc e);

}  // namespace sentry::frontend
