// SASL on the Kafka listener (docs/security.md): SaslHandshake v0-1 and
// SaslAuthenticate v0-2 with SCRAM-SHA-256 and SCRAM-SHA-512, as Kafka's
// SaslServerAuthenticator answers them:
//  - with kafka.sasl=required, a connection may send only ApiVersions,
//    SaslHandshake and SaslAuthenticate until its exchange succeeds; any
//    other request closes it (Kafka: IllegalSaslStateException);
//  - SaslHandshake names an enabled mechanism (else
//    UNSUPPORTED_SASL_MECHANISM and the enabled list); v0 switches the
//    connection to bare, length-prefixed SASL tokens, v1 to SaslAuthenticate;
//  - a failed exchange answers SASL_AUTHENTICATION_FAILED and closes the
//    connection (v0: just closes it); it is logged, rate-limited.
// Without kafka.sasl=required a SaslHandshake gets ILLEGAL_SASL_STATE, as on
// a Kafka PLAINTEXT listener.
// Re-authentication (KIP-368): with connections.max.reauth.ms, SaslAuthenticate
// v1+ tells the client its session's lifetime; before it ends the client
// sends SaslHandshake v1 + SaslAuthenticate again on the same connection, with
// the same mechanism and principal. A request after the session ended that
// is not such a re-authentication closes the connection (clients that cannot
// re-authenticate, like librdkafka before 2.2, reconnect and authenticate).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "frontend/kafka_frontend.h"
#include "frontend/kafka_session.h"
#include "common/clock.h"
#include "metrics/thread_metrics.h"
#include "security/plain.h"

namespace sentry::frontend {

using kafka::Code;
using kafka::ErrorCode;
using net::Outcome;

namespace {

bool IsSaslApi(int16_t key) {
  return key == static_cast<int16_t>(kafka::ApiKey::kSaslHandshake) ||
         key == static_cast<int16_t>(kafka::ApiKey::kSaslAuthenticate);
}

}  // namespace

Outcome KafkaFrontend::Malformed(Session& s, const Header& h) {
  if (auth_warn_.Allow()) {
    spdlog::warn("kafka connection {} ({}): malformed SASL request {} v{}; closing it{}",
                 s.core.route.conn_id, s.peer, h.api_key, h.api_version,
                 auth_warn_.Suppressed());
  }
  return Outcome::kClose;
}

bool KafkaFrontend::SessionValid(Session& s, const Header& h) {
  if (SteadyMillis() < s.session_expires_ms) return true;
  if (IsSaslApi(h.api_key) && !s.sasl_raw) return true;  // re-authenticating
  if (auth_warn_.Allow()) {
    spdlog::info("kafka connection {} ({}): {}'s session expired (connections.max.reauth.ms) "
                 "before it re-authenticated; closing it{}",
                 s.core.route.conn_id, s.peer, s.principal, auth_warn_.Suppressed());
  }
  return false;
}

bool KafkaFrontend::AllowedBeforeAuthentication(Session& s, const Header& h) {
  if (h.api_key == kafka::kApiVersionsKey || (IsSaslApi(h.api_key) && !s.sasl_raw)) return true;
  metrics::ThreadMetrics::ErrorInRequest(Code(ErrorCode::kIllegalSaslState));
  if (auth_warn_.Allow()) {
    spdlog::warn("kafka connection {} ({}): request {} before SASL authentication "
                 "(kafka.sasl=required); closing it{}",
                 s.core.route.conn_id, s.peer, h.api_key, auth_warn_.Suppressed());
  }
  return false;
}

std::vector<std::string> KafkaFrontend::OfferedMechanisms() const {
  std::vector<std::string> offered;
  for (const auto& m : opt_.sasl_mechanisms) {
    if (m != "PLAIN" || opt_.tls || opt_.sasl_plain_allow_plaintext) offered.push_back(m);
  }
  return offered;
}

void KafkaFrontend::OnTlsEstablished(net::Session& ns, const std::string& peer_subject) {
  // Kafka's default principal builder: the certificate's distinguished
  // name; SASL, when it follows, names the principal instead.
  if (!peer_subject.empty()) static_cast<Session&>(ns).principal = "User:" + peer_subject;
}

Outcome KafkaFrontend::HandleSaslHandshake(Session& s, const Header& h, Reader& r,
                                           net::ResponseOut& out) {
  kafka::SaslHandshakeRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Malformed(s, h);
  kafka::SaslHandshakeResponse resp;
  const std::vector<std::string> offered = OfferedMechanisms();
  for (const auto& m : offered) resp.mechanisms.push_back(m);
  const Asker a = Asker::Of(h);
  // Re-authentication: SaslHandshake v1 on an authenticated connection.
  const bool reauth = opt_.sasl_required && opt_.max_reauth_ms > 0 && s.authenticated &&
                      h.api_version >= 1 && !s.scram && !s.plain;
  if (!opt_.sasl_required || (s.authenticated && !reauth) || s.scram || s.plain) {
    resp.error_code = Code(ErrorCode::kIllegalSaslState);
    metrics::ThreadMetrics::ErrorInRequest(resp.error_code);
    Respond(out, a, resp);
    return opt_.sasl_required ? Outcome::kClose : Outcome::kDone;
  }
  const auto mechanism = security::ParseScramMechanism(req.mechanism);
  const bool plain = req.mechanism == "PLAIN";
  const bool enabled = std::find(offered.begin(), offered.end(), req.mechanism) != offered.end();
  if ((!mechanism && !plain) || !enabled) {
    resp.error_code = Code(ErrorCode::kUnsupportedSaslMechanism);
    metrics::ThreadMetrics::ErrorInRequest(resp.error_code);
    Respond(out, a, resp);
    return Outcome::kDone;  // the client may pick another one
  }
  s.reauthenticating = reauth;
  s.pending_mechanism = req.mechanism;
  if (plain) {
    s.plain = true;
  } else {
    security::CredentialStore* store = opt_.credentials;
    const security::ScramMechanism m = *mechanism;
    s.scram = std::make_unique<security::ScramServer>(
        m, [store, m](const std::string& user) { return store->Find(user, m); });
  }
  s.sasl_raw = h.api_version == 0;
  Respond(out, a, resp);
  return Outcome::kDone;
}

Result<std::string> KafkaFrontend::SaslStep(Session& s, std::string_view client_message,
                                            bool* done) {
  *done = false;
  // PLAIN is one message; SCRAM two, and the exchange's state says which.
  const bool plain = s.plain;
  const bool last = plain || !s.scram->user().empty();
  Result<std::string> answer = std::string();
  std::string user;
  if (plain) {
    s.plain = false;
    auto checked = security::CheckPlain(client_message, *opt_.credentials);
    if (checked.ok()) {
      user = *checked;
    } else {
      answer = checked.status();
    }
  } else {
    answer = last ? s.scram->Finish(client_message) : s.scram->Start(client_message);
    user = s.scram->user();
  }
  if (answer.ok() && last && s.reauthenticating &&
      ("User:" + user != s.principal || s.pending_mechanism != s.mechanism)) {
    // KIP-368: a connection keeps its principal and mechanism.
    answer = Status::PermissionDenied("re-authentication as " + s.pending_mechanism + " User:" +
                                      user + " on a connection of " + s.mechanism + " " +
                                      s.principal);
  }
  if (!answer.ok()) {
    if (auth_warn_.Allow()) {
      spdlog::warn("kafka connection {} ({}): SASL authentication failed ({}){}: {}{}",
                   s.core.route.conn_id, s.peer, plain ? "PLAIN" : "SCRAM",
                   user.empty() ? "" : " for user '" + user + "'", answer.status().message(),
                   auth_warn_.Suppressed());
    }
    s.scram.reset();
    return answer;
  }
  if (last) {
    s.authenticated = true;
    s.principal = "User:" + user;
    s.mechanism = s.pending_mechanism;
    s.session_expires_ms = opt_.max_reauth_ms > 0 ? SteadyMillis() + opt_.max_reauth_ms : 0;
    spdlog::debug("kafka connection {} ({}): {} as {}", s.core.route.conn_id, s.peer,
                  s.reauthenticating ? "re-authenticated" : "authenticated", s.principal);
    s.reauthenticating = false;
    s.scram.reset();
    s.sasl_raw = false;
    *done = true;
  }
  return answer;
}

Outcome KafkaFrontend::HandleSaslAuthenticate(Session& s, const Header& h, Reader& r,
                                              net::ResponseOut& out) {
  kafka::SaslAuthenticateRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Malformed(s, h);
  kafka::SaslAuthenticateResponse resp;
  const Asker a = Asker::Of(h);
  if (!s.scram && !s.plain) {
    resp.error_code = Code(ErrorCode::kIllegalSaslState);
    metrics::ThreadMetrics::ErrorInRequest(resp.error_code);
    resp.error_message = "SaslAuthenticate without a SaslHandshake v1 first";
    Respond(out, a, resp);
    return Outcome::kClose;
  }
  bool done = false;
  auto answer = SaslStep(s,
                         std::string_view(reinterpret_cast<const char*>(req.auth_bytes.data()),
                                          req.auth_bytes.size()),
                         &done);
  if (!answer.ok()) {
    resp.error_code = Code(ErrorCode::kSaslAuthenticationFailed);
    metrics::ThreadMetrics::ErrorInRequest(resp.error_code);
    // The reason (malformed message, unknown user, wrong proof) stays in
    // the broker's log: the client learns no more than Kafka's does.
    resp.error_message = "Authentication failed: invalid credentials";
    Respond(out, a, resp);
    return Outcome::kClose;
  }
  resp.auth_bytes.assign(answer->begin(), answer->end());
  // v1+: how long the session lasts (0: forever); the client re-authenticates
  // before then (KIP-368).
  if (done) resp.session_lifetime_ms = opt_.max_reauth_ms;
  Respond(out, a, resp);
  return Outcome::kDone;
}

Outcome KafkaFrontend::OnRawSaslToken(Session& s, std::span<const uint8_t> token,
                                      net::ResponseOut& out) {
  if (!s.scram && !s.plain) return Outcome::kClose;
  // Counted as SaslAuthenticate requests, which they stand for.
  metrics::ThreadMetrics::BeginRequest(metrics::Listener::kKafka, "sasl_authenticate",
                                       metrics::ThreadMetrics::Now());
  bool done = false;
  auto answer = SaslStep(
      s, std::string_view(reinterpret_cast<const char*>(token.data()), token.size()), &done);
  if (!answer.ok()) {
    metrics::ThreadMetrics::ErrorInRequest(Code(ErrorCode::kSaslAuthenticationFailed));
    return Outcome::kClose;
  }
  metrics::ThreadMetrics::EndRequest();
  std::vector<uint8_t>& b = *out.bytes();
  const uint32_t n = static_cast<uint32_t>(answer->size());
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>(n >> shift));
  b.insert(b.end(), answer->begin(), answer->end());
  return Outcome::kDone;
}

}  // namespace sentry::frontend
