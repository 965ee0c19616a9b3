// SaslSession: one connection's SASL state, shared by the Kafka listener
// (SaslHandshake + SaslAuthenticate) and the native one (AUTHENTICATE):
// the exchange in progress (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512), and once
// one succeeded, the authenticated session: principal, mechanism and when it
// ends (connections.max.reauth.ms, KIP-368). The front ends keep only their
// wire format; the rules (which mechanisms a listener offers, when a
// re-authentication is allowed, that it keeps its principal) live here.
//
// Thread-compatible: one per connection, used by its network thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "security/credential_store.h"
#include "security/scram.h"

namespace sentry::security {

// The largest frame a connection that has not authenticated yet may send on
// a listener that requires SASL (Kafka's sasl.server.max.receive.size
// default): an anonymous client cannot make the broker buffer a whole
// max.frame.bytes.
inline constexpr int64_t kMaxUnauthenticatedFrameBytes = 512 * 1024;

// What a listener accepts (kafka.sasl / native.sasl and the sasl.* settings).
struct SaslPolicy {
  std::vector<std::string> mechanisms;  // sasl.mechanisms, as clients name them
  CredentialStore* credentials = nullptr;
  bool tls = false;  // the listener speaks TLS
  // PLAIN sends the password itself: offered on TLS listeners, and on
  // plaintext ones only with this (sasl.plain.allow.plaintext).
  bool plain_allow_plaintext = false;
  // How long an authenticated session lasts (ms; 0: forever). Before it
  // ends the client re-authenticates on the same connection.
  int64_t max_reauth_ms = 0;

  // The mechanisms this listener offers, in sasl.mechanisms order.
  std::vector<std::string> Offered() const;
};

// `user` fit for a log line: control characters (a client may put a newline
// in a SCRAM user name) become '?'.
std::string LoggableUser(std::string_view user);

class SaslSession {
 public:
  enum class Begin { kStarted, kUnsupported, kIllegalState };
  // Starts an exchange with `mechanism`: kUnsupported when the policy does
  // not offer it; kIllegalState while an exchange is in progress, or on an
  // authenticated session unless re-authentication is on (max_reauth_ms).
  Begin Start(const SaslPolicy& policy, std::string_view mechanism);
  bool exchanging() const { return scram_ != nullptr || plain_; }
  // The mechanism of the exchange in progress.
  const std::string& pending_mechanism() const { return pending_mechanism_; }

  // One client message of the exchange in progress (there must be one):
  // the server's answer. *done when it was the last one and succeeded: the
  // session is then authenticated as principal(). A failure ends the
  // exchange; its message names the reason, for the broker's log only
  // (clients learn no more than "invalid credentials"). `user` is set to
  // the name the client gave, when it got that far (for the log).
  Result<std::string> Step(const SaslPolicy& policy, std::string_view client_message, bool* done,
                           std::string* user);

  bool authenticated() const { return authenticated_; }
  const std::string& principal() const { return principal_; }  // "User:NAME"
  const std::string& mechanism() const { return mechanism_; }
  bool reauthenticating() const { return reauthenticating_; }
  // Steady ms when the session ends; 0: never.
  int64_t expires_ms() const { return expires_ms_; }
  bool Expired(int64_t now_ms) const { return expires_ms_ > 0 && now_ms >= expires_ms_; }

 private:
  std::unique_ptr<ScramServer> scram_;  // a SCRAM exchange in progress
  bool plain_ = false;                  // PLAIN chosen: its one message comes next
  std::string pending_mechanism_;       // chosen by the exchange in progress
  bool reauthenticating_ = false;
  bool authenticated_ = false;
  std::string principal_;
  std::string mechanism_;
  int64_t expires_ms_ = 0;
};

}  // namespace sentry::security
