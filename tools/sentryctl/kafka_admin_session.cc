#include "sentryctl/kafka_admin_session.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

#include "client/client.h"

#include "kafka/errors.h"
#include "security/scram.h"

namespace sentry::tools {

namespace {
constexpr char kClientId[] = "sentryctl";
constexpr int kTimeoutMs = 15000;
constexpr uint32_t kMaxAnswer = 64u << 20;
constexpr int16_t kSaslVersion = 1;  // SaslHandshake v1 then SaslAuthenticate v1 frames
}  // namespace

Result<KafkaLogin> LoginFromFlags(const std::string& kafka,
                                  const std::optional<client::TlsOptions>& tls,
                                  const std::string& user, const std::string& password,
                                  const std::string& password_file, const std::string& mechanism) {
  KafkaLogin login;
  auto hp = client::ParseHostPort(kafka);
  if (!hp.ok()) return Status::InvalidArgument("--kafka: " + hp.status().message());
  login.host = hp->first;
  login.port = hp->second;
  if (tls) {
    login.use_tls = true;
    login.tls = *tls;
  }
  login.user = user;
  login.password = password;
  login.mechanism = mechanism;
  if (!password_file.empty()) {
    SENTRY_ASSIGN_OR_RETURN(login.password, client::ReadPasswordFile(password_file));
  }
  if (!login.user.empty() && login.password.empty()) {
    return Status::InvalidArgument("a login user needs a password (or a password file)");
  }
  return login;
}

std::unique_ptr<KafkaAdminSession> OpenSessionOrReport(
    const char* cmd, const std::string& kafka, const std::optional<client::TlsOptions>& tls,
    const std::string& user, const std::string& password, const std::string& password_file,
    const std::string& mechanism, const char* no_user_hint, int* rc) {
  auto login = LoginFromFlags(kafka, tls, user, password, password_file, mechanism);
  if (!login.ok()) {
    std::fprintf(stderr, "sentryctl %s: %s\n", cmd, login.status().ToString().c_str());
    *rc = login.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
    return nullptr;
  }
  auto s = KafkaAdminSession::Open(*login);
  if (!s.ok()) {
    std::fprintf(stderr, "sentryctl %s: %s:%d: %s%s\n", cmd, login->host.c_str(), login->port,
                 s.status().ToString().c_str(), user.empty() ? no_user_hint : "");
    *rc = 1;
    return nullptr;
  }
  return std::move(s).value();
}

Result<std::unique_ptr<KafkaAdminSession>> KafkaAdminSession::Open(const KafkaLogin& login) {
  client::Security security;
  if (login.use_tls) security.tls = login.tls;
  auto conn = client::Connection::Connect(login.host, login.port, 5000, security);
  if (!conn.ok()) return conn.status();
  std::unique_ptr<KafkaAdminSession> s(new KafkaAdminSession(std::move(conn).value()));
  if (!login.user.empty()) SENTRY_RETURN_IF_ERROR(s->Authenticate(login));
  return s;
}

Status KafkaAdminSession::Exchange(int16_t api_key, int16_t version,
                                   const std::vector<uint8_t>& body) {
  // Request header v1: api key, version, correlation id, client id.
  std::vector<uint8_t> frame(4);
  kafka::Writer w(&frame);
  w.Int16(api_key);
  w.Int16(version);
  const int32_t corr = ++correlation_;
  w.Int32(corr);
  w.String(false, kClientId);  // a classic string in header v2 as well
  if (kafka::IsFlexible(api_key, version)) w.EmptyTaggedFields();
  frame.insert(frame.end(), body.begin(), body.end());
  const uint32_t len = htonl(static_cast<uint32_t>(frame.size() - 4));
  std::memcpy(frame.data(), &len, 4);
  SENTRY_RETURN_IF_ERROR(conn_->SendRaw(frame));
  uint8_t head[8];
  SENTRY_RETURN_IF_ERROR(conn_->ReadExact(head, 4, kTimeoutMs));
  uint32_t n;
  std::memcpy(&n, head, 4);
  n = ntohl(n);
  if (n < 4 || n > kMaxAnswer) return Status::Corruption("answer length " + std::to_string(n));
  SENTRY_RETURN_IF_ERROR(conn_->ReadExact(head + 4, 4, kTimeoutMs));
  int32_t got;
  std::memcpy(&got, head + 4, 4);
  if (static_cast<int32_t>(ntohl(static_cast<uint32_t>(got))) != corr) {
    return Status::Corruption("an answer to another request");
  }
  answer_.resize(n - 4);
  return conn_->ReadExact(answer_.data(), answer_.size(), kTimeoutMs);
}

Status KafkaAdminSession::Authenticate(const KafkaLogin& login) {
  const auto m = security::ParseScramMechanism(login.mechanism);
  if (!m) {
    return Status::InvalidArgument("--mechanism must be SCRAM-SHA-256 or SCRAM-SHA-512, not '" +
                                   login.mechanism + "'");
  }
  kafka::SaslHandshakeRequest hs;
  hs.mechanism = login.mechanism;
  kafka::SaslHandshakeResponse hr;
  SENTRY_RETURN_IF_ERROR(Call(kSaslVersion, hs, &hr));
  if (hr.error_code != 0) {
    return Status::PermissionDenied("the broker does not offer " + login.mechanism +
                                    " (SaslHandshake error " + std::to_string(hr.error_code) +
                                    ")");
  }
  security::ScramClient scram(*m, login.user, login.password);
  auto step = [&](const std::string& out, std::string* in) -> Status {
    kafka::SaslAuthenticateRequest req;
    req.auth_bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(out.data()),
                                              out.size());
    kafka::SaslAuthenticateResponse resp;
    SENTRY_RETURN_IF_ERROR(Call(kSaslVersion, req, &resp));
    if (resp.error_code != 0) {
      return Status::PermissionDenied("authentication as " + login.user + " failed: " +
                                      resp.error_message.value_or("error " +
                                                                  std::to_string(resp.error_code)));
    }
    in->assign(resp.auth_bytes.begin(), resp.auth_bytes.end());
    return Status::OK();
  };
  std::string server_first, server_final;
  SENTRY_RETURN_IF_ERROR(step(scram.First(), &server_first));
  auto client_final = scram.Final(server_first);
  if (!client_final.ok()) return client_final.status();
  SENTRY_RETURN_IF_ERROR(step(*client_final, &server_final));
  return scram.Verify(server_final);
}

}  // namespace sentry::tools
