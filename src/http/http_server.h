// HttpServer: sentryd's small HTTP/1.1 listener (metrics, admin API,
// dashboard), on Boost.Beast over Boost.Asio: one thread of its own running
// every connection asynchronously, so no HTTP client can block the network
// or writer threads, and a slow one blocks nobody.
//
// Bounded by design: at most `max_connections` connections (more are told
// 503 and closed), a request's header at most `max_header_bytes` (431), a
// body at most `max_body_bytes` (413), each request must arrive whole within
// `request_timeout_ms` of its first byte being awaited (slowloris; an idle
// keep-alive connection is closed after the same time), every answer must
// be written within `write_timeout_ms`.
//
// TLS (http.tls): with HttpOptions::tls_context set, every connection
// starts with a TLS handshake (within request_timeout_ms) on the context
// that function returns at accept time, so a reloaded certificate serves
// new connections while open ones keep theirs.
//
// Threads: Listen/Start/Stop from one thread; the handler runs on the HTTP
// thread, one request at a time; the counters are read from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/status.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace sentry::http {

struct HttpOptions {
  std::string host = "0.0.0.0";
  int port = 9644;  // 0 = pick a free port (see port())
  int64_t max_connections = 128;
  size_t max_header_bytes = 8192;
  size_t max_body_bytes = 65536;
  int64_t request_timeout_ms = 10000;  // also the idle keep-alive timeout
  int64_t write_timeout_ms = 30000;
  // Set: HTTPS. Returns the current OpenSSL server context (it stays alive
  // as long as a connection made from it).
  std::function<std::shared_ptr<SSL_CTX>()> tls_context;
  // Set with tls_context: told of each handshake's result (metrics).
  std::function<void(bool ok, const std::string& error)> on_handshake;
};

struct HttpRequest {
  std::string method;
  std::string path;   // without the query
  std::string query;  // after '?', may be empty
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  HttpServer(HttpOptions opt, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens.
  Status Listen();
  int port() const { return port_; }
  void Start();  // serves on the HTTP thread
  void Stop();   // closes the listener and every connection; joins

  int64_t open_connections() const { return open_.load(std::memory_order_relaxed); }
  uint64_t accepted_connections() const { return accepted_.load(std::memory_order_relaxed); }
  // Answers sent, by status code.
  std::map<int, uint64_t> responses() const;

 private:
  class Impl;
  template <typename Stream>
  class Session;
  template <typename Stream>
  friend class Session;
  void Count(int status);

  const HttpOptions opt_;
  const Handler handler_;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int64_t> open_{0};
  std::atomic<uint64_t> accepted_{0};
  mutable std::mutex mu_;
  std::map<int, uint64_t> responses_;  // guarded by mu_
};

}  // namespace sentry::http
