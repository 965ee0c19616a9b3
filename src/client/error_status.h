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
// time (REQUEST_TIMED_OUT; a resend can then duplicate records), or the
// partition is moving to another leader (NOT_LEADER_OR_FOLLOWER,
// LEADER_NOT_AVAILABLE: ask who leads, then resend there) or lacks in-sync
// replicas for now (NOT_ENOUGH_REPLICAS, nothing stored).
bool IsRetriable(int16_t code);
// NOT_LEADER_OR_FOLLOWER or LEADER_NOT_AVAILABLE: ask who leads (BrokerPool).
bool IsLeadershipError(int16_t code);

}  // namespace sentry::client
