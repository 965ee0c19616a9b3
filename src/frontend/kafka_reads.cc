// Kafka Fetch (zero copy, long poll over many partitions), ListOffsets and
// OffsetFetch.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/clock.h"
#include "frontend/kafka_errors.h"
#include "frontend/kafka_frontend.h"
#include "frontend/kafka_session.h"
#include "metrics/thread_metrics.h"

namespace sentry::frontend {

using kafka::ErrorCode;
using net::Outcome;
using net::ResponseOut;

Outcome KafkaFrontend::HandleFetch(Session& s, const Header& h, Reader& r, ResponseOut& out,
                                   net::ParkedRead* parked) {
  kafka::FetchRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  if (req.max_wait_ms < 0 || req.min_bytes < 0) return Outcome::kClose;
  auto plan = std::make_unique<FetchPlan>();
  plan->asker = Asker::Of(h);
  plan->max_bytes = req.max_bytes;
  plan->min_bytes = req.min_bytes;
  plan->replica_id = req.replica_id >= 0 ? req.replica_id : -1;
  for (const auto& t : req.topics) {
    for (const auto& p : t.partitions) {
      FetchPlan::Part part;
      part.topic = std::string(t.topic);
      part.partition = p.partition;
      part.offset = p.fetch_offset;
      part.max_bytes = p.partition_max_bytes;
      part.current_leader_epoch = p.current_leader_epoch;
      // A follower's fetch needs CLUSTER_ACTION on the cluster, a consumer's
      // READ on the topic.
      const bool allowed = plan->replica_id >= 0
                               ? AllowedCluster(s, security::AclOperation::kClusterAction)
                               : AllowedTopic(s, security::AclOperation::kRead, t.topic);
      broker::ReadTarget target;
      if (allowed) target = core_->PartitionToRead(s.core, t.topic, p.partition);
      // One request at a time per connection: no write of ours is in flight.
      if (!allowed) {
        part.error = Code(plan->replica_id >= 0 ? ErrorCode::kClusterAuthorizationFailed
                                                : ErrorCode::kTopicAuthorizationFailed);
      } else if (target.partition) {
        part.p = std::move(target.partition);
      } else {
        part.error = ToKafkaError(target.wait_for_writes ? broker::Errc::kInternal : target.error);
      }
      plan->parts.push_back(std::move(part));
    }
  }
  // Fetch sessions (KIP-227) are not kept: session id 0 in every answer
  // tells the client to send full fetch requests, as Kafka allows.
  if (AnswerFetch(*plan, /*final=*/req.max_wait_ms == 0, out)) return Outcome::kDone;
  for (const auto& part : plan->parts) {
    if (part.p) parked->partitions.push_back(part.p);
  }
  parked->deadline_ms = SteadyMillis() + req.max_wait_ms;
  parked->state = std::move(plan);
  s.busy = true;
  return Outcome::kParked;
}

bool KafkaFrontend::OnParkedReady(net::ParkedRead& parked, bool expired, net::Session& s,
                                  ResponseOut& out) {
  auto& session = static_cast<Session&>(s);
  metrics::ThreadMetrics::BeginRequest(metrics::Listener::kKafka, session.request_api,
                                       session.request_start_nanos);
  if (!AnswerFetch(static_cast<const FetchPlan&>(*parked.state), expired, out)) return false;
  metrics::ThreadMetrics::EndRequest();
  session.busy = false;
  return true;
}

bool KafkaFrontend::AnswerFetch(const FetchPlan& plan, bool final, ResponseOut& out) {
  kafka::FetchResponse resp;
  int64_t budget = std::max(plan.max_bytes, 0);
  int64_t total = 0;
  bool error = false;
  // What goes out, counted (metrics) only if this answer is sent now.
  std::vector<std::pair<const pipeline::Partition*, std::span<const uint8_t>>> sent;
  for (const auto& part : plan.parts) {
    if (resp.responses.empty() || resp.responses.back().topic != part.topic) {
      resp.responses.push_back({part.topic, {}});
    }
    kafka::FetchResponse::PartitionData pd;
    pd.partition_index = part.partition;
    pd.error_code = part.error;
    if (part.p) {
      // KIP-74: the first non-empty partition's first batch is returned even
      // past max_bytes (the core returns at least one whole batch), so a
      // large batch never blocks a consumer; after that the budget rules.
      const int32_t limit = total == 0 ? part.max_bytes
                                       : static_cast<int32_t>(std::min<int64_t>(part.max_bytes, budget));
      broker::FetchResult fr;
      broker::FetchOp op{part.offset, std::max(limit, 0), 0, 0, plan.replica_id,
                         part.current_leader_epoch};
      if (limit > 0 || total == 0) {
        fr = core_->Fetch(*part.p, op, /*final=*/true);
      } else {
        op.max_bytes = 0;
        fr = core_->Fetch(*part.p, op, true);
        fr.records = {};
        fr.hold.reset();
      }
      pd.error_code = ToKafkaError(fr.error);
      pd.high_watermark = fr.high_watermark;
      pd.last_stable_offset = fr.high_watermark;  // no transactions: all stable
      pd.log_start_offset = fr.log_start_offset;
      if (fr.error == broker::Errc::kNone) {
        if (!fr.records.empty()) sent.emplace_back(part.p.get(), fr.records);
        pd.records = kafka::Records{fr.records, fr.hold};
        total += static_cast<int64_t>(fr.records.size());
        budget -= static_cast<int64_t>(fr.records.size());
      }
    }
    // Never a null records field: librdkafka rejects the whole response
    // over one (and refetches at once, forever); Kafka sends empty ones.
    if (!pd.records) pd.records = kafka::Records{};
    if (pd.error_code != 0) error = true;
    pd.aborted_transactions.emplace();  // none: no transactions
    resp.responses.back().partitions.push_back(std::move(pd));
  }
  // min_bytes 0 answers at once, as Kafka.
  if (!final && !error && total < plan.min_bytes) return false;
  for (const auto& [p, records] : sent) broker::BrokerCore::CountSent(*p, records);
  Respond(out, plan.asker, resp);
  return true;
}

Outcome KafkaFrontend::HandleListOffsets(Session& s, const Header& h, Reader& r,
                                         ResponseOut& out) {
  kafka::ListOffsetsRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  kafka::ListOffsetsResponse resp;
  for (const auto& t : req.topics) {
    resp.topics.push_back({std::string(t.name), {}});
    for (const auto& p : t.partitions) {
      kafka::ListOffsetsResponse::ListOffsetsPartitionResponse pr;
      pr.partition_index = p.partition_index;
      if (!AllowedTopic(s, security::AclOperation::kDescribe, t.name)) {
        pr.error_code = Code(ErrorCode::kTopicAuthorizationFailed);
        resp.topics.back().partitions.push_back(pr);
        continue;
      }
      broker::ReadTarget target = core_->PartitionToRead(s.core, t.name, p.partition_index);
      if (!target.partition) {
        pr.error_code = ToKafkaError(target.wait_for_writes ? broker::Errc::kInternal : target.error);
      } else if (broker::Errc e = broker::BrokerCore::LeadershipError(*target.partition);
                 e != broker::Errc::kNone) {
        pr.error_code = ToKafkaError(e);
      } else if (p.timestamp == -3 && h.api_version < 7) {
        pr.error_code = Code(ErrorCode::kUnsupportedVersion);
      } else {
        broker::OffsetLookup l = core_->ListOffsets(*target.partition, p.timestamp);
        pr.error_code = ToKafkaError(l.error);
        if (l.error == broker::Errc::kNone && (p.timestamp < 0 || l.found)) {
          pr.offset = l.offset;
          pr.timestamp = l.timestamp;
          pr.leader_epoch = std::max(0, target.partition->replica().leader_epoch.load());
        }  // else no record that new: offset and timestamp -1, as Kafka
      }
      resp.topics.back().partitions.push_back(pr);
    }
  }
  Respond(out, Asker::Of(h), resp);
  return Outcome::kDone;
}

Outcome KafkaFrontend::HandleOffsetForLeaderEpoch(Session& s, const Header& h, Reader& r,
                                                  ResponseOut& out) {
  kafka::OffsetForLeaderEpochRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  kafka::OffsetForLeaderEpochResponse resp;
  for (const auto& t : req.topics) {
    resp.topics.push_back({std::string(t.topic), {}});
    for (const auto& p : t.partitions) {
      kafka::OffsetForLeaderEpochResponse::EpochEndOffset e;
      e.partition = p.partition;
      const bool allowed =
          req.replica_id >= 0 ? AllowedCluster(s, security::AclOperation::kClusterAction)
                              : AllowedTopic(s, security::AclOperation::kDescribe, t.topic);
      broker::ReadTarget target;
      if (allowed) target = core_->PartitionToRead(s.core, t.topic, p.partition);
      if (!allowed) {
        e.error_code = Code(req.replica_id >= 0 ? ErrorCode::kClusterAuthorizationFailed
                                                : ErrorCode::kTopicAuthorizationFailed);
      } else if (!target.partition) {
        e.error_code = ToKafkaError(target.wait_for_writes ? broker::Errc::kInternal : target.error);
      } else {
        broker::EpochEndOffset eo =
            core_->EndOffsetForEpoch(*target.partition, p.current_leader_epoch, p.leader_epoch);
        e.error_code = ToKafkaError(eo.error);
        e.leader_epoch = eo.leader_epoch;
        e.end_offset = eo.end_offset;
      }
      resp.topics.back().partitions.push_back(e);
    }
  }
  Respond(out, Asker::Of(h), resp);
  return Outcome::kDone;
}

namespace {

// One group's committed offsets for the topics asked (null: all it has).
// `may_describe(topic)`: false answers TOPIC_AUTHORIZATION_FAILED for a
// topic asked, and leaves the topic out of "all it has" (as Kafka).
template <typename TopicOut, typename TopicsIn, typename MayDescribe>
std::vector<TopicOut> GroupOffsets(broker::BrokerCore* core, std::string_view group,
                                   const std::optional<TopicsIn>& topics,
                                   MayDescribe may_describe) {
  std::vector<TopicOut> result;
  auto add = [&](std::string_view topic, int32_t partition, const broker::CommittedOffset& c,
                 int16_t error) {
    if (result.empty() || result.back().name != topic) result.push_back({std::string(topic), {}});
    typename decltype(result.back().partitions)::value_type p;
    p.partition_index = partition;
    p.committed_offset = c.offset;
    p.metadata = c.metadata;
    p.error_code = error;
    result.back().partitions.push_back(std::move(p));
  };
  if (!topics) {
    for (const auto& g : core->CommittedOffsetsOf(group)) {
      if (may_describe(g.topic)) add(g.topic, g.partition, g.committed, 0);
    }
    return result;
  }
  for (const auto& t : *topics) {
    const bool allowed = may_describe(t.name);
    for (int32_t partition : t.partition_indexes) {
      broker::CommittedOffset c;
      if (!allowed) {
        add(t.name, partition, c, Code(ErrorCode::kTopicAuthorizationFailed));
        continue;
      }
      const broker::Errc e = core->CommittedOffsetOf(group, t.name, partition, &c);
      add(t.name, partition, c, ToKafkaError(e));
    }
  }
  return result;
}

}  // namespace

Outcome KafkaFrontend::HandleOffsetFetch(Session& s, const Header& h, Reader& r,
                                         ResponseOut& out) {
  kafka::OffsetFetchRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  kafka::OffsetFetchResponse resp;
  // Cluster mode: only the group's coordinator answers.
  auto here = [&](std::string_view group) { return ToKafkaError(core_->GroupHere(group)); };
  auto may_describe = [&](std::string_view topic) {
    return AllowedTopic(s, security::AclOperation::kDescribe, topic);
  };
  auto may_describe_group = [&](std::string_view group) {
    return AllowedGroup(s, security::AclOperation::kDescribe, group);
  };
  if (h.api_version < 8) {
    if (req.group_id.empty()) {
      resp.error_code = Code(ErrorCode::kInvalidGroupId);
    } else if (!may_describe_group(req.group_id)) {
      resp.error_code = Code(ErrorCode::kGroupAuthorizationFailed);
    } else if (const int16_t e = here(req.group_id); e != 0) {
      resp.error_code = e;
    } else {
      resp.topics = GroupOffsets<kafka::OffsetFetchResponse::OffsetFetchResponseTopic>(
          core_, req.group_id, req.topics, may_describe);
    }
  } else {
    for (const auto& g : req.groups) {
      kafka::OffsetFetchResponse::OffsetFetchResponseGroup rg;
      rg.group_id = std::string(g.group_id);
      if (g.group_id.empty()) {
        rg.error_code = Code(ErrorCode::kInvalidGroupId);
      } else if (!may_describe_group(g.group_id)) {
        rg.error_code = Code(ErrorCode::kGroupAuthorizationFailed);
      } else if (const int16_t e = here(g.group_id); e != 0) {
        rg.error_code = e;
      } else {
        rg.topics = GroupOffsets<kafka::OffsetFetchResponse::OffsetFetchResponseTopics>(
            core_, g.group_id, g.topics, may_describe);
      }
      resp.groups.push_back(std::move(rg));
    }
  }
  Respond(out, Asker::Of(h), resp);
  return Outcome::kDone;
}

}  // namespace sentry::frontend
