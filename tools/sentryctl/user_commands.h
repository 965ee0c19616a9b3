// sentryctl user create|delete|list (docs/security.md): SCRAM credentials.
// Online through a running broker's Kafka listener (`--kafka`, Kafka's
// AlterUserScramCredentials / DescribeUserScramCredentials, logged in with
// --login-user / --login-password; the new password travels only salted and
// hashed), or offline into a stopped broker's data directory (`--data-dir`,
// like kafka-storage's `--add-scram` bootstrap of the first user).
#pragma once

#include <optional>
#include <string>

#include "client/connection.h"

namespace sentry::tools {

struct UserArgs {
  std::string name;
  std::string mechanism = "SCRAM-SHA-512";  // delete: empty = every mechanism
  std::string password;
  std::string password_file;
  int iterations = 4096;
  std::string data_dir;  // set: offline
  // Online (no --data-dir): the broker's Kafka listener and who logs in.
  std::string kafka = "127.0.0.1:9092";
  std::optional<client::TlsOptions> tls;
  std::string login_user, login_password, login_password_file;
  std::string login_mechanism = "SCRAM-SHA-512";
};

int UserCreate(const UserArgs& a);
int UserDelete(const UserArgs& a);
int UserList(const UserArgs& a);

}  // namespace sentry::tools
