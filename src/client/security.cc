#include "client/security.h"

#include <fstream>

namespace sentry::client {

Result<std::string> ReadPasswordFile(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (in && std::getline(in, line) && !line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return Status::IoError("cannot read a password from " + path);
  return line;
}

Result<std::optional<SaslOptions>> SaslFromFlags(const std::string& user,
                                                 const std::string& password,
                                                 const std::string& password_file,
                                                 const std::string& mechanism) {
  if (!password.empty() && !password_file.empty()) {
    return Status::InvalidArgument("give --password or --password-file, not both");
  }
  if (user.empty()) {
    if (!password.empty() || !password_file.empty()) {
      return Status::InvalidArgument("a password needs --user");
    }
    if (!mechanism.empty() && mechanism != SaslOptions().mechanism) {
      return Status::InvalidArgument("--sasl-mechanism needs --user");
    }
    return std::optional<SaslOptions>();
  }
  SaslOptions o;
  o.mechanism = mechanism.empty() ? o.mechanism : mechanism;
  o.user = user;
  o.password = password;
  if (!password_file.empty()) {
    SENTRY_ASSIGN_OR_RETURN(o.password, ReadPasswordFile(password_file));
  }
  if (o.password.empty()) {
    return Status::InvalidArgument("--user " + user + " needs --password or --password-file");
  }
  return std::optional<SaslOptions>(std::move(o));
}

}  // namespace sentry::client
