#include "sentryctl/acl_commands.h"

#include <cstdio>
#include <vector>

#include "common/file_util.h"
#include "sentryctl/kafka_admin_session.h"
#include "security/authorizer.h"

namespace sentry::tools {
namespace {

using security::AclBinding;
using security::AclFilter;
using security::AclOperation;
using security::AclPermission;
using security::PatternType;
using security::ResourceType;

constexpr int16_t kAclVersion = 1;  // the first with pattern types; not flexible

// The resource the flags name: exactly one of --topic, --topic-prefix,
// --group, --group-prefix, --cluster; nullopt (printed) otherwise.
struct Resource {
  ResourceType type;
  std::string name;
  PatternType pattern;
};
std::optional<Resource> ResourceOf(const AclArgs& a, const char* cmd, bool required) {
  std::vector<Resource> given;
  if (!a.topic.empty()) given.push_back({ResourceType::kTopic, a.topic, PatternType::kLiteral});
  if (!a.topic_prefix.empty()) {
    given.push_back({ResourceType::kTopic, a.topic_prefix, PatternType::kPrefixed});
  }
  if (!a.group.empty()) given.push_back({ResourceType::kGroup, a.group, PatternType::kLiteral});
  if (!a.group_prefix.empty()) {
    given.push_back({ResourceType::kGroup, a.group_prefix, PatternType::kPrefixed});
  }
  if (a.cluster) {
    given.push_back({ResourceType::kCluster, std::string(security::kClusterName),
                     PatternType::kLiteral});
  }
  if (given.size() == 1) return given[0];
  if (given.empty() && !required) return Resource{ResourceType::kAny, "", PatternType::kAny};
  std::fprintf(stderr,
               "sentryctl acl %s: name %s one of --topic, --topic-prefix, --group, "
               "--group-prefix, --cluster\n",
               cmd, required ? "exactly" : "at most");
  return std::nullopt;
}

// The binding of add/remove, or nullopt (printed).
std::optional<AclBinding> BindingOf(const AclArgs& a, const char* cmd) {
  auto r = ResourceOf(a, cmd, true);
  if (!r) return std::nullopt;
  auto op = security::ParseAclOperation(a.operation);
  if (!op || *op == AclOperation::kAny || *op == AclOperation::kUnknown) {
    std::fprintf(stderr,
                 "sentryctl acl %s: --operation must be read, write, create, delete, describe, "
                 "alter, describe_configs, alter_configs, cluster_action, idempotent_write or "
                 "all, not '%s'\n",
                 cmd, a.operation.c_str());
    return std::nullopt;
  }
  AclBinding b{r->type, r->name, r->pattern, a.principal, a.host, *op,
               a.deny ? AclPermission::kDeny : AclPermission::kAllow};
  if (std::string why = security::InvalidBindingReason(b); !why.empty()) {
    std::fprintf(stderr, "sentryctl acl %s: %s\n", cmd, why.c_str());
    return std::nullopt;
  }
  return b;
}

AclFilter ExactFilter(const AclBinding& b) {
  AclFilter f;
  f.resource_type = b.resource_type;
  f.resource_name = b.resource_name;
  f.pattern_type = b.pattern_type;
  f.principal = b.principal;
  f.host = b.host;
  f.operation = b.operation;
  f.permission = b.permission;
  return f;
}

std::unique_ptr<security::Authorizer> OpenOffline(const AclArgs& a, int* rc, bool writes) {
  if (Status s = CheckDataDirUnlocked(a.data_dir); writes && !s.ok()) {
    std::fprintf(stderr, "sentryctl acl: %s\n", s.message().c_str());
    *rc = 1;
    return nullptr;
  }
  auto auth = security::Authorizer::Open(a.data_dir, {});
  if (!auth.ok()) {
    std::fprintf(stderr, "sentryctl acl: %s\n", auth.status().ToString().c_str());
    *rc = 1;
    return nullptr;
  }
  return std::move(auth).value();
}

std::unique_ptr<KafkaAdminSession> OpenOnline(const AclArgs& a, int* rc) {
  return OpenSessionOrReport("acl", a.kafka, a.tls, a.user, a.password, a.password_file,
                             a.mechanism, "", rc);
}


// A failed exchange, with a hint when the broker hung up on a client that
// did not authenticate (kafka.sasl=required closes such connections).
void PrintCallError(const char* what, const AclArgs& a, const Status& s) {
  const bool hint = a.user.empty() && s.code() == Status::Code::kUnavailable;
  std::fprintf(stderr, "sentryctl acl %s: %s%s\n", what, s.ToString().c_str(),
               hint ? " (does the broker require SASL? give --user and --password)" : "");
}

// A Kafka error of an ACL API as a line: its name when we know it.
void PrintKafkaError(const char* what, int16_t code, const std::optional<std::string>& message) {
  const char* name = code == 29   ? "TOPIC_AUTHORIZATION_FAILED"
                     : code == 31 ? "CLUSTER_AUTHORIZATION_FAILED"
                     : code == 42 ? "INVALID_REQUEST"
                     : code == 54 ? "SECURITY_DISABLED"
                     : code == 58 ? "SASL_AUTHENTICATION_FAILED"
                                  : "error";
  std::fprintf(stderr, "sentryctl acl %s: %s (%d): %s\n", what, name, code,
               message.value_or("").c_str());
}

template <typename Wire>
void FillFilter(const AclFilter& f, Wire* w) {
  w->resource_type_filter = static_cast<int8_t>(f.resource_type);
  if (f.resource_name) w->resource_name_filter = *f.resource_name;
  w->pattern_type_filter = static_cast<int8_t>(f.pattern_type);
  if (f.principal) w->principal_filter = *f.principal;
  if (f.host) w->host_filter = *f.host;
  w->operation = static_cast<int8_t>(f.operation);
  w->permission_type = static_cast<int8_t>(f.permission);
}

}  // namespace

int AclAdd(const AclArgs& a) {
  auto b = BindingOf(a, "add");
  if (!b) return 2;
  int rc = 0;
  if (!a.data_dir.empty()) {
    auto auth = OpenOffline(a, &rc, /*writes=*/true);
    if (!auth) return rc;
    Status s = auth->Add({*b})[0];
    if (!s.ok()) {
      std::fprintf(stderr, "sentryctl acl add: %s\n", s.ToString().c_str());
      return 1;
    }
  } else {
    auto session = OpenOnline(a, &rc);
    if (!session) return rc;
    kafka::CreateAclsRequest req;
    req.creations.push_back({static_cast<int8_t>(b->resource_type), b->resource_name,
                             static_cast<int8_t>(b->pattern_type), b->principal, b->host,
                             static_cast<int8_t>(b->operation),
                             static_cast<int8_t>(b->permission)});
    kafka::CreateAclsResponse resp;
    if (Status s = session->Call(kAclVersion, req, &resp); !s.ok()) {
      PrintCallError("add", a, s);
      return 1;
    }
    if (resp.results.size() != 1) {
      std::fprintf(stderr, "sentryctl acl add: the broker answered %zu results for 1 ACL\n",
                   resp.results.size());
      return 1;
    }
    if (resp.results[0].error_code != 0) {
      PrintKafkaError("add", resp.results[0].error_code, resp.results[0].error_message);
      return 1;
    }
  }
  std::printf("added: %s\n", security::Describe(*b).c_str());
  return 0;
}

int AclList(const AclArgs& a) {
  auto r = ResourceOf(a, "list", false);
  if (!r) return 2;
  AclFilter f;
  f.resource_type = r->type;
  if (r->type != ResourceType::kAny) f.resource_name = r->name;
  f.pattern_type = r->pattern;
  if (!a.principal.empty()) f.principal = a.principal;
  if (!a.operation.empty()) {
    auto op = security::ParseAclOperation(a.operation);
    if (!op) {
      std::fprintf(stderr, "sentryctl acl list: unknown --operation '%s'\n", a.operation.c_str());
      return 2;
    }
    f.operation = *op;
  }
  std::vector<AclBinding> acls;
  int rc = 0;
  if (!a.data_dir.empty()) {
    auto auth = OpenOffline(a, &rc, /*writes=*/false);
    if (!auth) return rc;
    acls = auth->List(f);
  } else {
    auto session = OpenOnline(a, &rc);
    if (!session) return rc;
    kafka::DescribeAclsRequest req;
    FillFilter(f, &req);
    kafka::DescribeAclsResponse resp;
    if (Status s = session->Call(kAclVersion, req, &resp); !s.ok()) {
      PrintCallError("list", a, s);
      return 1;
    }
    if (resp.error_code != 0) {
      PrintKafkaError("list", resp.error_code, resp.error_message);
      return 1;
    }
    for (const auto& res : resp.resources) {
      for (const auto& d : res.acls) {
        acls.push_back({static_cast<ResourceType>(res.resource_type), res.resource_name,
                        static_cast<PatternType>(res.pattern_type), d.principal, d.host,
                        static_cast<AclOperation>(d.operation),
                        static_cast<AclPermission>(d.permission_type)});
      }
    }
  }
  for (const auto& b : acls) std::printf("%s\n", security::Describe(b).c_str());
  return 0;
}

int AclRemove(const AclArgs& a) {
  auto b = BindingOf(a, "remove");
  if (!b) return 2;
  const AclFilter f = ExactFilter(*b);
  size_t removed = 0;
  int rc = 0;
  if (!a.data_dir.empty()) {
    auto auth = OpenOffline(a, &rc, /*writes=*/true);
    if (!auth) return rc;
    auto r = auth->Remove({f});
    if (!r.ok()) {
      std::fprintf(stderr, "sentryctl acl remove: %s\n", r.status().ToString().c_str());
      return 1;
    }
    removed = r.value()[0].size();
  } else {
    auto session = OpenOnline(a, &rc);
    if (!session) return rc;
    kafka::DeleteAclsRequest req;
    req.filters.emplace_back();
    FillFilter(f, &req.filters.back());
    kafka::DeleteAclsResponse resp;
    if (Status s = session->Call(kAclVersion, req, &resp); !s.ok()) {
      PrintCallError("remove", a, s);
      return 1;
    }
    if (resp.filter_results.size() != 1) {
      std::fprintf(stderr, "sentryctl acl remove: the broker answered %zu results for 1 filter\n",
                   resp.filter_results.size());
      return 1;
    }
    if (resp.filter_results[0].error_code != 0) {
      PrintKafkaError("remove", resp.filter_results[0].error_code,
                      resp.filter_results[0].error_message);
      return 1;
    }
    removed = resp.filter_results[0].matching_acls.size();
  }
  if (removed == 0) {
    std::fprintf(stderr, "sentryctl acl remove: no such ACL: %s\n",
                 security::Describe(*b).c_str());
    return 1;
  }
  std::printf("removed: %s\n", security::Describe(*b).c_str());
  return 0;
}

}  // namespace sentry::tools
