// KafkaFrontend: the Apache Kafka wire protocol (docs/kafka.md) in front of
// the same broker core as the native protocol. For each frame it decodes the
// request with the generated codecs (kafka/messages.h), calls BrokerCore
// operations and encodes the answer; it holds no broker state of its own.
//
// One request at a time per connection, as Kafka does (it mutes a
// connection until its response is sent): responses leave in request order,
// which Kafka clients rely on, and a request spanning many partitions
// (produce, fetch, offset commit) is answered once, when all its parts are
// done. Pipelined requests wait in the receive buffer meanwhile.
//
// Adding an API: a schema/*.kdef file, a Handle* method, a Dispatch case.
//
// Threads: one instance serves every network thread; per-connection state is
// the KafkaSession each connection owns.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "broker/broker_core.h"
#include "common/log_limiter.h"
#include "group/group_service.h"
#include "kafka/header.h"
#include "kafka/messages.h"
#include "net/frame_handler.h"
#include "security/authorizer.h"
#include "security/credential_store.h"
#include "security/sasl_session.h"

namespace sentry::frontend {

struct Asker;
struct PendingAdmin;

struct KafkaOptions {
  std::string advertised_host = "127.0.0.1";  // what Metadata/FindCoordinator return
  int32_t port = 0;                            // the Kafka listener's port
  std::string cluster_id = "sentry";
  bool auto_create_topics = false;  // auto.create.topics.enable
  int32_t default_partitions = 1;   // num.partitions (auto-created and num_partitions=-1)
  // Broker settings (name, value) returned by DescribeConfigs for the broker.
  std::vector<std::pair<std::string, std::string>> broker_configs;
  // kafka.sasl=required: every request but ApiVersions, SaslHandshake and
  // SaslAuthenticate waits for a successful SASL exchange (docs/security.md).
  bool sasl_required = false;
  // The mechanisms, credentials, TLS-ness (PLAIN only over TLS unless
  // allowed) and session lifetime (connections.max.reauth.ms, KIP-368: the
  // client re-authenticates on the same connection before it ends, or is
  // disconnected at its next request).
  security::SaslPolicy sasl;
  // authorizer.enabled: every request is checked against the ACLs
  // (docs/security.md); null: everything is allowed, as before.
  security::Authorizer* authorizer = nullptr;
};

class KafkaFrontend final : public net::FrameHandler {
 public:
  KafkaFrontend(broker::BrokerCore* core, KafkaOptions opt);

  // The listener's port once it is bound (port 0 picks one).
  void set_port(int32_t port) { opt_.port = port; }

  // net::FrameHandler
  std::unique_ptr<net::Session> NewSession(const pipeline::Route& route,
                                          const std::string& peer) override;
  void OnTlsEstablished(net::Session& s, const std::string& peer_subject) override;
  bool Paused(const net::Session& s) const override;
  uint32_t min_frame_bytes() const override;
  int64_t max_frame_bytes(const net::Session& s, int64_t configured) const override;
  net::Outcome OnFrame(net::Session& s, std::span<const uint8_t> frame,
                       const std::shared_ptr<const void>& hold, net::ResponseOut& out,
                       net::ParkedRead* parked) override;
  void OnBadLength(net::Session& s, uint32_t length, std::span<const uint8_t> available,
                   net::ResponseOut& out) override;
  int OnCompletion(pipeline::CompletionPtr c, net::Session& s, net::ResponseOut& out) override;
  bool OnParkedReady(net::ParkedRead& parked, bool expired, net::Session& s,
                     net::ResponseOut& out) override;

  struct Session;
  struct FetchPlan;

 private:
  // OnCompletion without the metrics.
  int AnswerCompletion(pipeline::CompletionPtr c, net::Session& s, net::ResponseOut& out);
  using Header = kafka::RequestHeader;
  using Reader = kafka::Reader;
  net::Outcome Dispatch(Session& s, const Header& h, Reader& r,
                        const std::shared_ptr<const void>& hold, net::ResponseOut& out,
                        net::ParkedRead* parked);
  net::Outcome HandleApiVersions(const Header& h, Reader& r, net::ResponseOut& out);
  net::Outcome HandleMetadata(Session& s, const Header& h, Reader& r, net::ResponseOut& out);
  net::Outcome HandleOffsetForLeaderEpoch(Session& s, const Header& h, Reader& r,
                                          net::ResponseOut& out);
  net::Outcome HandleProduce(Session& s, const Header& h, Reader& r,
                             const std::shared_ptr<const void>& hold, net::ResponseOut& out);
  net::Outcome HandleFetch(Session& s, const Header& h, Reader& r, net::ResponseOut& out,
                           net::ParkedRead* parked);
  net::Outcome HandleListOffsets(Session& s, const Header& h, Reader& r, net::ResponseOut& out);
  net::Outcome HandleCreateTopics(Session& s, const Header& h, Reader& r, net::ResponseOut& out);
  net::Outcome HandleDeleteTopics(Session& s, const Header& h, Reader& r, net::ResponseOut& out);
  net::Outcome HandleDeleteRecords(Session& s, const Header& h, Reader& r, net::ResponseOut& out);
  net::Outcome HandleAlterConfigs(Session& s, const Header& h, Reader& r, net::ResponseOut& out);
  net::Outcome HandleIncrementalAlterConfigs(Session& s, const Header& h, Reader& r,
                                             net::ResponseOut& out);
  net::Outcome HandleInitProducerId(Session& s, const Header& h, Reader& r, net::ResponseOut& out);
  net::Outcome HandleFindCoordinator(Session& s, const Header& h, Reader& r, net::ResponseOut& out);
  net::Outcome HandleOffsetCommit(Session& s, const Header& h, Reader& r, net::ResponseOut& out);
  net::Outcome HandleOffsetFetch(Session& s, const Header& h, Reader& r, net::ResponseOut& out);
  net::Outcome HandleDescribeConfigs(Session& s, const Header& h, Reader& r, net::ResponseOut& out);
  // SASL (kafka_sasl.cc).
  net::Outcome HandleSaslHandshake(Session& s, const Header& h, Reader& r,
                                   net::ResponseOut& out);
  net::Outcome HandleSaslAuthenticate(Session& s, const Header& h, Reader& r,
                                      net::ResponseOut& out);
  // A bare SASL token after SaslHandshake v0: answered with a bare token, or
  // the connection closed on failure (that framing has no error field).
  net::Outcome OnRawSaslToken(Session& s, std::span<const uint8_t> token, net::ResponseOut& out);
  // Feeds one client message to the session's exchange: the server's
  // answer, or the failure (logged, rate-limited).
  // *done: the exchange finished (authenticated or re-authenticated).
  Result<std::string> SaslStep(Session& s, std::string_view client_message, bool* done);
  // KIP-368: false (logged) when the session expired and `h` is not part
  // of a re-authentication: the connection is closed.
  bool SessionValid(Session& s, const Header& h);
  // Closes a connection whose SASL request does not decode (logged).
  net::Outcome Malformed(Session& s, const Header& h);
  // False (logged, rate-limited) for a request that must wait for SASL.
  bool AllowedBeforeAuthentication(Session& s, const Header& h);
  // Authorization (kafka_acls.cc): true when there is no authorizer or the
  // session's principal may do `op` on the resource.
  bool Allowed(Session& s, security::AclOperation op, security::ResourceType type,
               std::string_view name) {
    return Record(s, Probe(s, op, type, name), op, type, name);
  }
  // A check that is one of several ways to be allowed: neither counted nor
  // logged; Record() the request's outcome once it is known.
  bool Probe(Session& s, security::AclOperation op, security::ResourceType type,
             std::string_view name);
  bool Record(Session& s, bool allowed, security::AclOperation op, security::ResourceType type,
              std::string_view name);
  bool AllowedTopic(Session& s, security::AclOperation op, std::string_view topic) {
    return Allowed(s, op, security::ResourceType::kTopic, topic);
  }
  bool AllowedGroup(Session& s, security::AclOperation op, std::string_view group) {
    return Allowed(s, op, security::ResourceType::kGroup, group);
  }
  bool AllowedCluster(Session& s, security::AclOperation op) {
    return Allowed(s, op, security::ResourceType::kCluster, security::kClusterName);
  }
  net::Outcome HandleDescribeAcls(Session& s, const Header& h, Reader& r, net::ResponseOut& out);
  net::Outcome HandleCreateAcls(Session& s, const Header& h, Reader& r, net::ResponseOut& out);
  net::Outcome HandleDeleteAcls(Session& s, const Header& h, Reader& r, net::ResponseOut& out);
  // Users (kafka_users.cc): KIP-554 on the credential store.
  net::Outcome HandleDescribeUserScramCredentials(Session& s, const Header& h, Reader& r,
                                                  net::ResponseOut& out);
  net::Outcome HandleAlterUserScramCredentials(Session& s, const Header& h, Reader& r,
                                               net::ResponseOut& out);
  // Groups (kafka_groups.cc).
  net::Outcome HandleJoinGroup(Session& s, const Header& h, Reader& r, net::ResponseOut& out);
  net::Outcome HandleSyncGroup(Session& s, const Header& h, Reader& r, net::ResponseOut& out);
  net::Outcome HandleHeartbeat(Session& s, const Header& h, Reader& r, net::ResponseOut& out);
  net::Outcome HandleLeaveGroup(Session& s, const Header& h, Reader& r, net::ResponseOut& out);
  net::Outcome HandleListGroups(Session& s, const Header& h, Reader& r, net::ResponseOut& out);
  net::Outcome HandleDescribeGroups(Session& s, const Header& h, Reader& r, net::ResponseOut& out);
  net::Outcome HandleOffsetDelete(Session& s, const Header& h, Reader& r, net::ResponseOut& out);
  // True (and logged) when this broker runs no group coordinator.
  bool NoCoordinator(const Header& h);
  void AnswerGroup(Session& s, const group::GroupCompletion& c, net::ResponseOut& out);

  // `create_refused`: topics it may describe but not auto-create (they do
  // not exist): answered TOPIC_AUTHORIZATION_FAILED, as Kafka.
  void WriteMetadata(Session& s, const Asker& a, bool all_topics,
                     const std::vector<std::string>& names,
                     const std::vector<std::string>& create_refused, net::ResponseOut& out);
  // Writes: once every write of the request is submitted, waits for them
  // (kSubmitted) or, when none is outstanding, answers now.
  net::Outcome SubmittedOrAnswered(Session& s, net::ResponseOut& out);
  void AnswerWrites(Session& s, net::ResponseOut& out);
  // Admin: submits the next pending topic operation, or answers when none is left.
  bool ContinueAdmin(Session& s, net::ResponseOut& out);
  // Settles, refused, every item the session's principal may not touch.
  void AuthorizeAdmin(Session& s, PendingAdmin& pa);
  void AnswerAdmin(Session& s, net::ResponseOut& out);
  // Fetch: answers from the plan; false while it must wait for more data.
  bool AnswerFetch(const FetchPlan& plan, bool final, net::ResponseOut& out);

  broker::BrokerCore* const core_;
  KafkaOptions opt_;
  LogLimiter warn_;  // connections closed for bad requests: a client may loop
  LogLimiter auth_warn_;  // failed authentications: a client may retry at any rate
  LogLimiter deny_log_;   // requests the ACLs refuse
};

}  // namespace sentry::frontend
