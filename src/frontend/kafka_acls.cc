// Kafka authorization: the per-request check every handler makes, and
// DescribeAcls, CreateAcls and DeleteAcls (docs/security.md).
#include <spdlog/spdlog.h>

#include <map>
#include <tuple>

#include "frontend/kafka_frontend.h"
#include "frontend/kafka_session.h"

namespace sentry::frontend {

using kafka::ErrorCode;
using net::Outcome;
using net::ResponseOut;
using security::AclBinding;
using security::AclFilter;
using security::AclOperation;
using security::AclPermission;
using security::PatternType;
using security::ResourceType;

namespace {

constexpr const char* kDisabled =
    "the authorizer is not enabled on this broker (authorizer.enabled=false)";

// Kafka's codes are contiguous from 0 (UNKNOWN) to the highest: anything
// else on the wire is refused, not cast.
bool InRange(int8_t v, int8_t highest) { return v >= 0 && v <= highest; }

// A DescribeAcls/DeleteAcls filter from the wire, or why it is not one.
template <typename Wire>
std::optional<AclFilter> FilterOf(const Wire& w, std::string* why) {
  if (!InRange(w.resource_type_filter, 7) || !InRange(w.pattern_type_filter, 4) ||
      !InRange(w.operation, 12) || !InRange(w.permission_type, 3) ||
      w.resource_type_filter == 0 || w.pattern_type_filter == 0 || w.operation == 0 ||
      w.permission_type == 0) {
    *why = "the filter has an unknown resource type, pattern type, operation or permission";
    return std::nullopt;
  }
  AclFilter f;
  f.resource_type = static_cast<ResourceType>(w.resource_type_filter);
  if (w.resource_name_filter) f.resource_name = std::string(*w.resource_name_filter);
  f.pattern_type = static_cast<PatternType>(w.pattern_type_filter);
  if (w.principal_filter) f.principal = std::string(*w.principal_filter);
  if (w.host_filter) f.host = std::string(*w.host_filter);
  f.operation = static_cast<AclOperation>(w.operation);
  f.permission = static_cast<AclPermission>(w.permission_type);
  return f;
}

}  // namespace

bool KafkaFrontend::Probe(Session& s, AclOperation op, ResourceType type, std::string_view name) {
  if (!opt_.authorizer) return true;
  return opt_.authorizer->Authorize(&s.auth_cache, s.principal, s.host, op, type, name,
                                    /*count=*/false);
}

bool KafkaFrontend::Record(Session& s, bool allowed, AclOperation op, ResourceType type,
                           std::string_view name) {
  if (!opt_.authorizer) return true;
  opt_.authorizer->Count(allowed);
  if (!allowed && deny_log_.Allow()) {
    spdlog::info("kafka: {} from {} may not {} {} '{}'{}", s.principal, s.peer,
                 security::Name(op), security::Name(type), name, deny_log_.Suppressed());
  }
  return allowed;
}

Outcome KafkaFrontend::HandleDescribeAcls(Session& s, const Header& h, Reader& r,
                                          ResponseOut& out) {
  kafka::DescribeAclsRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  kafka::DescribeAclsResponse resp;
  std::string why;
  std::optional<AclFilter> filter;
  if (!opt_.authorizer) {
    resp.error_code = Code(ErrorCode::kSecurityDisabled);
    resp.error_message = kDisabled;
  } else if (!AllowedCluster(s, AclOperation::kDescribe)) {
    resp.error_code = Code(ErrorCode::kClusterAuthorizationFailed);
    resp.error_message = "describing ACLs needs DESCRIBE on the cluster";
  } else if (!(filter = FilterOf(req, &why))) {
    resp.error_code = Code(ErrorCode::kInvalidRequest);
    resp.error_message = why;
  } else {
    // Grouped by resource pattern, as Kafka answers.
    std::map<std::tuple<int8_t, std::string, int8_t>, size_t> at;
    for (const AclBinding& b : opt_.authorizer->List(*filter)) {
      auto key = std::make_tuple(static_cast<int8_t>(b.resource_type), b.resource_name,
                                 static_cast<int8_t>(b.pattern_type));
      auto it = at.find(key);
      if (it == at.end()) {
        kafka::DescribeAclsResponse::DescribeAclsResource res;
        res.resource_type = std::get<0>(key);
        res.resource_name = b.resource_name;
        res.pattern_type = std::get<2>(key);
        it = at.emplace(key, resp.resources.size()).first;
        resp.resources.push_back(std::move(res));
      }
      resp.resources[it->second].acls.push_back({b.principal, b.host,
                                                 static_cast<int8_t>(b.operation),
                                                 static_cast<int8_t>(b.permission)});
    }
  }
  Respond(out, Asker::Of(h), resp);
  return Outcome::kDone;
}

Outcome KafkaFrontend::HandleCreateAcls(Session& s, const Header& h, Reader& r,
                                        ResponseOut& out) {
  kafka::CreateAclsRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  kafka::CreateAclsResponse resp;
  resp.results.resize(req.creations.size());
  auto fail_all = [&](ErrorCode e, const std::string& message) {
    for (auto& res : resp.results) {
      res.error_code = Code(e);
      res.error_message = message;
    }
  };
  if (!opt_.authorizer) {
    fail_all(ErrorCode::kSecurityDisabled, kDisabled);
  } else if (!AllowedCluster(s, AclOperation::kAlter)) {
    fail_all(ErrorCode::kClusterAuthorizationFailed, "creating ACLs needs ALTER on the cluster");
  } else {
    std::vector<AclBinding> bindings;
    std::vector<size_t> index;  // bindings[i] answers results[index[i]]
    for (size_t i = 0; i < req.creations.size(); i++) {
      const auto& c = req.creations[i];
      if (!InRange(c.resource_type, 7) || !InRange(c.resource_pattern_type, 4) ||
          !InRange(c.operation, 12) || !InRange(c.permission_type, 3)) {
        resp.results[i].error_code = Code(ErrorCode::kInvalidRequest);
        resp.results[i].error_message = "an unknown resource type, pattern, operation or permission";
        continue;
      }
      bindings.push_back(AclBinding{static_cast<ResourceType>(c.resource_type),
                                    std::string(c.resource_name),
                                    static_cast<PatternType>(c.resource_pattern_type),
                                    std::string(c.principal), std::string(c.host),
                                    static_cast<AclOperation>(c.operation),
                                    static_cast<AclPermission>(c.permission_type)});
      index.push_back(i);
    }
    const std::vector<Status> results = opt_.authorizer->Add(bindings);
    for (size_t i = 0; i < bindings.size(); i++) {
      auto& res = resp.results[index[i]];
      if (results[i].ok()) {
        spdlog::info("kafka: {} added ACL: {}", s.principal, security::Describe(bindings[i]));
        continue;
      }
      res.error_code = Code(results[i].code() == Status::Code::kInvalidArgument
                                ? ErrorCode::kInvalidRequest
                                : ErrorCode::kUnknownServerError);
      res.error_message = results[i].message();
    }
  }
  Respond(out, Asker::Of(h), resp);
  return Outcome::kDone;
}

Outcome KafkaFrontend::HandleDeleteAcls(Session& s, const Header& h, Reader& r,
                                        ResponseOut& out) {
  kafka::DeleteAclsRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  kafka::DeleteAclsResponse resp;
  resp.filter_results.resize(req.filters.size());
  auto fail_all = [&](ErrorCode e, const std::string& message) {
    for (auto& res : resp.filter_results) {
      res.error_code = Code(e);
      res.error_message = message;
    }
  };
  if (!opt_.authorizer) {
    fail_all(ErrorCode::kSecurityDisabled, kDisabled);
  } else if (!AllowedCluster(s, AclOperation::kAlter)) {
    fail_all(ErrorCode::kClusterAuthorizationFailed, "deleting ACLs needs ALTER on the cluster");
  } else {
    std::vector<AclFilter> filters;
    std::vector<size_t> index;
    for (size_t i = 0; i < req.filters.size(); i++) {
      std::string why;
      if (auto f = FilterOf(req.filters[i], &why)) {
        filters.push_back(std::move(*f));
        index.push_back(i);
      } else {
        resp.filter_results[i].error_code = Code(ErrorCode::kInvalidRequest);
        resp.filter_results[i].error_message = why;
      }
    }
    auto removed = opt_.authorizer->Remove(filters);
    for (size_t i = 0; i < filters.size(); i++) {
      auto& res = resp.filter_results[index[i]];
      if (!removed.ok()) {
        res.error_code = Code(ErrorCode::kUnknownServerError);
        res.error_message = removed.status().message();
        continue;
      }
      for (const AclBinding& b : removed.value()[i]) {
        spdlog::info("kafka: {} removed ACL: {}", s.principal, security::Describe(b));
        kafka::DeleteAclsResponse::DeleteAclsMatchingAcl m;
        m.resource_type = static_cast<int8_t>(b.resource_type);
        m.resource_name = b.resource_name;
        m.pattern_type = static_cast<int8_t>(b.pattern_type);
        m.principal = b.principal;
        m.host = b.host;
        m.operation = static_cast<int8_t>(b.operation);
        m.permission_type = static_cast<int8_t>(b.permission);
        res.matching_acls.push_back(std::move(m));
      }
    }
  }
  Respond(out, Asker::Of(h), resp);
  return Outcome::kDone;
}

}  // namespace sentry::frontend
