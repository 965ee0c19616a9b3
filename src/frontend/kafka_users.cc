// Kafka's user management (KIP-554): DescribeUserScramCredentials and
// AlterUserScramCredentials on the broker's credential store, so users are
// added and removed through a running broker (sentryctl user --kafka, or any
// Kafka admin client) instead of only offline.
#include <spdlog/spdlog.h>

#include <map>
#include <set>

#include "frontend/kafka_frontend.h"
#include "frontend/kafka_session.h"

namespace sentry::frontend {

using kafka::ErrorCode;
using net::Outcome;
using net::ResponseOut;
using security::ScramMechanism;

namespace {

// Kafka's ScramMechanism numbers.
std::optional<ScramMechanism> MechanismOf(int8_t wire) {
  if (wire == 1) return ScramMechanism::kSha256;
  if (wire == 2) return ScramMechanism::kSha512;
  return std::nullopt;
}
int8_t WireOf(ScramMechanism m) { return m == ScramMechanism::kSha256 ? 1 : 2; }

}  // namespace

Outcome KafkaFrontend::HandleDescribeUserScramCredentials(Session& s, const Header& h, Reader& r,
                                                          ResponseOut& out) {
  kafka::DescribeUserScramCredentialsRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  kafka::DescribeUserScramCredentialsResponse resp;
  if (!AllowedCluster(s, security::AclOperation::kDescribe)) {
    resp.error_code = Code(ErrorCode::kClusterAuthorizationFailed);
    resp.error_message = "describing users needs DESCRIBE on the cluster";
    Respond(out, Asker::Of(h), resp);
    return Outcome::kDone;
  }
  const auto users = opt_.sasl.credentials->List();
  auto describe = [&](const std::string& name) {
    kafka::DescribeUserScramCredentialsResponse::DescribeUserScramCredentialsResult res;
    res.user = name;
    for (const auto& [user, mechanisms] : users) {
      if (user != name) continue;
      for (ScramMechanism m : mechanisms) {
        if (auto c = opt_.sasl.credentials->Find(user, m)) {
          res.credential_infos.push_back({WireOf(m), c->iterations});
        }
      }
    }
    if (res.credential_infos.empty()) {
      res.error_code = Code(ErrorCode::kResourceNotFound);
      res.error_message = "no SCRAM credential for user '" + name + "'";
    }
    return res;
  };
  if (!req.users || req.users->empty()) {
    for (const auto& [user, mechanisms] : users) resp.results.push_back(describe(user));
  } else {
    std::multiset<std::string_view> named;
    for (const auto& u : *req.users) named.insert(u.name);
    std::set<std::string_view> answered;
    for (const auto& u : *req.users) {
      if (!answered.insert(u.name).second) continue;
      if (named.count(u.name) > 1) {
        kafka::DescribeUserScramCredentialsResponse::DescribeUserScramCredentialsResult res;
        res.user = std::string(u.name);
        res.error_code = Code(ErrorCode::kDuplicateResource);
        res.error_message = "user named more than once";
        resp.results.push_back(std::move(res));
        continue;
      }
      resp.results.push_back(describe(std::string(u.name)));
    }
  }
  Respond(out, Asker::Of(h), resp);
  return Outcome::kDone;
}

Outcome KafkaFrontend::HandleAlterUserScramCredentials(Session& s, const Header& h, Reader& r,
                                                       ResponseOut& out) {
  kafka::AlterUserScramCredentialsRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  // One result per user, in the order first named; the first error wins.
  std::vector<std::string> order;
  std::map<std::string, std::pair<int16_t, std::string>> result;
  auto fail = [&](const std::string& user, ErrorCode e, std::string message) {
    auto& entry = result[user];
    if (entry.first == 0) entry = {Code(e), std::move(message)};
  };
  std::map<std::pair<std::string, int8_t>, int> seen;
  for (const auto& d : req.deletions) seen[{std::string(d.name), d.mechanism}]++;
  for (const auto& u : req.upsertions) seen[{std::string(u.name), u.mechanism}]++;
  auto note = [&](std::string_view name) {
    const std::string n(name);
    if (!result.count(n)) {
      order.push_back(n);
      result[n] = {0, ""};
    }
    return n;
  };
  const bool allowed = AllowedCluster(s, security::AclOperation::kAlter);
  auto check = [&](const std::string& user, int8_t mech) -> std::optional<ScramMechanism> {
    if (!allowed) {
      fail(user, ErrorCode::kClusterAuthorizationFailed,
           "changing users needs ALTER on the cluster");
    } else if (user.empty()) {
      fail(user, ErrorCode::kUnacceptableCredential, "an empty user name");
    } else if (seen[{user, mech}] > 1) {
      fail(user, ErrorCode::kDuplicateResource, "a user and mechanism named more than once");
    } else if (auto m = MechanismOf(mech)) {
      return m;
    } else {
      fail(user, ErrorCode::kUnsupportedSaslMechanism,
           "unknown SCRAM mechanism " + std::to_string(mech));
    }
    return std::nullopt;
  };
  for (const auto& d : req.deletions) {
    const std::string user = note(d.name);
    auto m = check(user, d.mechanism);
    if (!m || result[user].first != 0) continue;
    Status st = opt_.sasl.credentials->Remove(user, *m);
    if (st.code() == Status::Code::kNotFound) {
      fail(user, ErrorCode::kResourceNotFound, st.message());
    } else if (!st.ok()) {
      fail(user, ErrorCode::kUnknownServerError, st.message());
    } else {
      spdlog::info("kafka: {} deleted the {} credential of user {}", s.principal,
                   security::ScramMechanismName(*m), user);
    }
  }
  for (const auto& u : req.upsertions) {
    const std::string user = note(u.name);
    auto m = check(user, u.mechanism);
    if (!m || result[user].first != 0) continue;
    auto c = security::ScramCredentialFromSalted(
        *m, std::string(u.salt.begin(), u.salt.end()), u.iterations,
        std::string_view(reinterpret_cast<const char*>(u.salted_password.data()),
                         u.salted_password.size()));
    if (!c.ok()) {
      fail(user, ErrorCode::kUnacceptableCredential, c.status().message());
      continue;
    }
    if (Status st = opt_.sasl.credentials->Upsert(user, *c); !st.ok()) {
      fail(user, ErrorCode::kUnknownServerError, st.message());
    } else {
      spdlog::info("kafka: {} stored a {} credential for user {}", s.principal,
                   security::ScramMechanismName(*m), user);
    }
  }
  kafka::AlterUserScramCredentialsResponse resp;
  for (const auto& user : order) {
    const auto& [code, message] = result[user];
    resp.results.push_back({user, code, code == 0 ? std::nullopt
                                                  : std::optional<std::string>(message)});
  }
  Respond(out, Asker::Of(h), resp);
  return Outcome::kDone;
}

}  // namespace sentry::frontend
