// Turning broker error codes into the client's one error channel, Status.
// Any thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace sentry::client {

// "<context>: NAME: advice" (protocol::ErrorName / ErrorAdvice), so a tool can
// print the message as it is. OK for code 0.
Status ErrorStatus(int16_t code, std::string_view context);

// Errors after which resending the same request can succeed: the broker
// stored nothing (KAFKA_STORAGE_ERROR) or may not have made it durable in
// time (REQUEST_TIMED_OUT; a resend can then duplicate records).
bool IsRetriable(int16_t code);

}  // namespace sentry::client
