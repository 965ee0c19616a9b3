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
  if (!s.sasl.Expired(SteadyMillis())) return true;
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
  for (const auto& m : opt_.sasl.Offered()) resp.mechanisms.push_back(m);
  const Asker a = Asker::Of(h);
  // Re-authentication (KIP-368) is SaslHandshake v1 on an authenticated
  // connection; the session allows it only with connections.max.reauth.ms.
  auto begin = security::SaslSession::Begin::kIllegalState;
  if (opt_.sasl_required && (!s.authenticated || h.api_version >= 1)) {
    begin = s.sasl.Start(opt_.sasl, req.mechanism);
  }
  if (begin == security::SaslSession::Begin::kIllegalState) {
    resp.error_code = Code(ErrorCode::kIllegalSaslState);
    metrics::ThreadMetrics::ErrorInRequest(resp.error_code);
    Respond(out, a, resp);
    return opt_.sasl_required ? Outcome::kClose : Outcome::kDone;
  }
  if (begin == security::SaslSession::Begin::kUnsupported) {
    resp.error_code = Code(ErrorCode::kUnsupportedSaslMechanism);
    metrics::ThreadMetrics::ErrorInRequest(resp.error_code);
    Respond(out, a, resp);
    return Outcome::kDone;  // the client may pick another one
  }
  s.sasl_raw = h.api_version == 0;
  Respond(out, a, resp);
  return Outcome::kDone;
}

Result<std::string> KafkaFrontend::SaslStep(Session& s, std::string_view client_message,
                                            bool* done) {
  const bool reauthenticating = s.sasl.reauthenticating();
  std::string user;
  auto answer = s.sasl.Step(opt_.sasl, client_message, done, &user);
  if (!answer.ok()) {
    if (auth_warn_.Allow()) {
      spdlog::warn("kafka connection {} ({}): SASL authentication failed ({}){}: {}{}",
                   s.core.route.conn_id, s.peer, s.sasl.pending_mechanism(),
                   user.empty() ? "" : " for user '" + security::LoggableUser(user) + "'",
                   answer.status().message(),
                   auth_warn_.Suppressed());
    }
    return answer;
  }
  if (*done) {
    s.authenticated = true;
    s.principal = s.sasl.principal();
    s.sasl_raw = false;
    spdlog::debug("kafka connection {} ({}): {} as {} ({})", s.core.route.conn_id, s.peer,
                  reauthenticating ? "re-authenticated" : "authenticated", s.principal,
                  s.sasl.mechanism());
  }
  return answer;
}

Outcome KafkaFrontend::HandleSaslAuthenticate(Session& s, const Header& h, Reader& r,
                                              net::ResponseOut& out) {
  kafka::SaslAuthenticateRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Malformed(s, h);
  kafka::SaslAuthenticateResponse resp;
  const Asker a = Asker::Of(h);
  if (!s.sasl.exchanging()) {
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
  if (done) resp.session_lifetime_ms = opt_.sasl.max_reauth_ms;
  Respond(out, a, resp);
  return Outcome::kDone;
}

Outcome KafkaFrontend::OnRawSaslToken(Session& s, std::span<const uint8_t> token,
                                      net::ResponseOut& out) {
  if (!s.sasl.exchanging()) return Outcome::kClose;
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
