// The broker's /metrics: every metric of docs/observability.md, gathered at
// scrape time from the threads' own counters (metrics::ThreadMetrics), the
// partitions' append counters, the logs, the listeners and the group
// coordinator. Nothing here is on a hot path.
//
// Threads: the HTTP thread (any one thread at a time).
#pragma once

#include <string>

#include "sentryd/broker_view.h"

namespace sentry::sentryd {

// The exposition text; before the broker is ready only what needs no
// broker part (build info, start time, sentry_ready 0).
std::string BrokerMetricsText(const BrokerView& v, bool ready);

}  // namespace sentry::sentryd
