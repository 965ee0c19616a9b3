// Native-protocol authorization (docs/security.md): each request is checked
// against the ACLs before its handler runs, with the operation Kafka asks for
// the same action. The native APIs name one topic (or group) per request, so
// a refusal is the whole response's error code. A body the check cannot
// decode is refused as INVALID_REQUEST, never passed on unchecked.
#include <spdlog/spdlog.h>

#include "frontend/native_frontend.h"
#include "frontend/native_session.h"
#include "protocol/group_messages.h"

namespace sentry::frontend {

using protocol::ApiKey;
using protocol::ByteReader;
using protocol::ErrorCode;
using security::AclOperation;
using security::ResourceType;

void NativeFrontend::OnTlsEstablished(net::Session& ns, const std::string& peer_subject) {
  // Mutual TLS: the certificate's subject is the principal, as on Kafka's.
  if (!peer_subject.empty()) static_cast<NativeSession&>(ns).principal = "User:" + peer_subject;
}

bool NativeFrontend::MayDescribe(net::Session& ns, std::string_view topic) {
  if (!authorizer_) return true;
  auto& s = static_cast<NativeSession&>(ns);
  return authorizer_->Authorize(&s.auth_cache, s.principal, s.host, AclOperation::kDescribe,
                                ResourceType::kTopic, topic);
}

namespace {
// A body the check cannot read is refused here, the same answer its handler
// would give, rather than let through unchecked (a handler that reads more
// than the check must never be reached unchecked).
constexpr ErrorCode kUndecodable = ErrorCode::kInvalidRequest;
}  // namespace

ErrorCode NativeFrontend::Authorize(net::Session& ns, const Header& h,
                                    std::span<const uint8_t> body) {
  auto& s = static_cast<NativeSession&>(ns);
  auto probe = [&](AclOperation op, ResourceType type, std::string_view name) {
    return authorizer_->Authorize(&s.auth_cache, s.principal, s.host, op, type, name,
                                  /*count=*/false);
  };
  // Counts and logs the request's outcome.
  auto record = [&](bool ok, AclOperation op, ResourceType type, std::string_view name) {
    authorizer_->Count(ok);
    if (!ok && deny_log_.Allow()) {
      spdlog::info("native: {} from {} may not {} {} '{}'{}", s.principal, s.host,
                   security::Name(op), security::Name(type), name, deny_log_.Suppressed());
    }
    return ok;
  };
  auto may = [&](AclOperation op, ResourceType type, std::string_view name) {
    return record(probe(op, type, name), op, type, name);
  };
  auto topic = [&](AclOperation op, std::string_view name) {
    return may(op, ResourceType::kTopic, name) ? ErrorCode::kNone
                                               : ErrorCode::kTopicAuthorizationFailed;
  };
  auto group = [&](AclOperation op, std::string_view name) {
    return may(op, ResourceType::kGroup, name) ? ErrorCode::kNone
                                               : ErrorCode::kGroupAuthorizationFailed;
  };
  auto cluster = [&](AclOperation op) {
    return may(op, ResourceType::kCluster, security::kClusterName)
               ? ErrorCode::kNone
               : ErrorCode::kClusterAuthorizationFailed;
  };
  ByteReader r(body);
  switch (static_cast<ApiKey>(h.api_key)) {
    case ApiKey::kApiVersions:
    case ApiKey::kAuthenticate:  // who one is needs no permission
      return ErrorCode::kNone;
    case ApiKey::kProduce: {
      protocol::ProduceRequest req;
      if (!Decode(&r, &req)) return kUndecodable;
      return topic(AclOperation::kWrite, req.topic);
    }
    case ApiKey::kFetch: {
      protocol::FetchRequest req;
      if (!Decode(&r, &req)) return kUndecodable;
      return topic(AclOperation::kRead, req.topic);
    }
    case ApiKey::kListOffsets: {
      protocol::ListOffsetsRequest req;
      if (!Decode(&r, &req)) return kUndecodable;
      return topic(AclOperation::kDescribe, req.topic);
    }
    case ApiKey::kMetadata:
    case ApiKey::kDescribeCluster:
      return ErrorCode::kNone;  // their handlers filter the topics (MayDescribe)
    case ApiKey::kCreateTopic: {
      protocol::CreateTopicRequest req;
      if (!Decode(&r, &req)) return kUndecodable;
      const bool ok = probe(AclOperation::kCreate, ResourceType::kCluster, security::kClusterName) ||
                      probe(AclOperation::kCreate, ResourceType::kTopic, req.name);
      return record(ok, AclOperation::kCreate, ResourceType::kTopic, req.name)
                 ? ErrorCode::kNone
                 : ErrorCode::kTopicAuthorizationFailed;
    }
    case ApiKey::kDeleteTopic: {
      protocol::DeleteTopicRequest req;
      if (!Decode(&r, &req)) return kUndecodable;
      return topic(AclOperation::kDelete, req.name);
    }
    case ApiKey::kDeleteRecords: {
      protocol::DeleteRecordsRequest req;
      if (!Decode(&r, &req)) return kUndecodable;
      return topic(AclOperation::kDelete, req.topic);
    }
    case ApiKey::kAlterTopicConfig: {
      protocol::AlterTopicConfigRequest req;
      if (!Decode(&r, &req)) return kUndecodable;
      return topic(AclOperation::kAlterConfigs, req.topic);
    }
    case ApiKey::kDescribeLog: {
      protocol::DescribeLogRequest req;
      if (!Decode(&r, &req)) return kUndecodable;
      return topic(AclOperation::kDescribe, req.topic);
    }
    case ApiKey::kOffsetCommit: {
      protocol::OffsetCommitRequest req;
      protocol::OffsetCommitMember member;  // v2: the committing member
      const bool ok = h.api_version >= protocol::kOffsetCommitMemberVersion
                          ? Decode(&r, &req, &member)
                          : Decode(&r, &req);
      if (!ok) return kUndecodable;
      if (ErrorCode e = group(AclOperation::kRead, req.group); e != ErrorCode::kNone) return e;
      return topic(AclOperation::kRead, req.topic);
    }
    case ApiKey::kOffsetFetch: {
      protocol::OffsetFetchRequest req;
      if (!Decode(&r, &req)) return kUndecodable;
      if (ErrorCode e = group(AclOperation::kDescribe, req.group); e != ErrorCode::kNone) {
        return e;
      }
      return topic(AclOperation::kDescribe, req.topic);
    }
    case ApiKey::kConsumerGroupHeartbeat: {
      protocol::ConsumerGroupHeartbeatRequest req;
      if (!Decode(&r, &req)) return kUndecodable;
      if (ErrorCode e = group(AclOperation::kRead, req.group); e != ErrorCode::kNone) return e;
      // Subscribing to a topic needs DESCRIBE on it (KIP-848).
      for (const auto& t : req.subscribed_topics.value_or(std::vector<std::string>{})) {
        if (ErrorCode e = topic(AclOperation::kDescribe, t); e != ErrorCode::kNone) return e;
      }
      return ErrorCode::kNone;
    }
    case ApiKey::kListGroups:
      return cluster(AclOperation::kDescribe);
    case ApiKey::kDescribeGroup: {
      protocol::DescribeGroupRequest req;
      if (!Decode(&r, &req)) return kUndecodable;
      return group(AclOperation::kDescribe, req.group);
    }
    case ApiKey::kInitProducerId: {
      const bool ok =
          probe(AclOperation::kIdempotentWrite, ResourceType::kCluster, security::kClusterName) ||
          authorizer_->MayOnSome(s.principal, s.host, AclOperation::kWrite, ResourceType::kTopic);
      return record(ok, AclOperation::kIdempotentWrite, ResourceType::kCluster,
                    security::kClusterName)
                 ? ErrorCode::kNone
                 : ErrorCode::kClusterAuthorizationFailed;
    }
  }
  return ErrorCode::kNone;  // an unknown API: its handler refuses it
}

}  // namespace sentry::frontend
