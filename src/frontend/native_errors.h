// The native protocol's error codes for the broker's errors: the one place
// where a broker::Errc becomes a wire code (docs/protocol.md, "Error codes").
#pragma once

#include "broker/error.h"
#include "group/group_errc.h"
#include "protocol/errors.h"

namespace sentry::frontend {

protocol::ErrorCode ToNativeError(broker::Errc e);
protocol::ErrorCode ToNativeError(group::GroupErrc e);

}  // namespace sentry::frontend
