// The authorizer's decision (issue 19): uncached, a walk over every ACL
// under a shared lock; cached, one hash lookup per connection. Arg: how many
// ACLs of other principals the broker holds besides the one that matches.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>

#include "security/authorizer.h"

namespace {

using sentry::security::AclBinding;
using sentry::security::AclOperation;
using sentry::security::AclPermission;
using sentry::security::Authorizer;
using sentry::security::AuthCache;
using sentry::security::PatternType;
using sentry::security::ResourceType;

std::unique_ptr<Authorizer> WithAcls(int others) {
  const auto dir = std::filesystem::temp_directory_path() / "sentry-bench-authorizer";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto a = Authorizer::Open(dir.string(), {}).value();
  std::vector<AclBinding> acls;
  for (int i = 0; i < others; i++) {
    acls.push_back({ResourceType::kTopic, "team" + std::to_string(i) + ".", PatternType::kPrefixed,
                    "User:user" + std::to_string(i), "*", AclOperation::kWrite,
                    AclPermission::kAllow});
  }
  acls.push_back({ResourceType::kTopic, "orders", PatternType::kLiteral, "User:alice", "*",
                  AclOperation::kWrite, AclPermission::kAllow});
  (void)a->Add(acls);
  std::filesystem::remove_all(dir);
  return a;
}

void BM_AuthorizeUncached(benchmark::State& state) {
  auto a = WithAcls(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        a->Authorize("User:alice", "10.0.0.1", AclOperation::kWrite, ResourceType::kTopic, "orders"));
  }
}
BENCHMARK(BM_AuthorizeUncached)->Arg(0)->Arg(100)->Arg(1000);

void BM_AuthorizeCached(benchmark::State& state) {
  auto a = WithAcls(static_cast<int>(state.range(0)));
  AuthCache cache;
  const std::string alice = "User:alice";
  for (auto _ : state) {
    benchmark::DoNotOptimize(a->Authorize(&cache, alice, "10.0.0.1", AclOperation::kWrite,
                                          ResourceType::kTopic, "orders"));
  }
}
BENCHMARK(BM_AuthorizeCached)->Arg(0)->Arg(1000);

}  // namespace

BENCHMARK_MAIN();
