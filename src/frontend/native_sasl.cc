// SASL on the native listener (docs/protocol.md, AUTHENTICATE; docs/security.md):
// the mechanisms and rules of the Kafka listener (security::SaslSession), in
// one native API instead of Kafka's two:
//  - with native.sasl=required a connection may send only API_VERSIONS and
//    AUTHENTICATE until an exchange succeeds; anything else is answered
//    ILLEGAL_SASL_STATE and the connection closed, as Kafka closes it;
//  - each AUTHENTICATE carries the mechanism and one client message; an
//    unoffered mechanism is UNSUPPORTED_SASL_MECHANISM with the offered list
//    as the body (the connection stays open); a failed exchange is
//    SASL_AUTHENTICATION_FAILED and the connection is closed; both logged,
//    rate-limited;
//  - with connections.max.reauth.ms the session ends after that long; the
//    client re-authenticates (same mechanism and principal) on the same
//    connection before, or its next other request closes it.
// Without native.sasl=required AUTHENTICATE is ILLEGAL_SASL_STATE, as a
// SaslHandshake on a Kafka PLAINTEXT listener, and the connection stays open.
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "frontend/native_frontend.h"
#include "frontend/native_session.h"
#include "metrics/thread_metrics.h"

namespace sentry::frontend {

using net::Outcome;
using protocol::ApiKey;
using protocol::ByteReader;
using protocol::ErrorCode;
using metrics::ThreadMetrics;

namespace {

bool IsAuthApi(uint16_t key) {
  return key == static_cast<uint16_t>(ApiKey::kApiVersions) ||
         key == static_cast<uint16_t>(ApiKey::kAuthenticate);
}

// An error answer of `code`, counted; `body` (may be null) follows the code.
template <typename Body>
void AnswerError(net::ResponseOut& out, const protocol::RequestHeader& h, ErrorCode code,
                 const Body* body) {
  ThreadMetrics::ErrorInRequest(static_cast<int16_t>(code));
  protocol::ByteWriter w(out.bytes());
  size_t start = BeginResponse(&w, h, static_cast<int16_t>(code));
  if (body) Encode(&w, *body);
  FinishFrame(&w, start);
}

}  // namespace

bool NativeFrontend::MaySend(net::Session& ns, const Header& h) {
  auto& s = static_cast<NativeSession&>(ns);
  if (IsAuthApi(h.api_key)) return true;
  if (!s.authenticated) {
    if (auth_log_.Allow()) {
      spdlog::warn("native connection {} ({}): {} before SASL authentication "
                   "(native.sasl=required); closing it{}",
                   s.core.route.conn_id, s.peer, protocol::ApiName(h.api_key),
                   auth_log_.Suppressed());
    }
    return false;
  }
  if (!s.sasl.Expired(SteadyMillis())) return true;
  if (auth_log_.Allow()) {
    spdlog::info("native connection {} ({}): {}'s session expired (connections.max.reauth.ms) "
                 "before it re-authenticated; closing it{}",
                 s.core.route.conn_id, s.peer, s.principal, auth_log_.Suppressed());
  }
  return false;
}

Outcome NativeFrontend::HandleAuthenticate(net::Session& ns, const Header& h, ByteReader& r,
                                           net::ResponseOut& out) {
  auto& s = static_cast<NativeSession&>(ns);
  protocol::AuthenticateRequest req;
  if (!Decode(&r, &req)) return Malformed(out, h);
  const protocol::SaslMechanisms* none = nullptr;
  if (!opt_.sasl_required) {
    AnswerError(out, h, ErrorCode::kIllegalSaslState, none);
    return Outcome::kDone;  // nothing to authenticate for: the listener is open
  }
  if (!s.sasl.exchanging()) {
    switch (s.sasl.Start(opt_.sasl, req.mechanism)) {
      case security::SaslSession::Begin::kStarted:
        break;
      case security::SaslSession::Begin::kUnsupported: {
        protocol::SaslMechanisms offered{opt_.sasl.Offered()};
        AnswerError(out, h, ErrorCode::kUnsupportedSaslMechanism, &offered);
        return Outcome::kDone;  // the client may pick another one
      }
      case security::SaslSession::Begin::kIllegalState:
        // Authenticated, and re-authentication is off.
        AnswerError(out, h, ErrorCode::kIllegalSaslState, none);
        return Outcome::kClose;
    }
  } else if (req.mechanism != s.sasl.pending_mechanism()) {
    AnswerError(out, h, ErrorCode::kIllegalSaslState, none);
    return Outcome::kClose;
  }
  const bool reauthenticating = s.sasl.reauthenticating();
  bool done = false;
  std::string user;
  auto answer = s.sasl.Step(opt_.sasl, req.auth_bytes, &done, &user);
  if (!answer.ok()) {
    if (auth_log_.Allow()) {
      spdlog::warn("native connection {} ({}): SASL authentication failed ({}){}: {}{}",
                   s.core.route.conn_id, s.peer, req.mechanism,
                   user.empty() ? "" : " for user '" + security::LoggableUser(user) + "'",
                   answer.status().message(),
                   auth_log_.Suppressed());
    }
    AnswerError(out, h, ErrorCode::kSaslAuthenticationFailed, none);
    return Outcome::kClose;
  }
  protocol::AuthenticateResponse resp;
  resp.auth_bytes = std::move(*answer);
  if (done) {
    s.authenticated = true;
    s.principal = s.sasl.principal();
    resp.authenticated = 1;
    resp.session_lifetime_ms = opt_.sasl.max_reauth_ms;
    spdlog::debug("native connection {} ({}): {} as {} ({})", s.core.route.conn_id, s.peer,
                  reauthenticating ? "re-authenticated" : "authenticated", s.principal,
                  s.sasl.mechanism());
  }
  return Respond(out, h, resp);
}

}  // namespace sentry::frontend
