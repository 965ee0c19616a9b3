// Real-time scheduling for the threads on the request path (realtime.priority).
#pragma once

#include <thread>

#include "common/status.h"

namespace sentry {

// Puts `t` under SCHED_FIFO at `priority` (1-99). Fails (kInvalidArgument,
// message naming the cause) when the process may not, e.g. without
// CAP_SYS_NICE or with RLIMIT_RTPRIO below `priority`.
Status SetRealtimePriority(std::thread& t, int priority);

}  // namespace sentry
