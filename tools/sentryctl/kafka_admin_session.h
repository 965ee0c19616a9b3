// KafkaAdminSession: sentryctl speaking the Kafka protocol to a broker's
// Kafka listener for what the native protocol does not carry (ACLs): a
// connection (TLS with --tls-ca), SASL/SCRAM as --user/--password when
// given, then one request at a time with the generated codecs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client/connection.h"
#include "common/status.h"
#include "kafka/header.h"
#include "kafka/messages.h"
#include "kafka/wire.h"

namespace sentry::tools {

struct KafkaLogin {
  std::string host = "127.0.0.1";
  int port = 9092;
  bool use_tls = false;
  client::TlsOptions tls;
  std::string user;  // empty: no SASL (the broker must not require it)
  std::string password;
  std::string mechanism = "SCRAM-SHA-512";
};

// The login that sentryctl's flags describe: `kafka` is HOST:PORT, the
// password read from `password_file` when one is named. InvalidArgument for
// flags that do not fit together, IoError for an unreadable file.
Result<KafkaLogin> LoginFromFlags(const std::string& kafka,
                                  const std::optional<client::TlsOptions>& tls,
                                  const std::string& user, const std::string& password,
                                  const std::string& password_file, const std::string& mechanism);

class KafkaAdminSession;

// sentryctl's commands that speak Kafka (acl, user --kafka): logs in as the
// flags say, or prints "sentryctl CMD: why" (plus `no_user_hint` when the
// connection or login failed without a user) and sets *rc: 2 for flags that
// do not fit together, 1 otherwise.
std::unique_ptr<KafkaAdminSession> OpenSessionOrReport(
    const char* cmd, const std::string& kafka, const std::optional<client::TlsOptions>& tls,
    const std::string& user, const std::string& password, const std::string& password_file,
    const std::string& mechanism, const char* no_user_hint, int* rc);

class KafkaAdminSession {
 public:
  // Connects and, with a user, authenticates; errors say which step failed.
  static Result<std::unique_ptr<KafkaAdminSession>> Open(const KafkaLogin& login);

  // Sends `req` as `version` of API `Req::kApiKey` (request header v1, or v2
  // for a flexible version) and decodes the answer into *resp.
  template <typename Req, typename Resp>
  Status Call(int16_t version, const Req& req, Resp* resp) {
    std::vector<uint8_t> body;
    kafka::Writer w(&body);
    kafka::Encode(w, version, req);
    SENTRY_RETURN_IF_ERROR(Exchange(Req::kApiKey, version, body));
    kafka::Reader r(answer_);
    // A flexible answer's header ends with tagged fields.
    const bool flexible = kafka::IsFlexible(Req::kApiKey, version);
    if ((flexible && !r.SkipTaggedFields()) || !kafka::Decode(r, version, resp)) {
      return Status::Corruption("the broker's answer to API " + std::to_string(Req::kApiKey) +
                                " does not decode");
    }
    return Status::OK();
  }

 private:
  explicit KafkaAdminSession(std::unique_ptr<client::Connection> c) : conn_(std::move(c)) {}
  // One request frame out, its answer's body (after the correlation id)
  // into answer_.
  Status Exchange(int16_t api_key, int16_t version, const std::vector<uint8_t>& body);
  Status Authenticate(const KafkaLogin& login);

  std::unique_ptr<client::Connection> conn_;
  int32_t correlation_ = 0;
  std::vector<uint8_t> answer_;
};

}  // namespace sentry::tools
