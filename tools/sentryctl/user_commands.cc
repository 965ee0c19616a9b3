#include "sentryctl/user_commands.h"

#include <cstdio>
#include <sstream>

#include "client/security.h"
#include "common/file_util.h"
#include "sentryctl/kafka_admin_session.h"
#include "security/credential_store.h"

namespace sentry::tools {
namespace {

using security::CredentialStore;

// The store of a.data_dir, or an error printed (exit status 1 in *rc);
// `writes`: refused while a broker runs on it (it would not see the change,
// and its next online change would overwrite it).
std::unique_ptr<CredentialStore> OpenStore(const UserArgs& a, int* rc, bool writes) {
  if (Status s = CheckDataDirUnlocked(a.data_dir); writes && !s.ok()) {
    std::fprintf(stderr, "sentryctl user: %s\n", s.message().c_str());
    *rc = 1;
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

// The broker's Kafka listener, logged in; or an error printed.
std::unique_ptr<KafkaAdminSession> OpenOnline(const UserArgs& a, int* rc) {
  return OpenSessionOrReport("user", a.kafka, a.tls, a.login_user, a.login_password,
                             a.login_password_file, a.login_mechanism,
                             " (give --login-user if the broker requires SASL)", rc);
}


// KIP-554's mechanism numbers.
int8_t WireMechanism(security::ScramMechanism m) {
  return m == security::ScramMechanism::kSha256 ? 1 : 2;
}

// An AlterUserScramCredentials answer for one user: 0, or 1 printed.
int AlterResult(const char* what, const kafka::AlterUserScramCredentialsResponse& resp) {
  if (resp.results.size() != 1) {
    std::fprintf(stderr, "sentryctl user %s: the broker answered %zu results for 1 user\n", what,
                 resp.results.size());
    return 1;
  }
  const auto& r = resp.results[0];
  if (r.error_code == 0) return 0;
  std::fprintf(stderr, "sentryctl user %s: %s: Kafka error %d: %s\n", what, r.user.c_str(),
               r.error_code, r.error_message.value_or("").c_str());
  return 1;
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
    auto read = client::ReadPasswordFile(a.password_file);
    if (!read.ok()) {
      std::fprintf(stderr, "sentryctl user create: %s\n", read.status().message().c_str());
      return 1;
    }
    password = *read;
  }
  if (password.empty()) {
    std::fprintf(stderr, "sentryctl user create: --password or --password-file is required\n");
    return 2;
  }
  int rc = 0;
  if (a.data_dir.empty()) {
    // Online: only the salted password goes to the broker (KIP-554).
    if (a.iterations < security::kScramMinIterations ||
        a.iterations > security::kScramMaxIterations) {
      std::fprintf(stderr, "sentryctl user create: --iterations must be 4096 to 16384\n");
      return 2;
    }
    auto session = OpenOnline(a, &rc);
    if (!session) return rc;
    const std::string salt = security::ScramRandomSalt();
    const std::string salted = security::ScramSaltedPassword(*m, password, salt, a.iterations);
    kafka::AlterUserScramCredentialsRequest req;
    req.upsertions.push_back(
        {a.name, WireMechanism(*m), a.iterations,
         std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(salt.data()), salt.size()),
         std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(salted.data()),
                                  salted.size())});
    kafka::AlterUserScramCredentialsResponse resp;
    if (Status s = session->Call(0, req, &resp); !s.ok()) {
      std::fprintf(stderr, "sentryctl user create: %s\n", s.ToString().c_str());
      return 1;
    }
    if (AlterResult("create", resp) != 0) return 1;
    std::printf("user %s: %s credential stored (%d iterations)\n", a.name.c_str(),
                security::ScramMechanismName(*m), a.iterations);
    return 0;
  }
  auto store = OpenStore(a, &rc, /*writes=*/true);
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
  if (a.data_dir.empty()) {
    auto session = OpenOnline(a, &rc);
    if (!session) return rc;
    kafka::AlterUserScramCredentialsRequest req;
    // Every mechanism unless one is named (one deletion each: a mechanism the
    // user lacks is not an error then).
    std::vector<security::ScramMechanism> ms;
    if (m) {
      ms.push_back(*m);
    } else {
      kafka::DescribeUserScramCredentialsRequest dreq;
      dreq.users.emplace();
      dreq.users->push_back({a.name});
      kafka::DescribeUserScramCredentialsResponse dresp;
      if (Status s = session->Call(0, dreq, &dresp); !s.ok()) {
        std::fprintf(stderr, "sentryctl user delete: %s\n", s.ToString().c_str());
        return 1;
      }
      const int16_t e = dresp.error_code != 0 ? dresp.error_code
                        : dresp.results.empty() ? -1
                                                : dresp.results[0].error_code;
      if (e != 0) {
        std::fprintf(stderr, "sentryctl user delete: %s: Kafka error %d: %s\n", a.name.c_str(),
                     e,
                     (dresp.error_message ? *dresp.error_message
                      : dresp.results.empty() ? std::string()
                                              : dresp.results[0].error_message.value_or(""))
                         .c_str());
        return 1;
      }
      for (const auto& ci : dresp.results[0].credential_infos) {
        ms.push_back(ci.mechanism == 1 ? security::ScramMechanism::kSha256
                                       : security::ScramMechanism::kSha512);
      }
    }
    for (auto mech : ms) req.deletions.push_back({a.name, WireMechanism(mech)});
    kafka::AlterUserScramCredentialsResponse resp;
    if (Status s = session->Call(0, req, &resp); !s.ok()) {
      std::fprintf(stderr, "sentryctl user delete: %s\n", s.ToString().c_str());
      return 1;
    }
    if (AlterResult("delete", resp) != 0) return 1;
    std::printf("user %s: deleted\n", a.name.c_str());
    return 0;
  }
  auto store = OpenStore(a, &rc, /*writes=*/true);
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
  if (a.data_dir.empty()) {
    auto session = OpenOnline(a, &rc);
    if (!session) return rc;
    kafka::DescribeUserScramCredentialsRequest req;  // null users: every one
    kafka::DescribeUserScramCredentialsResponse resp;
    if (Status s = session->Call(0, req, &resp); !s.ok()) {
      std::fprintf(stderr, "sentryctl user list: %s\n", s.ToString().c_str());
      return 1;
    }
    if (resp.error_code != 0) {
      std::fprintf(stderr, "sentryctl user list: Kafka error %d: %s\n", resp.error_code,
                   resp.error_message.value_or("").c_str());
      return 1;
    }
    for (const auto& r : resp.results) {
      std::string names;
      for (const auto& ci : r.credential_infos) {
        names += std::string(names.empty() ? "" : ",") +
                 (ci.mechanism == 1 ? "SCRAM-SHA-256" : "SCRAM-SHA-512");
      }
      std::printf("%s %s\n", r.user.c_str(), names.c_str());
    }
    return 0;
  }
  auto store = OpenStore(a, &rc, /*writes=*/false);
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
