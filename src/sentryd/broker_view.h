// BrokerView: what the HTTP side (metrics, admin API) may look at of a
// running Broker. The Broker fills it before it declares itself ready and
// stops the HTTP listener before it tears anything down, so every pointer
// is valid whenever the view is used with ready = true.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "broker/broker_core.h"
#include "broker/topic_registry.h"
#include "common/age_clock.h"
#include "group/group_service.h"
#include "net/network_thread.h"
#include "net/server.h"
#include "pipeline/pipeline.h"
#include "security/authorizer.h"
#include "sentryd/broker_config.h"

namespace sentry::http {
class HttpServer;
}

namespace sentry::sentryd {

// What start-up recovery found (the "Loaded ..." log line, as numbers).
struct RecoveryFacts {
  bool first_start = false;
  bool clean_shutdown = false;
  int64_t duration_ms = 0;
  int64_t segments = 0;
  int64_t segments_walked = 0;
  int64_t truncations = 0;
};

struct ListenerView {
  std::string name;  // native, kafka, http
  std::string host;
  int port = 0;
  const net::Server* server = nullptr;  // null for http
  const net::TlsContext* tls = nullptr;  // a TLS listener's certificates and counters
};

struct BrokerView {
  const BrokerConfig* cfg = nullptr;
  broker::TopicRegistry* registry = nullptr;
  broker::BrokerCore* core = nullptr;
  group::GroupService* groups = nullptr;
  const pipeline::Pipeline* pipeline = nullptr;
  std::vector<const net::NetworkThread*> nets;
  std::vector<ListenerView> listeners;
  const http::HttpServer* http = nullptr;
  RecoveryFacts recovery;
  int64_t start_wall_ms = 0;
  AgeClock* age_clock = nullptr;  // retention's "now"
  const security::Authorizer* authorizer = nullptr;  // null: authorizer.enabled=false
};

// The version and the git commit this binary was built from.
const char* BuildVersion();
const char* BuildCommit();

}  // namespace sentry::sentryd
