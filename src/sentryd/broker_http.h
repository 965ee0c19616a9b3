// BrokerHttp: what sentryd answers on its HTTP listener (docs/observability.md):
// the dashboard's files, /metrics, the read-only admin API (/v1/...) as
// JSON, and the health probes. Before the broker is ready only the probes,
// the dashboard and a minimal /metrics are served; /v1 answers 503.
//
// Threads: the HTTP thread.
#pragma once

#include <atomic>

#include "http/http_server.h"
#include "sentryd/broker_view.h"

namespace sentry::sentryd {

class BrokerHttp {
 public:
  // `view` is complete whenever `*ready` is true (acquire).
  BrokerHttp(const BrokerView* view, const std::atomic<bool>* ready)
      : view_(view), ready_(ready) {}

  http::HttpResponse Handle(const http::HttpRequest& req) const;

 private:
  http::HttpResponse Status() const;
  http::HttpResponse Topics() const;
  http::HttpResponse Topic(const std::string& name) const;
  http::HttpResponse Groups() const;
  http::HttpResponse Group(const std::string& id) const;

  const BrokerView* const view_;
  const std::atomic<bool>* const ready_;
};

}  // namespace sentry::sentryd
