#include "frontend/native_frontend.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <exception>

#include "common/clock.h"
#include "frontend/native_errors.h"
#include "frontend/native_session.h"
#include "metrics/thread_metrics.h"
#include "protocol/group_messages.h"

namespace sentry::frontend {

using broker::Errc;
using net::Outcome;
using net::ResponseOut;
using pipeline::WriteRequest;
using pipeline::WriteRequestPtr;
using namespace protocol;

namespace {

constexpr const char* kBrokerVersion = "sentry 0.1.0";

struct ParkedFetch final : net::ParkedState {
  RequestHeader header;
  broker::FetchOp op;
  int64_t start_nanos = 0;  // when the fetch arrived (metrics)
};

using metrics::ThreadMetrics;

// What an asynchronous answer needs: the request header, and for the
// metrics when the request was taken and its API name.
void Stamp(pipeline::Completion& c, const RequestHeader& h) {
  c.reply.Set(h);
  c.start_nanos = ThreadMetrics::RequestStart();
  c.metric_api = ThreadMetrics::RequestApi();
}

// The `api` label of each native API (static storage: metrics keys).
std::string_view MetricApi(uint16_t key) {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (uint16_t k = 0; k < kApiKeyCount; k++) v.push_back(metrics::MetricApiName(ApiName(k)));
    return v;
  }();
  return key < names.size() ? std::string_view(names[key]) : std::string_view("unknown");
}

}  // namespace

std::unique_ptr<net::Session> NativeFrontend::NewSession(const pipeline::Route& route,
                                                         const std::string& peer) {
  auto s = std::make_unique<NativeSession>();
  s->core.route = route;
  s->host = security::AclHost(peer);
  s->peer = peer;
  s->authenticated = !opt_.sasl_required;
  return s;
}

bool NativeFrontend::Paused(const net::Session& s) const {
  return static_cast<const NativeSession&>(s).core.admin_pending;
}

uint32_t NativeFrontend::min_frame_bytes() const {
  return static_cast<uint32_t>(frame_layout::kRequestHeaderBytes);
}

int64_t NativeFrontend::max_frame_bytes(const net::Session& s, int64_t configured) const {
  if (static_cast<const NativeSession&>(s).authenticated) return configured;
  return std::min(configured, security::kMaxUnauthenticatedFrameBytes);
}

void NativeFrontend::OnBadLength(net::Session&, uint32_t length,
                                 std::span<const uint8_t> available, ResponseOut& out) {
  // A frame too large is answered MESSAGE_TOO_LARGE under its own header
  // when that header has arrived; a frame too short to hold a header gets
  // INVALID_REQUEST with an empty one (docs/protocol.md, "Framing").
  RequestHeader h;
  ErrorCode code = ErrorCode::kInvalidRequest;
  if (length >= frame_layout::kRequestHeaderBytes) {
    code = ErrorCode::kMessageTooLarge;
    if (available.size() >= frame_layout::kLengthBytes + frame_layout::kRequestHeaderBytes) {
      h = frame_layout::ReadHeader(available.data() + frame_layout::kLengthBytes);
    }
  }
  WriteError(out, h, code);
}

Outcome NativeFrontend::OnFrame(net::Session& session, std::span<const uint8_t> frame,
                                const std::shared_ptr<const void>& hold, ResponseOut& out,
                                net::ParkedRead* parked) {
  const RequestHeader h = frame_layout::ReadHeader(frame.data());
  if (h.api_key >= kApiKeyCount) return Malformed(out, h);
  if (h.api_version < kApiVersion || h.api_version > MaxApiVersion(h.api_key)) {
    WriteError(out, h, ErrorCode::kUnsupportedVersion);
    return Outcome::kDone;
  }
  ByteReader r(frame.subspan(frame_layout::kRequestHeaderBytes));
  ThreadMetrics::BeginRequest(metrics::Listener::kNative, MetricApi(h.api_key),
                              metrics::ThreadMetrics::Now());
  if (opt_.sasl_required && !MaySend(session, h)) {
    WriteError(out, h, ErrorCode::kIllegalSaslState);
    ThreadMetrics::ErrorInRequest(static_cast<int16_t>(ErrorCode::kIllegalSaslState));
    ThreadMetrics::EndRequest();
    return Outcome::kClose;
  }
  if (authorizer_) {
    const ErrorCode refused =
        Authorize(session, h, frame.subspan(frame_layout::kRequestHeaderBytes));
    if (refused != ErrorCode::kNone) {
      WriteError(out, h, refused);
      ThreadMetrics::EndRequest();
      return Outcome::kDone;
    }
  }
  try {
    const Outcome o = Dispatch(session, h, r, hold, out, parked);
    // kClose: answered, then the connection is closed (AUTHENTICATE).
    if (o == Outcome::kDone || o == Outcome::kClose) ThreadMetrics::EndRequest();
    return o;
  } catch (const std::exception& e) {
    spdlog::error("{} (correlation {}) failed: {}", ApiName(h.api_key), h.correlation_id,
                  e.what());
    return Refuse(out, h, Errc::kInternal);
  }
}

Outcome NativeFrontend::Dispatch(net::Session& ns, const Header& h, ByteReader& r,
                                 const std::shared_ptr<const void>& hold, ResponseOut& out,
                                 net::ParkedRead* parked) {
  broker::ClientSession& s = CoreOf(ns);
  switch (static_cast<ApiKey>(h.api_key)) {
    case ApiKey::kApiVersions: return HandleApiVersions(h, r, out);
    case ApiKey::kProduce: return HandleProduce(s, h, r, hold, out);
    case ApiKey::kFetch: return HandleFetch(s, h, r, out, parked);
    case ApiKey::kListOffsets: return HandleListOffsets(s, h, r, out);
    case ApiKey::kMetadata: return HandleMetadata(ns, h, r, out);
    case ApiKey::kCreateTopic: return HandleCreateTopic(s, h, r, out);
    case ApiKey::kDeleteTopic: return HandleDeleteTopic(s, h, r, out);
    case ApiKey::kDeleteRecords: return HandleDeleteRecords(s, h, r, out);
    case ApiKey::kAlterTopicConfig: return HandleAlterTopicConfig(s, h, r, out);
    case ApiKey::kDescribeLog: return HandleDescribeLog(h, r, out);
    case ApiKey::kDescribeCluster: return HandleDescribeCluster(ns, h, r, out);
    case ApiKey::kOffsetCommit: return HandleOffsetCommit(s, h, r, out);
    case ApiKey::kOffsetFetch: return HandleOffsetFetch(s, h, r, out);
    case ApiKey::kConsumerGroupHeartbeat: return HandleGroupHeartbeat(h, r, out);
    case ApiKey::kListGroups: return HandleListGroups(h, r, out);
    case ApiKey::kDescribeGroup: return HandleDescribeGroup(ns, h, r, out);
    case ApiKey::kAuthenticate: return HandleAuthenticate(ns, h, r, out);
    case ApiKey::kInitProducerId: return HandleInitProducerId(h, r, out);
  }
  return Malformed(out, h);
}

Outcome NativeFrontend::HandleApiVersions(const Header& h, ByteReader& r, ResponseOut& out) {
  if (!r.Done()) return Malformed(out, h);
  ApiVersionsResponse resp;
  resp.broker_version = kBrokerVersion;
  for (uint16_t k = 0; k < kApiKeyCount; k++) {
    resp.apis.push_back({k, kApiVersion, MaxApiVersion(k)});
  }
  return Respond(out, h, resp);
}

Outcome NativeFrontend::HandleProduce(broker::ClientSession& s, const Header& h, ByteReader& r,
                                      const std::shared_ptr<const void>& hold,
                                      ResponseOut& out) {
  ProduceRequest req;
  if (!Decode(&r, &req) || !req.records) return Malformed(out, h);
  ThreadMetrics::SetRequestApi(metrics::ProduceMetricApi(req.acks));
  broker::ProduceOp op{req.topic, req.partition, req.acks, req.timeout_ms, *req.records, &hold};
  WriteRequestPtr wr;
  if (Errc e = core_->PrepareProduce(s, op, &wr); e != Errc::kNone) {
    // acks=0 means no response at all, errors included (as in Kafka); a bad
    // acks value itself is always answered.
    if (req.acks != 0) Refuse(out, h, e);
    return Outcome::kDone;
  }
  return SubmitWrite(s, h, std::move(wr));
}

Outcome NativeFrontend::SubmitWrite(broker::ClientSession& s, const Header& h,
                                    WriteRequestPtr wr) {
  Stamp(*wr, h);
  return core_->Submit(s, wr) ? Outcome::kSubmitted : Outcome::kRetryLater;
}

int NativeFrontend::OnCompletion(pipeline::CompletionPtr c, net::Session& s, ResponseOut& out) {
  // Requests are pipelined: a write answered by another thread than the one
  // before it (writer, flusher, inline) may come back first; it waits its turn.
  std::vector<pipeline::CompletionPtr> ready;
  core_->TakeInOrder(CoreOf(s), std::move(c), &ready);
  for (const auto& r : ready) Answer(r.get(), s, out);
  return static_cast<int>(ready.size());
}

void NativeFrontend::Answer(const pipeline::Completion* c, net::Session& s, ResponseOut& out) {
  core_->Finish(CoreOf(s), *c);
  const auto h = c->reply.Get<RequestHeader>();
  // Counted as answered here, acks=0 writes (no answer) included.
  ThreadMetrics::BeginRequest(metrics::Listener::kNative, c->metric_api, c->start_nanos);
  ThreadMetrics::EndRequest();
  if (c->kind == pipeline::Completion::Kind::kAdmin) {
    const auto& admin = static_cast<const broker::AdminCompletion&>(*c);
    if (h.api_key == static_cast<uint16_t>(ApiKey::kDeleteRecords) && admin.result.ok()) {
      Respond(out, h, DeleteRecordsResponse{admin.value});
      return;
    }
    WriteError(out, h, ToNativeError(admin.result.code));
    return;
  }
  const auto& w = static_cast<const WriteRequest&>(*c);
  if (w.acks == 0) return;
  if (!w.status.ok()) {
    WriteError(out, h, ToNativeError(broker::FromStatus(w.status)));
    return;
  }
  if (h.api_key == static_cast<uint16_t>(ApiKey::kOffsetCommit)) {
    WriteError(out, h, ErrorCode::kNone);  // the answer is the header alone
    return;
  }
  ProduceResponse resp;
  resp.partition = w.partition->index();
  resp.base_offset = w.info.base_offset;
  resp.log_append_time = w.info.log_append_time;
  resp.log_start_offset = w.partition->log()->log_start_offset();
  Respond(out, h, resp);
}

bool NativeFrontend::AnswerFetch(const Header& h, const pipeline::Partition& p,
                                 const broker::FetchResult& fr, ResponseOut& out) {
  if (!fr.ready) return false;
  if (fr.error != Errc::kNone && fr.error != Errc::kOffsetOutOfRange) {
    Refuse(out, h, fr.error);
    return true;
  }
  FetchResponseHeader fh{fr.partition, fr.high_watermark, fr.log_start_offset};
  ByteWriter w(out.bytes());
  size_t start = BeginResponse(&w, h, static_cast<int16_t>(ToNativeError(fr.error)));
  Encode(&w, fh);
  w.BytesLength(static_cast<int32_t>(fr.records.size()));
  FinishFrame(&w, start, fr.records.size());
  if (!fr.records.empty()) {
    out.AppendPayload(fr.records, fr.hold);
    broker::BrokerCore::CountSent(p, fr.records);
  }
  return true;
}

Outcome NativeFrontend::HandleFetch(broker::ClientSession& s, const Header& h, ByteReader& r,
                                    ResponseOut& out, net::ParkedRead* parked) {
  FetchRequest req;
  if (!Decode(&r, &req) || req.max_bytes < 0 || req.min_bytes < 0 || req.max_wait_ms < 0) {
    return Malformed(out, h);
  }
  broker::ReadTarget t = core_->PartitionToRead(s, req.topic, req.partition);
  if (t.wait_for_writes) return Outcome::kRetryLater;
  if (!t.partition) return Refuse(out, h, t.error);
  broker::FetchOp op{req.offset, req.max_bytes, req.min_bytes, req.max_wait_ms};
  if (AnswerFetch(h, *t.partition, core_->Fetch(*t.partition, op, /*final=*/false), out)) {
    return Outcome::kDone;
  }
  auto state = std::make_unique<ParkedFetch>();
  state->header = h;
  state->op = op;
  state->start_nanos = ThreadMetrics::RequestStart();
  parked->partitions.push_back(std::move(t.partition));
  parked->deadline_ms = SteadyMillis() + req.max_wait_ms;
  parked->state = std::move(state);
  return Outcome::kParked;
}

bool NativeFrontend::OnParkedReady(net::ParkedRead& parked, bool expired, net::Session&,
                                   ResponseOut& out) {
  const auto& pf = static_cast<const ParkedFetch&>(*parked.state);
  const pipeline::Partition& p = *parked.partitions.front();
  ThreadMetrics::BeginRequest(metrics::Listener::kNative, MetricApi(pf.header.api_key),
                              pf.start_nanos);
  if (!AnswerFetch(pf.header, p, core_->Fetch(*parked.partitions.front(), pf.op, expired), out)) {
    return false;
  }
  ThreadMetrics::EndRequest();
  return true;
}

Outcome NativeFrontend::HandleListOffsets(broker::ClientSession& s, const Header& h,
                                          ByteReader& r, ResponseOut& out) {
  ListOffsetsRequest req;
  if (!Decode(&r, &req)) return Malformed(out, h);
  broker::ReadTarget t = core_->PartitionToRead(s, req.topic, req.partition);
  if (t.wait_for_writes) return Outcome::kRetryLater;
  if (!t.partition) return Refuse(out, h, t.error);
  broker::OffsetLookup l = core_->ListOffsets(*t.partition, req.timestamp);
  if (l.error != Errc::kNone) return Refuse(out, h, l.error);
  return Respond(out, h, ListOffsetsResponse{l.partition, l.offset, l.timestamp});
}

Outcome NativeFrontend::HandleMetadata(net::Session& ns, const Header& h, ByteReader& r,
                                       ResponseOut& out) {
  MetadataRequest req;
  if (!Decode(&r, &req)) return Malformed(out, h);
  const broker::BrokerIdentity& id = core_->identity();
  MetadataResponse resp;
  resp.broker_id = id.broker_id;
  resp.host = id.host;
  resp.port = port_ >= 0 ? port_ : id.port;
  for (broker::TopicState& t : core_->Describe(req.topics)) {
    TopicMetadata tm;
    if (!MayDescribe(ns, t.name)) {
      if (req.topics.empty()) continue;  // every topic: only those it may describe
      tm.name = std::move(t.name);
      tm.error_code = static_cast<int16_t>(ErrorCode::kTopicAuthorizationFailed);
      resp.topics.push_back(std::move(tm));
      continue;
    }
    tm.name = std::move(t.name);
    tm.error_code = static_cast<int16_t>(ToNativeError(t.error));
    for (auto& p : t.partitions) {
      tm.partitions.push_back({p.index, p.log_start_offset, p.log_end_offset});
    }
    resp.topics.push_back(std::move(tm));
  }
  return Respond(out, h, resp);
}

Outcome NativeFrontend::HandleInitProducerId(const Header& h, ByteReader& r, ResponseOut& out) {
  if (!r.Done()) return Malformed(out, h);
  // Always a new id, epoch 0, as Kafka's InitProducerId without a
  // transactional id (in a cluster, from a block reserved in etcd).
  auto id = core_->NewProducerId();
  if (!id.ok()) {
    spdlog::error("INIT_PRODUCER_ID: {}", id.status().ToString());
    return Refuse(out, h, Errc::kStorage);
  }
  return Respond(out, h, InitProducerIdResponse{*id, 0});
}

Outcome NativeFrontend::HandleDescribeCluster(net::Session& ns, const Header& h, ByteReader& r,
                                              ResponseOut& out) {
  DescribeClusterRequest req;
  if (!Decode(&r, &req)) return Malformed(out, h);
  DescribeClusterResponse resp;
  broker::ClusterHooks* cluster = core_->cluster();
  const auto& me = core_->identity();
  if (cluster) {
    resp.cluster_mode = 1;
    resp.controller_id = cluster->ControllerId();
    for (const auto& b : cluster->Brokers()) {
      resp.brokers.push_back({b.id, b.host, b.native_port, b.kafka_port});
    }
  } else {
    resp.controller_id = me.broker_id;
    resp.brokers.push_back({me.broker_id, me.host, port_ >= 0 ? port_ : me.port, -1});
  }
  for (broker::TopicState& t : core_->Describe(req.topics)) {
    ClusterTopicInfo ti;
    if (!MayDescribe(ns, t.name)) {
      if (req.topics.empty()) continue;  // every topic: only those it may describe
      ti.name = std::move(t.name);
      ti.error_code = static_cast<int16_t>(ErrorCode::kTopicAuthorizationFailed);
      resp.topics.push_back(std::move(ti));
      continue;
    }
    ti.name = std::move(t.name);
    ti.error_code = static_cast<int16_t>(ToNativeError(t.error));
    for (const auto& p : t.partitions) {
      ClusterPartitionInfo pi;
      pi.partition = p.index;
      if (!cluster) {
        pi.leader = me.broker_id;
        pi.replicas = pi.isr = {me.broker_id};
      } else if (auto l = cluster->Leadership(ti.name, p.index)) {
        pi.leader = l->leader;
        pi.leader_epoch = l->leader_epoch;
        pi.replicas = l->replicas;
        pi.isr = l->isr;
      }
      ti.partitions.push_back(std::move(pi));
    }
    resp.topics.push_back(std::move(ti));
  }
  return Respond(out, h, resp);
}

Outcome NativeFrontend::HandleDescribeLog(const Header& h, ByteReader& r, ResponseOut& out) {
  DescribeLogRequest req;
  if (!Decode(&r, &req)) return Malformed(out, h);
  std::vector<broker::PartitionLogState> parts;
  if (Errc e = core_->DescribeLog(req.topic, &parts); e != Errc::kNone) return Refuse(out, h, e);
  DescribeLogResponse resp;
  for (const auto& p : parts) {
    resp.partitions.push_back({p.index, p.log_start_offset, p.high_watermark, p.durable_offset,
                               p.size_bytes, p.segments, p.cleaned_offset, p.clean_bytes,
                               p.dirty_bytes, static_cast<int8_t>(p.offline ? 1 : 0)});
  }
  return Respond(out, h, resp);
}

Outcome NativeFrontend::HandleCreateTopic(broker::ClientSession& s, const Header& h,
                                          ByteReader& r, ResponseOut& out) {
  CreateTopicRequest req;
  if (!Decode(&r, &req)) return Malformed(out, h);
  // Copies: the request's views point into the receive buffer.
  // The native request has no replication factor field: it travels as the
  // pseudo config `replication.factor` (docs/protocol.md), not stored.
  std::vector<std::pair<std::string, std::string>> configs;
  int16_t replication_factor = -1;
  for (auto& [k, v] : req.configs) {
    if (k == "replication.factor") {
      int rf = 0;
      auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), rf);
      if (ec != std::errc() || ptr != v.data() + v.size() || rf < 1 || rf > 0x7FFF) {
        WriteError(out, h, ToNativeError(broker::Errc::kInvalidReplicationFactor));
        return Outcome::kDone;
      }
      replication_factor = static_cast<int16_t>(rf);
      continue;
    }
    configs.emplace_back(k, v);
  }
  auto c = std::make_unique<broker::AdminCompletion>();
  Stamp(*c, h);
  return core_->SubmitCreateTopic(s, c, std::string(req.name), req.partitions, std::move(configs),
                                  replication_factor)
             ? Outcome::kSubmitted
             : Outcome::kRetryLater;
}

Outcome NativeFrontend::HandleDeleteTopic(broker::ClientSession& s, const Header& h,
                                          ByteReader& r, ResponseOut& out) {
  DeleteTopicRequest req;
  if (!Decode(&r, &req)) return Malformed(out, h);
  auto c = std::make_unique<broker::AdminCompletion>();
  Stamp(*c, h);
  return core_->SubmitDeleteTopic(s, c, std::string(req.name)) ? Outcome::kSubmitted
                                                                : Outcome::kRetryLater;
}

Outcome NativeFrontend::HandleAlterTopicConfig(broker::ClientSession& s, const Header& h,
                                               ByteReader& r, ResponseOut& out) {
  AlterTopicConfigRequest req;
  if (!Decode(&r, &req)) return Malformed(out, h);
  std::vector<broker::TopicRegistry::ConfigChange> changes;
  for (const auto& e : req.entries) {
    if (e.op != kAlterSet && e.op != kAlterDelete) return Malformed(out, h);
    changes.emplace_back(std::string(e.key), e.op == kAlterSet
                                                 ? std::optional<std::string>(std::string(e.value))
                                                 : std::nullopt);
  }
  auto c = std::make_unique<broker::AdminCompletion>();
  Stamp(*c, h);
  return core_->SubmitAlterTopicConfig(s, c, std::string(req.topic), std::move(changes))
             ? Outcome::kSubmitted
             : Outcome::kRetryLater;
}

Outcome NativeFrontend::HandleDeleteRecords(broker::ClientSession& s, const Header& h,
                                            ByteReader& r, ResponseOut& out) {
  DeleteRecordsRequest req;
  if (!Decode(&r, &req)) return Malformed(out, h);
  auto c = std::make_unique<broker::AdminCompletion>();
  Stamp(*c, h);
  return core_->SubmitDeleteRecords(s, c, std::string(req.topic), req.partition, req.offset)
             ? Outcome::kSubmitted
             : Outcome::kRetryLater;
}

Outcome NativeFrontend::HandleOffsetCommit(broker::ClientSession& s, const Header& h,
                                           ByteReader& r, ResponseOut& out) {
  OffsetCommitRequest req;
  OffsetCommitMember member;  // v1: a commit from outside any group
  const bool ok = h.api_version >= kOffsetCommitMemberVersion ? Decode(&r, &req, &member)
                                                              : Decode(&r, &req);
  if (!ok) return Malformed(out, h);
  if (auto* groups = core_->groups(); groups && !req.group.empty()) {
    // The group coordinator's fencing, as for Kafka clients: a member at its
    // current epoch, or anyone while the group has no members.
    const group::GroupErrc e = groups->ValidateCommit(std::string(req.group), member.member_id,
                                                      "", member.member_epoch);
    if (e != group::GroupErrc::kNone) {
      WriteError(out, h, ToNativeError(e));
      return Outcome::kDone;
    }
  }
  broker::OffsetCommitOp op{req.group, req.topic, req.partition, req.offset, req.metadata};
  WriteRequestPtr wr;
  if (Errc e = core_->PrepareOffsetCommit(op, &wr); e != Errc::kNone) return Refuse(out, h, e);
  return SubmitWrite(s, h, std::move(wr));
}

Outcome NativeFrontend::HandleOffsetFetch(broker::ClientSession& s, const Header& h,
                                          ByteReader& r, ResponseOut& out) {
  OffsetFetchRequest req;
  if (!Decode(&r, &req)) return Malformed(out, h);
  broker::CommittedOffset c;
  if (Errc e = core_->CommittedOffsetOf(req.group, req.topic, req.partition, &c);
      e != Errc::kNone) {
    return Refuse(out, h, e);
  }
  return Respond(out, h, OffsetFetchResponse{c.offset, c.metadata});
}

}  // namespace sentry::frontend
