// Acl: Kafka's access-control model (docs/security.md). An ACL binds a
// principal and a host to an operation on a resource pattern, allowing or
// denying it. The numeric values are Kafka's, as CreateAcls, DescribeAcls and
// DeleteAcls carry them on the wire.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sentry::security {

enum class ResourceType : int8_t {
  kUnknown = 0, kAny = 1, kTopic = 2, kGroup = 3, kCluster = 4,
  kTransactionalId = 5, kDelegationToken = 6, kUser = 7,
};
enum class PatternType : int8_t {
  kUnknown = 0, kAny = 1, kMatch = 2, kLiteral = 3, kPrefixed = 4,
};
enum class AclOperation : int8_t {
  kUnknown = 0, kAny = 1, kAll = 2, kRead = 3, kWrite = 4, kCreate = 5, kDelete = 6,
  kAlter = 7, kDescribe = 8, kClusterAction = 9, kDescribeConfigs = 10,
  kAlterConfigs = 11, kIdempotentWrite = 12,
};
enum class AclPermission : int8_t { kUnknown = 0, kAny = 1, kDeny = 2, kAllow = 3 };

// The one cluster resource's name, as Kafka names it.
inline constexpr std::string_view kClusterName = "kafka-cluster";
// A literal resource name or a principal or host that matches every one.
inline constexpr std::string_view kWildcard = "*";

struct AclBinding {
  ResourceType resource_type = ResourceType::kTopic;
  std::string resource_name;
  PatternType pattern_type = PatternType::kLiteral;
  std::string principal;  // "User:alice", or "User:*"
  std::string host = "*";
  AclOperation operation = AclOperation::kRead;
  AclPermission permission = AclPermission::kAllow;

  bool operator==(const AclBinding&) const = default;
  auto operator<=>(const AclBinding&) const = default;
};

// Which bindings a DescribeAcls or DeleteAcls names: kAny and nullopt match
// everything; PatternType::kMatch matches the literal and prefixed patterns
// that would apply to the resource named (and the literal wildcard).
struct AclFilter {
  ResourceType resource_type = ResourceType::kAny;
  std::optional<std::string> resource_name;
  PatternType pattern_type = PatternType::kAny;
  std::optional<std::string> principal;
  std::optional<std::string> host;
  AclOperation operation = AclOperation::kAny;
  AclPermission permission = AclPermission::kAny;

  bool Matches(const AclBinding& b) const;
};

// Empty when `b` can be stored; otherwise why not (a concrete resource type,
// pattern, operation and permission, a "Type:name" principal, a host; the
// cluster's name for a cluster resource).
std::string InvalidBindingReason(const AclBinding& b);

// Lower-case names, as sentryctl and the docs use them ("topic",
// "prefixed", "describe_configs", "allow"), and back.
std::string_view Name(ResourceType t);
std::string_view Name(PatternType t);
std::string_view Name(AclOperation op);
std::string_view Name(AclPermission p);
std::optional<ResourceType> ParseResourceType(std::string_view s);
std::optional<PatternType> ParsePatternType(std::string_view s);
std::optional<AclOperation> ParseAclOperation(std::string_view s);
std::optional<AclPermission> ParseAclPermission(std::string_view s);

// "ALLOW User:alice from * to READ topic:orders (literal)": for logs and
// sentryctl.
std::string Describe(const AclBinding& b);

}  // namespace sentry::security
