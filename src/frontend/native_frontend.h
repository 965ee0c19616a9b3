// NativeFrontend: Sentry's native protocol (docs/protocol.md) in front of the
// broker core. For each frame it decodes the request, calls one BrokerCore
// operation, and encodes the answer; it holds no broker state of its own.
//
// Adding an API: a Decode/Encode pair in protocol/messages.*, a Handle*
// method here, and (if the core cannot do it yet) one BrokerCore operation.
//
// Threads: one instance serves every network thread; per-connection state is
// the NativeSession each connection owns.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "broker/broker_core.h"
#include "net/frame_handler.h"
#include "protocol/codec.h"
#include "protocol/errors.h"
#include "protocol/messages.h"
#include "common/log_limiter.h"
#include "security/authorizer.h"
#include "security/sasl_session.h"

namespace sentry::frontend {

struct NativeOptions {
  // The listener's port, for Metadata and DescribeCluster (-1: the broker's
  // native port, which the core knows). A TLS listener names its own.
  int32_t port = -1;
  // authorizer.enabled: every request is checked against the ACLs first;
  // null: everything is allowed.
  security::Authorizer* authorizer = nullptr;
  // native.sasl=required: every request but API_VERSIONS and AUTHENTICATE
  // waits for a successful SASL exchange (native_sasl.cc).
  bool sasl_required = false;
  security::SaslPolicy sasl;
};

class NativeFrontend final : public net::FrameHandler {
 public:
  explicit NativeFrontend(broker::BrokerCore* core, NativeOptions opt = {})
      : core_(core), opt_(std::move(opt)), port_(opt_.port), authorizer_(opt_.authorizer) {}

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

 private:
  using Header = protocol::RequestHeader;
  // native_acls.cc: the error that refuses request `h` (body `body`) to the
  // session's principal, or kNone. A body that does not decode is left to
  // its handler, which refuses it as malformed.
  protocol::ErrorCode Authorize(net::Session& s, const Header& h, std::span<const uint8_t> body);
  // Metadata and DescribeCluster: whether the topic is shown (true without
  // an authorizer). Every-topic answers leave the others out; named ones
  // answer TOPIC_AUTHORIZATION_FAILED for them, as Kafka.
  bool MayDescribe(net::Session& s, std::string_view topic);
  // Answers one completion whose turn it is (see OnCompletion).
  void Answer(const pipeline::Completion* c, net::Session& s, net::ResponseOut& out);
  net::Outcome Dispatch(net::Session& ns, const Header& h, protocol::ByteReader& r,
                        const std::shared_ptr<const void>& hold, net::ResponseOut& out,
                        net::ParkedRead* parked);
  net::Outcome HandleApiVersions(const Header& h, protocol::ByteReader& r, net::ResponseOut& out);
  net::Outcome HandleProduce(broker::ClientSession& s, const Header& h, protocol::ByteReader& r,
                             const std::shared_ptr<const void>& hold, net::ResponseOut& out);
  net::Outcome HandleFetch(broker::ClientSession& s, const Header& h, protocol::ByteReader& r,
                           net::ResponseOut& out, net::ParkedRead* parked);
  net::Outcome HandleListOffsets(broker::ClientSession& s, const Header& h,
                                 protocol::ByteReader& r, net::ResponseOut& out);
  net::Outcome HandleMetadata(net::Session& ns, const Header& h, protocol::ByteReader& r,
                              net::ResponseOut& out);
  net::Outcome HandleCreateTopic(broker::ClientSession& s, const Header& h,
                                 protocol::ByteReader& r, net::ResponseOut& out);
  net::Outcome HandleDeleteTopic(broker::ClientSession& s, const Header& h,
                                 protocol::ByteReader& r, net::ResponseOut& out);
  net::Outcome HandleDeleteRecords(broker::ClientSession& s, const Header& h,
                                   protocol::ByteReader& r, net::ResponseOut& out);
  net::Outcome HandleAlterTopicConfig(broker::ClientSession& s, const Header& h,
                                      protocol::ByteReader& r, net::ResponseOut& out);
  net::Outcome HandleDescribeCluster(net::Session& ns, const Header& h, protocol::ByteReader& r,
                                     net::ResponseOut& out);
  net::Outcome HandleInitProducerId(const Header& h, protocol::ByteReader& r,
                                    net::ResponseOut& out);
  // SASL (native_sasl.cc): AUTHENTICATE, and the gate before it succeeded.
  net::Outcome HandleAuthenticate(net::Session& ns, const Header& h, protocol::ByteReader& r,
                                  net::ResponseOut& out);
  // Whether the session may send `h` now: authenticated and its session
  // not ended, or `h` is API_VERSIONS or AUTHENTICATE. False is logged
  // (rate-limited); the caller answers ILLEGAL_SASL_STATE and closes.
  bool MaySend(net::Session& ns, const Header& h);
  net::Outcome HandleDescribeLog(const Header& h, protocol::ByteReader& r,
                                 net::ResponseOut& out);
  net::Outcome HandleOffsetCommit(broker::ClientSession& s, const Header& h,
                                  protocol::ByteReader& r, net::ResponseOut& out);
  net::Outcome HandleOffsetFetch(broker::ClientSession& s, const Header& h,
                                 protocol::ByteReader& r, net::ResponseOut& out);
  // Groups (native_groups.cc).
  net::Outcome HandleGroupHeartbeat(const Header& h, protocol::ByteReader& r,
                                    net::ResponseOut& out);
  net::Outcome HandleListGroups(const Header& h, protocol::ByteReader& r, net::ResponseOut& out);
  net::Outcome HandleDescribeGroup(net::Session& ns, const Header& h, protocol::ByteReader& r,
                                   net::ResponseOut& out);
  // Hands a prepared write to the core with this request's reply context.
  net::Outcome SubmitWrite(broker::ClientSession& s, const Header& h,
                           pipeline::WriteRequestPtr wr);
  // Answers a fetch from the core's result; false when it must wait.
  bool AnswerFetch(const Header& h, const pipeline::Partition& p, const broker::FetchResult& fr,
                   net::ResponseOut& out);

  broker::BrokerCore* const core_;
  const NativeOptions opt_;
  const int32_t port_;
  security::Authorizer* const authorizer_;
  LogLimiter deny_log_;  // requests the ACLs refuse
  LogLimiter auth_log_;  // failed or missing authentication
};

}  // namespace sentry::frontend
