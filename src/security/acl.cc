#include "security/acl.h"

#include <array>
#include <utility>

namespace sentry::security {

namespace {

template <typename E, size_t N>
std::string_view NameIn(const std::array<std::pair<E, std::string_view>, N>& table, E v) {
  for (const auto& [e, n] : table) {
    if (e == v) return n;
  }
  return "unknown";
}

template <typename E, size_t N>
std::optional<E> ParseIn(const std::array<std::pair<E, std::string_view>, N>& table,
                         std::string_view s) {
  std::string lower(s);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '-') c = '_';
  }
  for (const auto& [e, n] : table) {
    if (n == lower) return e;
  }
  return std::nullopt;
}

constexpr std::array<std::pair<ResourceType, std::string_view>, 8> kResourceTypes{{
    {ResourceType::kUnknown, "unknown"}, {ResourceType::kAny, "any"},
    {ResourceType::kTopic, "topic"}, {ResourceType::kGroup, "group"},
    {ResourceType::kCluster, "cluster"}, {ResourceType::kTransactionalId, "transactional_id"},
    {ResourceType::kDelegationToken, "delegation_token"}, {ResourceType::kUser, "user"},
}};
constexpr std::array<std::pair<PatternType, std::string_view>, 5> kPatternTypes{{
    {PatternType::kUnknown, "unknown"}, {PatternType::kAny, "any"},
    {PatternType::kMatch, "match"}, {PatternType::kLiteral, "literal"},
    {PatternType::kPrefixed, "prefixed"},
}};
constexpr std::array<std::pair<AclOperation, std::string_view>, 13> kOperations{{
    {AclOperation::kUnknown, "unknown"}, {AclOperation::kAny, "any"},
    {AclOperation::kAll, "all"}, {AclOperation::kRead, "read"},
    {AclOperation::kWrite, "write"}, {AclOperation::kCreate, "create"},
    {AclOperation::kDelete, "delete"}, {AclOperation::kAlter, "alter"},
    {AclOperation::kDescribe, "describe"}, {AclOperation::kClusterAction, "cluster_action"},
    {AclOperation::kDescribeConfigs, "describe_configs"},
    {AclOperation::kAlterConfigs, "alter_configs"},
    {AclOperation::kIdempotentWrite, "idempotent_write"},
}};
constexpr std::array<std::pair<AclPermission, std::string_view>, 4> kPermissions{{
    {AclPermission::kUnknown, "unknown"}, {AclPermission::kAny, "any"},
    {AclPermission::kDeny, "deny"}, {AclPermission::kAllow, "allow"},
}};

bool Concrete(int8_t v, int8_t lowest_concrete, int8_t highest) {
  return v >= lowest_concrete && v <= highest;
}

}  // namespace

bool AclFilter::Matches(const AclBinding& b) const {
  if (resource_type != ResourceType::kAny && resource_type != b.resource_type) return false;
  if (principal && *principal != b.principal) return false;
  if (host && *host != b.host) return false;
  if (operation != AclOperation::kAny && operation != b.operation) return false;
  if (permission != AclPermission::kAny && permission != b.permission) return false;
  switch (pattern_type) {
    case PatternType::kAny:
      return !resource_name || *resource_name == b.resource_name;
    case PatternType::kMatch:
      if (!resource_name) return true;
      if (b.pattern_type == PatternType::kLiteral) {
        return b.resource_name == *resource_name || b.resource_name == kWildcard;
      }
      return b.pattern_type == PatternType::kPrefixed &&
             resource_name->starts_with(b.resource_name);
    default:
      return pattern_type == b.pattern_type &&
             (!resource_name || *resource_name == b.resource_name);
  }
}

std::string InvalidBindingReason(const AclBinding& b) {
  const auto rt = static_cast<int8_t>(b.resource_type);
  if (!Concrete(rt, 2, 7)) return "the resource type must be a concrete one";
  if (b.resource_type != ResourceType::kTopic && b.resource_type != ResourceType::kGroup &&
      b.resource_type != ResourceType::kCluster) {
    return std::string("ACLs on ") + std::string(Name(b.resource_type)) +
           " resources are not supported (topic, group and cluster are)";
  }
  if (b.pattern_type != PatternType::kLiteral && b.pattern_type != PatternType::kPrefixed) {
    return "the pattern type must be literal or prefixed";
  }
  if (b.resource_name.empty()) return "an empty resource name";
  if (b.pattern_type == PatternType::kPrefixed && b.resource_name == kWildcard) {
    return "a prefixed pattern cannot be the wildcard '*'";
  }
  if (b.resource_type == ResourceType::kCluster &&
      (b.resource_name != kClusterName || b.pattern_type != PatternType::kLiteral)) {
    return "the cluster resource is the literal 'kafka-cluster'";
  }
  if (!Concrete(static_cast<int8_t>(b.operation), 2, 12)) {
    return "the operation must be a concrete one";
  }
  if (!Concrete(static_cast<int8_t>(b.permission), 2, 3)) {
    return "the permission must be allow or deny";
  }
  const size_t colon = b.principal.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == b.principal.size()) {
    return "the principal must be Type:name (e.g. User:alice, or User:*)";
  }
  if (b.host.empty()) return "an empty host (use '*' for every host)";
  return "";
}

std::string_view Name(ResourceType t) { return NameIn(kResourceTypes, t); }
std::string_view Name(PatternType t) { return NameIn(kPatternTypes, t); }
std::string_view Name(AclOperation op) { return NameIn(kOperations, op); }
std::string_view Name(AclPermission p) { return NameIn(kPermissions, p); }
std::optional<ResourceType> ParseResourceType(std::string_view s) {
  return ParseIn(kResourceTypes, s);
}
std::optional<PatternType> ParsePatternType(std::string_view s) {
  return ParseIn(kPatternTypes, s);
}
std::optional<AclOperation> ParseAclOperation(std::string_view s) {
  return ParseIn(kOperations, s);
}
std::optional<AclPermission> ParseAclPermission(std::string_view s) {
  return ParseIn(kPermissions, s);
}

std::string Describe(const AclBinding& b) {
  std::string out;
  out += b.permission == AclPermission::kDeny ? "DENY " : "ALLOW ";
  out += b.principal + " from " + b.host + " to " + std::string(Name(b.operation)) + " " +
         std::string(Name(b.resource_type)) + ":" + b.resource_name + " (" +
         std::string(Name(b.pattern_type)) + ")";
  return out;
}

}  // namespace sentry::security
