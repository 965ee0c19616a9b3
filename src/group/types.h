// Small value types shared by the group coordinator's parts.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sentry::group {

// topic -> partition indexes, sorted ascending, no duplicates.
using TopicPartitions = std::map<std::string, std::vector<int32_t>>;

}  // namespace sentry::group
