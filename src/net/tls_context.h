// TlsContext: a TLS listener's certificates and settings (docs/security.md),
// on OpenSSL: TLS 1.2 and 1.3 only, forward-secret AEAD cipher suites only,
// no renegotiation, no compression; client certificates none, requested or
// required, checked against tls.ca.file.
//
// Reload: Reload() builds a fresh OpenSSL context from the files and swaps
// it in; a connection keeps the context it was accepted with (OpenSSL counts
// references), so a reload drops nobody, and a reload that fails (a missing
// key, a certificate that does not match it) keeps the old context and says
// why. ReloadIfChanged() does so only when a file's size, mtime, inode or
// content changed since the last load (a watcher polls it; SIGHUP forces
// Reload()).
//
// Threads: NewSsl() from network threads, Reload*() from any thread (a
// mutex around the current context); the counters from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/log_limiter.h"
#include "common/mutex.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace sentry::net {

enum class TlsClientAuth { kNone, kRequested, kRequired };

struct TlsSettings {
  std::string cert_file;  // PEM: the certificate, then any intermediates
  std::string key_file;   // PEM private key (unencrypted)
  std::string ca_file;    // PEM: CAs that client certificates must chain to
  TlsClientAuth client_auth = TlsClientAuth::kNone;
};

// "none" | "requested" | "required".
Result<TlsClientAuth> ParseTlsClientAuth(const std::string& text);

class TlsContext {
 public:
  // Loads the files; an error names the file and OpenSSL's reason.
  static Result<std::unique_ptr<TlsContext>> Create(TlsSettings settings);
  ~TlsContext();

  // A server-side SSL for an accepted connection (caller owns it; SSL_free),
  // from the current certificates. Null only when OpenSSL is out of memory.
  SSL* NewSsl() const;
  // The current OpenSSL context (for listeners that make their own SSL
  // objects from it, as Beast's HTTP streams do).
  std::shared_ptr<SSL_CTX> Current() const;

  Status Reload();
  // Reloads when a file changed since the last (successful or failed) load
  // attempt; OK when nothing changed. `*reloaded` says whether it did.
  Status ReloadIfChanged(bool* reloaded);

  const TlsSettings& settings() const { return settings_; }
  // The current certificate's subject and serial (log lines, tests).
  std::string Describe() const;

  // Counters: handshakes completed and failed, successful reloads.
  std::atomic<uint64_t> handshakes{0};
  std::atomic<uint64_t> handshake_failures{0};
  std::atomic<uint64_t> reloads{0};
  // Failed handshakes are logged through this (a peer can repeat them at will).
  LogLimiter handshake_warn;

 private:
  explicit TlsContext(TlsSettings settings) : settings_(std::move(settings)) {}
  // A new OpenSSL context from the files.
  Result<std::shared_ptr<SSL_CTX>> Build() const;
  std::string Fingerprint() const;  // inode, size, mtime and content hash of each file

  const TlsSettings settings_;
  mutable Mutex mu_;
  std::shared_ptr<SSL_CTX> ctx_ GUARDED_BY(mu_);
  std::string fingerprint_ GUARDED_BY(mu_);
};

}  // namespace sentry::net
