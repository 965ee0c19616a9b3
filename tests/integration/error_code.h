// E(code): a native error code's wire value, to compare with the error_code
// field of a decoded response (one definition for every integration test).
#pragma once

#include <cstdint>

#include "protocol/errors.h"

namespace sentry::testing {

constexpr int16_t E(protocol::ErrorCode c) { return static_cast<int16_t>(c); }

}  // namespace sentry::testing
