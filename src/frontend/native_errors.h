// The native protocol's error codes for the broker's errors: the one place
// where a broker::Errc becomes a wire code (docs/protocol.md, "Error codes").
#pragma once

#include "broker/error.h"
#include "protocol/errors.h"

namespace sentry::frontend {

protocol::ErrorCode ToNativeError(broker::Errc e);

}  // namespace sentry::frontend
