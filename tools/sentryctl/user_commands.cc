#include "sentryctl/user_commands.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "security/credential_store.h"

namespace sentry::tools {
namespace {

using security::CredentialStore;

// The store of a.data_dir, or an error printed (exit status 1/2 in *rc).
std::unique_ptr<CredentialStore> OpenStore(const UserArgs& a, int* rc) {
  if (a.data_dir.empty()) {
    std::fprintf(stderr,
                 "sentryctl user: --data-dir DIR is required: users are written into a stopped "
                 "broker's data directory (changing them through a running broker is not "
                 "implemented yet)\n");
    *rc = 2;
    return nullptr;
  }
  auto store = CredentialStore::Open(a.data_dir);
  if (!store.ok()) {
    std::fprintf(stderr, "sentryctl user: %s\n", store.status().ToString().c_str());
    *rc = 1;
    return nullptr;
  }
  return std::move(store).value();
}

}  // namespace

int UserCreate(const UserArgs& a) {
  const auto m = security::ParseScramMechanism(a.mechanism);
  if (!m) {
    std::fprintf(stderr, "sentryctl user create: --mechanism must be SCRAM-SHA-256 or "
                         "SCRAM-SHA-512, not '%s'\n", a.mechanism.c_str());
    return 2;
  }
  std::string password = a.password;
  if (!a.password_file.empty()) {
    std::ifstream in(a.password_file);
    if (!in || !std::getline(in, password)) {
      std::fprintf(stderr, "sentryctl user create: cannot read a password from %s\n",
                   a.password_file.c_str());
      return 1;
    }
  }
  if (password.empty()) {
    std::fprintf(stderr, "sentryctl user create: --password or --password-file is required\n");
    return 2;
  }
  int rc = 0;
  auto store = OpenStore(a, &rc);
  if (!store) return rc;
  auto c = security::MakeScramCredential(*m, password, a.iterations);
  if (!c.ok()) {
    std::fprintf(stderr, "sentryctl user create: %s\n", c.status().message().c_str());
    return 2;
  }
  Status s = store->Upsert(a.name, *c);
  if (!s.ok()) {
    std::fprintf(stderr, "sentryctl user create: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("user %s: %s credential stored (%d iterations)\n", a.name.c_str(),
              security::ScramMechanismName(*m), a.iterations);
  return 0;
}

int UserDelete(const UserArgs& a) {
  std::optional<security::ScramMechanism> m;
  if (!a.mechanism.empty()) {
    m = security::ParseScramMechanism(a.mechanism);
    if (!m) {
      std::fprintf(stderr, "sentryctl user delete: unknown mechanism '%s'\n",
                   a.mechanism.c_str());
      return 2;
    }
  }
  int rc = 0;
  auto store = OpenStore(a, &rc);
  if (!store) return rc;
  Status s = store->Remove(a.name, m);
  if (!s.ok()) {
    std::fprintf(stderr, "sentryctl user delete: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("user %s: deleted\n", a.name.c_str());
  return 0;
}

int UserList(const UserArgs& a) {
  int rc = 0;
  auto store = OpenStore(a, &rc);
  if (!store) return rc;
  for (const auto& [user, mechanisms] : store->List()) {
    std::string names;
    for (auto m : mechanisms) names += std::string(names.empty() ? "" : ",") +
                                       security::ScramMechanismName(m);
    std::printf("%s %s\n", user.c_str(), names.c_str());
  }
  return 0;
}

}  // namespace sentry::tools
