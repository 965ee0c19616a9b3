// How a client reaches a broker securely: TLS (the brokers' native.tls.port)
// and SASL (native.sasl=required), as Connection::Connect takes them, and
// the one way the tools build them from their flags.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"

namespace sentry::client {

struct TlsOptions {
  std::string ca_file;  // PEM CAs the broker's certificate must chain to
  // Mutual TLS (the broker's tls.client.auth): this client's certificate
  // chain and key, PEM; empty: none presented.
  std::string cert_file;
  std::string key_file;
};

// SASL: the AUTHENTICATE exchange right after connecting (and TLS). SCRAM
// also checks the broker's signature, so a broker that does not hold the
// credential is caught.
struct SaslOptions {
  std::string mechanism = "SCRAM-SHA-512";  // or SCRAM-SHA-256, PLAIN
  std::string user;
  std::string password;
};

// Empty: plaintext and unauthenticated.
struct Security {
  std::optional<TlsOptions> tls;
  std::optional<SaslOptions> sasl;
};

// The first line of `path` (a password file; its line end, \n or \r\n, dropped).
Result<std::string> ReadPasswordFile(const std::string& path);

// The tools' --user/--password/--password-file/--sasl-mechanism: nullopt
// without --user; InvalidArgument for a password without a user, a user
// without a password, or both a password and a file.
Result<std::optional<SaslOptions>> SaslFromFlags(const std::string& user,
                                                 const std::string& password,
                                                 const std::string& password_file,
                                                 const std::string& mechanism);

}  // namespace sentry::client
