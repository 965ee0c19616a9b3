// The Kafka front end: framing, headers, dispatch, and the small APIs
// (ApiVersions, Metadata, FindCoordinator, InitProducerId). Produce and
// offset commits: kafka_writes.cc; fetch and offset reads: kafka_reads.cc;
// topic administration and configs: kafka_admin.cc.
#include "frontend/kafka_frontend.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

#include "common/group_partition.h"
#include "frontend/kafka_errors.h"
#include "frontend/kafka_session.h"
#include "metrics/thread_metrics.h"

namespace sentry::frontend {

using kafka::ErrorCode;
using net::Outcome;
using net::ResponseOut;

namespace {
constexpr size_t kHeaderStartBytes = 8;  // api key, api version, correlation id

// The `api` label of a served Kafka API (static storage: metrics keys).
std::string_view MetricApi(int16_t key) {
  static const std::vector<std::pair<int16_t, std::string>> names = [] {
    std::vector<std::pair<int16_t, std::string>> v;
    for (const auto& a : kafka::kApiRanges) v.emplace_back(a.key, metrics::MetricApiName(a.name));
    return v;
  }();
  for (const auto& [k, name] : names) {
    if (k == key) return name;
  }
  return "unknown";
}
}  // namespace

KafkaFrontend::KafkaFrontend(broker::BrokerCore* core, KafkaOptions opt)
    : core_(core), opt_(std::move(opt)) {}

std::unique_ptr<net::Session> KafkaFrontend::NewSession(const pipeline::Route& route,
                                                        const std::string& peer) {
  auto s = std::make_unique<Session>();
  s->authenticated = !opt_.sasl_required;
  s->core.route = route;
  s->peer = peer;
  s->host = security::AclHost(peer);
  return s;
}

bool KafkaFrontend::Paused(const net::Session& ns) const {
  const auto& s = static_cast<const Session&>(ns);
  return s.busy || s.core.admin_pending;
}

uint32_t KafkaFrontend::min_frame_bytes() const { return kHeaderStartBytes; }

int64_t KafkaFrontend::max_frame_bytes(const net::Session& s, int64_t configured) const {
  if (static_cast<const Session&>(s).authenticated) return configured;
  return std::min(configured, security::kMaxUnauthenticatedFrameBytes);
}

void KafkaFrontend::OnBadLength(net::Session&, uint32_t length, std::span<const uint8_t>,
                                ResponseOut&) {
  // Kafka answers nothing to a frame it will not read: the connection is
  // closed (the network layer logged the length).
}

Outcome KafkaFrontend::OnFrame(net::Session& ns, std::span<const uint8_t> frame,
                               const std::shared_ptr<const void>& hold, ResponseOut& out,
                               net::ParkedRead* parked) {
  auto& s = static_cast<Session&>(ns);
  if (s.sasl_raw) return OnRawSaslToken(s, frame, out);
  Reader r(frame);
  Header h;
  if (!kafka::ReadHeaderStart(r, &h)) return Outcome::kClose;
  const kafka::ApiRange* api = kafka::FindApi(h.api_key);
  if (!api) {
    // Clients retry this in a loop (kafka-python joining a group): the
    // warning is rate-limited, the count of those not logged is kept.
    if (warn_.Allow()) {
      spdlog::warn("kafka connection {}: unsupported API key {} (version {}); closing it{}",
                   s.core.route.conn_id, h.api_key, h.api_version, warn_.Suppressed());
    }
    return Outcome::kClose;
  }
  if (h.api_key == kafka::kApiVersionsKey && h.api_version > api->max_version) {
    // As Kafka: UNSUPPORTED_VERSION in the v0 format, with our ranges, so
    // the client can retry with a version we serve.
    kafka::ApiVersionsResponse resp;
    resp.error_code = Code(ErrorCode::kUnsupportedVersion);
    for (const auto& a : kafka::kApiRanges) {
      resp.api_keys.push_back({a.key, a.min_version, a.max_version});
    }
    Respond(out, Asker{h.api_key, 0, h.correlation_id}, resp);
    return Outcome::kDone;
  }
  if (h.api_version < api->min_version || h.api_version > api->max_version) {
    if (warn_.Allow()) {
      spdlog::warn("kafka connection {}: {} version {} is not served ({}-{}); closing it{}",
                   s.core.route.conn_id, api->name, h.api_version, api->min_version,
                   api->max_version, warn_.Suppressed());
    }
    return Outcome::kClose;
  }
  if (!kafka::ReadHeaderRest(r, h.api_version >= api->first_flexible_version, &h)) {
    if (warn_.Allow()) {
      spdlog::warn("kafka connection {}: malformed request header; closing it{}",
                   s.core.route.conn_id, warn_.Suppressed());
    }
    return Outcome::kClose;
  }
  metrics::ThreadMetrics::BeginRequest(metrics::Listener::kKafka, MetricApi(h.api_key),
                                       metrics::ThreadMetrics::Now());
  if (!s.authenticated && !AllowedBeforeAuthentication(s, h)) return Outcome::kClose;
  if (s.sasl.expires_ms() > 0 && !SessionValid(s, h)) return Outcome::kClose;
  try {
    const Outcome o = Dispatch(s, h, r, hold, out, parked);
    if (o == Outcome::kDone) {
      metrics::ThreadMetrics::EndRequest();
    } else if (o == Outcome::kSubmitted || o == Outcome::kParked) {
      s.request_start_nanos = metrics::ThreadMetrics::RequestStart();
      s.request_api = metrics::ThreadMetrics::RequestApi();
    }
    // SASL requests close connections for more reasons; kafka_sasl.cc logs them.
    const bool sasl = h.api_key == static_cast<int16_t>(kafka::ApiKey::kSaslHandshake) ||
                      h.api_key == static_cast<int16_t>(kafka::ApiKey::kSaslAuthenticate);
    if (o == Outcome::kClose && !sasl && warn_.Allow()) {
      spdlog::warn("kafka connection {}: malformed {} v{} request (correlation {}); closing it{}",
                   s.core.route.conn_id, api->name, h.api_version, h.correlation_id,
                   warn_.Suppressed());
    }
    return o;
  } catch (const std::exception& e) {
    spdlog::error("kafka {} v{} (correlation {}) failed: {}; closing the connection", api->name,
                  h.api_version, h.correlation_id, e.what());
    return Outcome::kClose;
  }
}

Outcome KafkaFrontend::Dispatch(Session& s, const Header& h, Reader& r,
                                const std::shared_ptr<const void>& hold, ResponseOut& out,
                                net::ParkedRead* parked) {
  using kafka::ApiKey;
  switch (static_cast<ApiKey>(h.api_key)) {
    case ApiKey::kApiVersions: return HandleApiVersions(h, r, out);
    case ApiKey::kMetadata: return HandleMetadata(s, h, r, out);
    case ApiKey::kProduce: return HandleProduce(s, h, r, hold, out);
    case ApiKey::kFetch: return HandleFetch(s, h, r, out, parked);
    case ApiKey::kListOffsets: return HandleListOffsets(s, h, r, out);
    case ApiKey::kCreateTopics: return HandleCreateTopics(s, h, r, out);
    case ApiKey::kDeleteTopics: return HandleDeleteTopics(s, h, r, out);
    case ApiKey::kDeleteRecords: return HandleDeleteRecords(s, h, r, out);
    case ApiKey::kAlterConfigs: return HandleAlterConfigs(s, h, r, out);
    case ApiKey::kIncrementalAlterConfigs: return HandleIncrementalAlterConfigs(s, h, r, out);
    case ApiKey::kInitProducerId: return HandleInitProducerId(s, h, r, out);
    case ApiKey::kFindCoordinator: return HandleFindCoordinator(s, h, r, out);
    case ApiKey::kOffsetCommit: return HandleOffsetCommit(s, h, r, out);
    case ApiKey::kOffsetFetch: return HandleOffsetFetch(s, h, r, out);
    case ApiKey::kDescribeConfigs: return HandleDescribeConfigs(s, h, r, out);
    case ApiKey::kJoinGroup: return HandleJoinGroup(s, h, r, out);
    case ApiKey::kSyncGroup: return HandleSyncGroup(s, h, r, out);
    case ApiKey::kHeartbeat: return HandleHeartbeat(s, h, r, out);
    case ApiKey::kLeaveGroup: return HandleLeaveGroup(s, h, r, out);
    case ApiKey::kListGroups: return HandleListGroups(s, h, r, out);
    case ApiKey::kDescribeGroups: return HandleDescribeGroups(s, h, r, out);
    case ApiKey::kOffsetDelete: return HandleOffsetDelete(s, h, r, out);
    case ApiKey::kOffsetForLeaderEpoch: return HandleOffsetForLeaderEpoch(s, h, r, out);
    case ApiKey::kSaslHandshake: return HandleSaslHandshake(s, h, r, out);
    case ApiKey::kSaslAuthenticate: return HandleSaslAuthenticate(s, h, r, out);
    case ApiKey::kDescribeAcls: return HandleDescribeAcls(s, h, r, out);
    case ApiKey::kCreateAcls: return HandleCreateAcls(s, h, r, out);
    case ApiKey::kDeleteAcls: return HandleDeleteAcls(s, h, r, out);
    case ApiKey::kDescribeUserScramCredentials:
      return HandleDescribeUserScramCredentials(s, h, r, out);
    case ApiKey::kAlterUserScramCredentials: return HandleAlterUserScramCredentials(s, h, r, out);
  }
  return Outcome::kClose;
}

// Kafka serves one request of a connection at a time (Paused), so answers
// cannot overtake each other: no reordering needed here.
int KafkaFrontend::OnCompletion(pipeline::CompletionPtr c, net::Session& ns, ResponseOut& out) {
  auto& s = static_cast<Session&>(ns);
  metrics::ThreadMetrics::BeginRequest(metrics::Listener::kKafka, s.request_api,
                                       s.request_start_nanos);
  const int answered = AnswerCompletion(std::move(c), ns, out);
  if (answered > 0) metrics::ThreadMetrics::EndRequest();
  return answered;
}

int KafkaFrontend::AnswerCompletion(pipeline::CompletionPtr c, net::Session& ns,
                                    ResponseOut& out) {
  auto& s = static_cast<Session&>(ns);
  core_->Finish(s.core, *c);
  if (c->kind == pipeline::Completion::Kind::kGroup) {
    AnswerGroup(s, static_cast<const group::GroupCompletion&>(*c), out);
    return 1;
  }
  if (c->kind == pipeline::Completion::Kind::kAdmin) {
    auto& item = s.admin->items[s.admin->next];
    const auto& result = static_cast<const broker::AdminCompletion&>(*c).result;
    item.error = ToKafkaError(result.code);
    if (!result.ok()) item.message = result.message;
    item.low_watermark = static_cast<const broker::AdminCompletion&>(*c).value;
    item.settled = true;
    s.admin->next++;
    return ContinueAdmin(s, out) ? 1 : 0;
  }
  const auto& w = static_cast<const pipeline::WriteRequest&>(*c);
  PendingWrites& pw = *s.writes;
  auto& slot = pw.slots[c->reply.Get<uint32_t>()];
  slot.settled = true;
  slot.error = ToKafkaError(broker::FromStatus(w.status));
  if (w.status.ok()) {
    slot.base_offset = w.info.base_offset;
    slot.log_append_time = w.info.log_append_time;
    slot.log_start_offset = w.partition->log()->log_start_offset();
  }
  pw.outstanding--;
  if (pw.outstanding > 0 || pw.next < pw.slots.size()) return 0;
  AnswerWrites(s, out);
  return 1;
}

Outcome KafkaFrontend::HandleApiVersions(const Header& h, Reader& r, ResponseOut& out) {
  kafka::ApiVersionsRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  kafka::ApiVersionsResponse resp;
  for (const auto& a : kafka::kApiRanges) {
    resp.api_keys.push_back({a.key, a.min_version, a.max_version});
  }
  Respond(out, Asker::Of(h), resp);
  return Outcome::kDone;
}

void KafkaFrontend::WriteMetadata(Session& s, const Asker& a, bool all_topics,
                                  const std::vector<std::string>& names,
                                  const std::vector<std::string>& create_refused,
                                  ResponseOut& out) {
  const int32_t me = core_->identity().broker_id;
  broker::ClusterHooks* cluster = core_->cluster();
  kafka::MetadataResponse resp;
  if (cluster) {
    for (const auto& b : cluster->Brokers()) {
      if (b.kafka_port >= 0) resp.brokers.push_back({b.id, b.host, b.kafka_port, std::nullopt});
    }
    // Any broker takes admin requests (they go to etcd from here), so a
    // client's "controller" is this broker, as KRaft brokers name some live
    // broker: the elected controller may not even be known yet.
    resp.controller_id = me;
  } else {
    resp.brokers.push_back({me, opt_.advertised_host, opt_.port, std::nullopt});
    resp.controller_id = me;
  }
  resp.cluster_id = opt_.cluster_id;
  std::vector<std::string_view> views(names.begin(), names.end());
  if (all_topics || !views.empty()) {
    for (broker::TopicState& t : core_->Describe(views)) {
      // Only topics the principal may DESCRIBE: the others are left out of
      // "every topic" and refused when named (existing or not), as Kafka.
      const bool refused = std::find(create_refused.begin(), create_refused.end(), t.name) !=
                           create_refused.end();
      if (refused || !AllowedTopic(s, security::AclOperation::kDescribe, t.name)) {
        if (all_topics) continue;
        kafka::MetadataResponse::MetadataResponseTopic mt;
        mt.error_code = Code(ErrorCode::kTopicAuthorizationFailed);
        mt.name = std::move(t.name);
        resp.topics.push_back(std::move(mt));
        continue;
      }
      kafka::MetadataResponse::MetadataResponseTopic mt;
      mt.error_code = ToKafkaError(t.error);
      mt.name = std::move(t.name);
      if (auto topic = core_->FindTopic(*mt.name)) mt.topic_id = TopicIdOf(*topic);
      for (const auto& p : t.partitions) {
        kafka::MetadataResponse::MetadataResponsePartition mp;
        mp.partition_index = p.index;
        mp.leader_id = me;
        mp.leader_epoch = 0;
        mp.replica_nodes = {me};
        mp.isr_nodes = {me};
        if (cluster) {
          // Not in the cluster's metadata yet (this broker has not seen the
          // record): no leader for now.
          auto l = cluster->Leadership(*mt.name, p.index);
          if (!l) l = broker::PartitionLeadership{};
          mp.leader_id = l->leader;
          mp.leader_epoch = l->leader_epoch;
          mp.replica_nodes = l->replicas;
          mp.isr_nodes = l->isr;
          if (l->leader < 0) mp.error_code = Code(ErrorCode::kLeaderNotAvailable);
        }
        mt.partitions.push_back(std::move(mp));
      }
      resp.topics.push_back(std::move(mt));
    }
  }
  Respond(out, a, resp);
}

Outcome KafkaFrontend::HandleMetadata(Session& s, const Header& h, Reader& r, ResponseOut& out) {
  kafka::MetadataRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  // v0: an empty list means every topic; v1+: null means every topic.
  const bool all = !req.topics || (h.api_version == 0 && req.topics->empty());
  std::vector<std::string> names;
  if (!all) {
    for (const auto& t : *req.topics) names.emplace_back(t.name ? *t.name : std::string_view());
  }
  const bool auto_create =
      opt_.auto_create_topics && (h.api_version < 4 || req.allow_auto_topic_creation);
  std::vector<std::string> create_refused;
  if (auto_create) {
    auto pa = std::make_unique<PendingAdmin>();
    pa->asker = Asker::Of(h);
    for (const auto& n : names) {
      // Auto-creation needs CREATE on the cluster or the topic (and
      // DESCRIBE to see it), as Kafka.
      if (core_->FindTopic(n) || !broker::TopicRegistry::ValidTopicName(n) ||
          !Probe(s, security::AclOperation::kDescribe, security::ResourceType::kTopic, n)) {
        continue;  // (WriteMetadata answers a topic it may not describe)
      }
      const bool may_create =
          Probe(s, security::AclOperation::kCreate, security::ResourceType::kCluster,
                security::kClusterName) ||
          Probe(s, security::AclOperation::kCreate, security::ResourceType::kTopic, n);
      if (!Record(s, may_create, security::AclOperation::kCreate, security::ResourceType::kTopic,
                  n)) {
        create_refused.push_back(n);  // answered TOPIC_AUTHORIZATION_FAILED, as Kafka
      } else {
        PendingAdmin::Item item;
        item.name = n;
        item.partitions = opt_.default_partitions;
        pa->items.push_back(std::move(item));
      }
    }
    if (!pa->items.empty()) {
      pa->metadata_topics = std::move(names);
      pa->metadata_refused = std::move(create_refused);
      s.admin = std::move(pa);
      return ContinueAdmin(s, out) ? Outcome::kDone : Outcome::kSubmitted;
    }
  }
  WriteMetadata(s, Asker::Of(h), all, names, create_refused, out);
  return Outcome::kDone;
}

Outcome KafkaFrontend::HandleFindCoordinator(Session& s, const Header& h, Reader& r, ResponseOut& out) {
  kafka::FindCoordinatorRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  // Groups are coordinated here; transactions are not served at all.
  const bool group = req.key_type == 0;
  struct Found {
    int16_t error = 0;
    std::optional<std::string> message;
    int32_t node = -1;
    std::string host;
    int32_t port = -1;
  };
  auto refused = [](int16_t error, std::string message) {
    Found f;  // no node, host or port
    f.error = error;
    f.message = std::move(message);
    return f;
  };
  auto locate = [&](std::string_view key) {
    if (!group) {
      return refused(Code(ErrorCode::kCoordinatorNotAvailable),
                     "transactions are not supported by this broker");
    }
    Found f;
    broker::ClusterHooks* cluster = core_->cluster();
    if (!cluster) {
      f.node = core_->identity().broker_id;
      f.host = opt_.advertised_host;
      f.port = opt_.port;
      return f;
    }
    // Cluster mode: the leader of the offsets-log partition the group id
    // hashes to, as in Kafka (docs/cluster.md).
    const int32_t partitions = core_->OffsetsPartitions();
    // A cluster whose offsets log has another partition count than this
    // broker hashes over would be sent to the wrong coordinator.
    if (cluster->Leadership(broker::kOffsetsTopic, partitions) ||
        (cluster->Leadership(broker::kOffsetsTopic, 0) &&
         !cluster->Leadership(broker::kOffsetsTopic, partitions - 1))) {
      return refused(Code(ErrorCode::kCoordinatorNotAvailable),
                     "offsets.topic.num.partitions on this broker differs from the cluster's "
                     "__consumer_offsets (docs/cluster.md)");
    }
    const auto leadership =
        cluster->Leadership(broker::kOffsetsTopic, OffsetsPartitionFor(key, partitions));
    if (leadership && leadership->leader >= 0) {
      for (const auto& b : cluster->Brokers()) {
        if (b.id == leadership->leader && b.kafka_port >= 0) {
          f.node = b.id;
          f.host = b.host;
          f.port = b.kafka_port;
        }
      }
    }
    if (f.node < 0) {
      return refused(Code(ErrorCode::kCoordinatorNotAvailable),
                     "no group coordinator yet: the group's offsets-log partition has no "
                     "leader (docs/cluster.md)");
    }
    return f;
  };
  // A group's coordinator is told only to those who may DESCRIBE the group.
  auto find = [&](std::string_view key) {
    if (group && !AllowedGroup(s, security::AclOperation::kDescribe, key)) {
      return refused(Code(ErrorCode::kGroupAuthorizationFailed),
                     "describing the group is not allowed");
    }
    return locate(key);
  };
  kafka::FindCoordinatorResponse resp;
  if (h.api_version < 4) {
    Found f = find(req.key);
    resp.error_code = f.error;
    resp.error_message = f.message;
    resp.node_id = f.node;
    resp.host = f.host;
    resp.port = f.port;
  } else {
    for (auto key : req.coordinator_keys) {
      Found f = find(key);
      resp.coordinators.push_back(
          {std::string(key), f.node, f.host, f.port, f.error, f.message});
    }
  }
  Respond(out, Asker::Of(h), resp);
  return Outcome::kDone;
}

Outcome KafkaFrontend::HandleInitProducerId(Session& s, const Header& h, Reader& r,
                                            ResponseOut& out) {
  kafka::InitProducerIdRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  kafka::InitProducerIdResponse resp;
  if (req.transactional_id) {
    // Transactions are out of scope (docs/kafka.md): refused, never faked.
    resp.error_code = Code(ErrorCode::kTransactionalIdAuthorizationFailed);
  } else if (opt_.authorizer &&
             !Record(s,
                     Probe(s, security::AclOperation::kIdempotentWrite,
                           security::ResourceType::kCluster, security::kClusterName) ||
                         opt_.authorizer->MayOnSome(s.principal, s.host,
                                                    security::AclOperation::kWrite,
                                                    security::ResourceType::kTopic),
                     security::AclOperation::kIdempotentWrite, security::ResourceType::kCluster,
                     security::kClusterName)) {
    // An idempotent producer needs IDEMPOTENT_WRITE on the cluster or WRITE
    // on some topic (Kafka 3's rule, KIP-679).
    resp.error_code = Code(ErrorCode::kClusterAuthorizationFailed);
  } else {
    // As Kafka for a producer without a transactional id: always a new id,
    // epoch 0 (an epoch bump, KIP-360, is the client's own business then).
    auto id = core_->NewProducerId();
    if (id.ok()) {
      resp.producer_id = *id;
      resp.producer_epoch = 0;
    } else {
      spdlog::error("InitProducerId: {}", id.status().ToString());
      resp.error_code = Code(ErrorCode::kKafkaStorageError);
    }
  }
  Respond(out, Asker::Of(h), resp);
  return Outcome::kDone;
}

}  // namespace sentry::frontend
