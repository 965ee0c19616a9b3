#include "security/sasl_session.h"

#include <algorithm>

#include "common/clock.h"
#include "security/plain.h"

namespace sentry::security {

std::string LoggableUser(std::string_view user) {
  std::string out(user);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

std::vector<std::string> SaslPolicy::Offered() const {
  std::vector<std::string> offered;
  for (const auto& m : mechanisms) {
    if (m != "PLAIN" || tls || plain_allow_plaintext) offered.push_back(m);
  }
  return offered;
}

SaslSession::Begin SaslSession::Start(const SaslPolicy& policy, std::string_view mechanism) {
  if (exchanging() || (authenticated_ && policy.max_reauth_ms <= 0)) return Begin::kIllegalState;
  const std::vector<std::string> offered = policy.Offered();
  const auto scram = ParseScramMechanism(mechanism);
  const bool plain = mechanism == "PLAIN";
  if ((!scram && !plain) || std::find(offered.begin(), offered.end(), mechanism) == offered.end()) {
    return Begin::kUnsupported;
  }
  reauthenticating_ = authenticated_;
  pending_mechanism_ = std::string(mechanism);
  if (plain) {
    plain_ = true;
  } else {
    CredentialStore* store = policy.credentials;
    const ScramMechanism m = *scram;
    scram_ = std::make_unique<ScramServer>(
        m, [store, m](const std::string& user) { return store->Find(user, m); });
  }
  return Begin::kStarted;
}

Result<std::string> SaslSession::Step(const SaslPolicy& policy, std::string_view client_message,
                                      bool* done, std::string* user) {
  *done = false;
  if (!exchanging()) return Status::InvalidArgument("no SASL exchange in progress");
  // PLAIN is one message; SCRAM two, and the exchange's state says which.
  const bool plain = plain_;
  const bool last = plain || !scram_->user().empty();
  Result<std::string> answer = std::string();
  if (plain) {
    plain_ = false;
    auto checked = CheckPlain(client_message, *policy.credentials);
    if (checked.ok()) {
      *user = *checked;
    } else {
      answer = checked.status();
    }
  } else {
    answer = last ? scram_->Finish(client_message) : scram_->Start(client_message);
    *user = scram_->user();
  }
  if (answer.ok() && last && reauthenticating_ &&
      ("User:" + *user != principal_ || pending_mechanism_ != mechanism_)) {
    // KIP-368: a connection keeps its principal and mechanism.
    answer = Status::PermissionDenied("re-authentication as " + pending_mechanism_ + " User:" +
                                      *user + " on a connection of " + mechanism_ + " " +
                                      principal_);
  }
  if (!answer.ok() || last) {
    scram_.reset();
    plain_ = false;
  }
  if (!answer.ok()) {
    reauthenticating_ = false;
    return answer;
  }
  if (last) {
    authenticated_ = true;
    principal_ = "User:" + *user;
    mechanism_ = pending_mechanism_;
    expires_ms_ = policy.max_reauth_ms > 0 ? SteadyMillis() + policy.max_reauth_ms : 0;
    reauthenticating_ = false;
    *done = true;
  }
  return answer;
}

}  // namespace sentry::security
