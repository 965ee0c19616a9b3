#include "security/plain.h"

namespace sentry::security {

Result<std::string> CheckPlain(std::string_view message, const CredentialStore& store) {
  const size_t first = message.find('\0');
  const size_t second = first == std::string_view::npos ? first : message.find('\0', first + 1);
  if (second == std::string_view::npos ||
      message.find('\0', second + 1) != std::string_view::npos) {
    return Status::InvalidArgument("malformed PLAIN message (want authzid NUL user NUL password)");
  }
  const std::string_view parts[3] = {message.substr(0, first),
                                     message.substr(first + 1, second - first - 1),
                                     message.substr(second + 1)};
  const std::string user(parts[1]);
  const std::string_view password = parts[2];
  if (user.empty() || password.empty()) {
    return Status::InvalidArgument("PLAIN message with an empty user name or password");
  }
  // The strongest credential the user has; a made-up one otherwise, so an
  // unknown user costs the PBKDF2 of a default (SHA-512, 4096) user.
  std::optional<ScramCredential> c = store.Find(user, ScramMechanism::kSha512);
  if (!c) c = store.Find(user, ScramMechanism::kSha256);
  const bool known = c.has_value();
  if (!known) {
    static const ScramCredential kDecoy = [] {
      auto d = MakeScramCredential(ScramMechanism::kSha512, "decoy password");
      return d.ok() ? *d : ScramCredential{};
    }();
    c = kDecoy;
  }
  const bool matches = ScramPasswordMatches(*c, password);
  if (!known || !matches) {
    return Status::PermissionDenied("wrong password or unknown user '" + user + "'");
  }
  if (!parts[0].empty() && parts[0] != parts[1]) {
    return Status::PermissionDenied("authorization id '" + std::string(parts[0]) +
                                    "' is not the user '" + user + "'");
  }
  return user;
}

}  // namespace sentry::security
