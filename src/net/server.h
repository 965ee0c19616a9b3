// Server: one listener (a listening socket and its acceptor thread) that
// spreads new connections round-robin over the network threads, each served
// by this listener's front end (`handler`).
//
// Limits: past max.connections a new connection is accepted and closed at
// once with a (rate-limited) log line. When the process runs out of
// descriptors (EMFILE), a reserved descriptor is released to accept and close
// the pending connection, so the listener never spins on a backlog it cannot
// drain.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "net/network_thread.h"

namespace sentry::net {

class Server {
 public:
  Server(std::vector<NetworkThread*> threads, int64_t max_connections,
         std::atomic<int64_t>* open_connections);
  ~Server();
  // Binds and listens; port 0 picks a free port (see port()).
  Status Listen(const std::string& host, int port);
  int port() const { return port_; }
  // Accepts connections, each served by `handler` (this listener's front
  // end); with `tls`, every connection speaks TLS first (tls outlives this).
  void Start(FrameHandler* handler, TlsContext* tls = nullptr);
  void Stop();  // stops accepting; existing connections are the threads' business
  // Connections of this listener open now, and accepted since Start.
  int64_t open_connections() const { return open_.load(std::memory_order_relaxed); }
  uint64_t accepted_connections() const { return accepted_.load(std::memory_order_relaxed); }

 private:
  void Run();
  std::vector<NetworkThread*> threads_;
  FrameHandler* handler_ = nullptr;
  TlsContext* tls_ = nullptr;
  const int64_t max_connections_;
  std::atomic<int64_t>* open_connections_;
  int listen_fd_ = -1;
  int stop_fd_ = -1;
  int reserve_fd_ = -1;
  // Descriptors kept free for storage (see the constructor); a connection
  // whose descriptor number reaches the limit is closed at once.
  static constexpr int64_t kStorageDescriptors = 32;
  int64_t connection_fd_limit_ = INT64_MAX;
  int64_t kept_for_storage_ = 0;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> open_{0};
  std::atomic<uint64_t> accepted_{0};
  std::thread thread_;
};

}  // namespace sentry::net
