// The "consumer" protocol type's metadata and assignment (Kafka's
// ConsumerProtocolSubscription / ConsumerProtocolAssignment, versions 0-3),
// which the broker otherwise carries as opaque bytes. Read only to show who
// reads what (describe, lag) and to refuse an OffsetDelete of a topic a
// member still reads; never to assign.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "group/types.h"

namespace sentry::group {

struct Subscription {
  std::vector<std::string> topics;
};

// nullopt when the bytes are not a subscription (a member may send anything).
std::optional<Subscription> ParseSubscription(std::string_view bytes);
std::optional<TopicPartitions> ParseAssignment(std::string_view bytes);

// Builds an assignment (version 0, no user data): for tests and tools.
std::string EncodeAssignment(const TopicPartitions& parts);
std::string EncodeSubscription(const std::vector<std::string>& topics);

}  // namespace sentry::group
