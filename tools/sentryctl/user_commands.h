// sentryctl user create|delete|list (docs/security.md): SCRAM credentials in
// a broker's data directory. Offline only for now (`--data-dir` of a
// stopped broker, which reads them at start), like kafka-storage's
// `--add-scram` bootstrap; the online path through a running broker is not
// built yet and says so.
#pragma once

#include <optional>
#include <string>

namespace sentry::tools {

struct UserArgs {
  std::string name;
  std::string mechanism = "SCRAM-SHA-512";  // delete: empty = every mechanism
  std::string password;
  std::string password_file;
  int iterations = 4096;
  std::string data_dir;  // required until the online path exists
};

int UserCreate(const UserArgs& a);
int UserDelete(const UserArgs& a);
int UserList(const UserArgs& a);

}  // namespace sentry::tools
