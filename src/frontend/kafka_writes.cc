// Kafka Produce and OffsetCommit: one write per partition through the broker
// core, answered together once the last one is back.
#include <spdlog/spdlog.h>

#include "frontend/kafka_errors.h"
#include "frontend/kafka_frontend.h"
#include "frontend/kafka_session.h"
#include "metrics/thread_metrics.h"
#include "storage/record_batch.h"

namespace sentry::frontend {

using kafka::ErrorCode;
using net::Outcome;
using net::ResponseOut;

namespace {

constexpr int16_t kProduceKey = static_cast<int16_t>(kafka::ApiKey::kProduce);
constexpr int16_t kOffsetDeleteKey = static_cast<int16_t>(kafka::ApiKey::kOffsetDelete);
constexpr size_t kMagicAt = batch_layout::kMagic;
constexpr int kZstd = 4;
constexpr int16_t kFirstZstdProduceVersion = 7;  // message sets v0/v1 keep theirs there too

// What Kafka checks of a produced batch beyond what the core validates:
// message format v2 (RecordBatch) only, exactly one batch per partition, no
// transactional or control batch from a client (no transactions here).
// zstd only from Produce v7. 0 when acceptable. (Produce v0-v2 are served with v2 batches: librdkafka
// <= 2.11 compresses with gzip/snappy/lz4 only when a broker's Produce
// range starts at v0.)
int16_t CheckKafkaBatch(std::span<const uint8_t> records, int16_t version) {
  // Message formats v0/v1 (before Kafka 0.11) are not stored: as Kafka 4.0.
  if (records.size() > kMagicAt && records[kMagicAt] != batch_layout::kMagicV2) {
    return Code(ErrorCode::kUnsupportedVersion);
  }
  const size_t first = RecordBatchView::PeekTotalSize(records.data(), records.size());
  if (first == 0 || first > records.size()) return Code(ErrorCode::kCorruptMessage);
  if (first != records.size()) return Code(ErrorCode::kInvalidRecord);
  if (records.size() < batch_layout::kHeaderSize) return Code(ErrorCode::kCorruptMessage);
  const RecordBatchView b(records.data());
  if (b.is_control() || b.is_transactional()) return Code(ErrorCode::kInvalidRecord);
  // zstd came with Produce v7 (KIP-110); older requests may not carry it.
  if (b.compression() == kZstd && version < kFirstZstdProduceVersion) {
    return Code(ErrorCode::kUnsupportedCompressionType);
  }
  return Code(ErrorCode::kNone);
}

void Settle(PendingWrites::Slot& slot, int16_t error) {
  slot.error = error;
  slot.settled = true;
}

// One slot per partition of the request, in request order; all settled
// with `refuse` when it is not 0.
template <typename Topics, typename PartitionsOf, typename IndexOf>
std::unique_ptr<PendingWrites> NewSlots(const Asker& asker, int16_t acks, int16_t refuse,
                                        const Topics& topics, PartitionsOf partitions_of,
                                        IndexOf index_of) {
  auto pw = std::make_unique<PendingWrites>();
  pw->asker = asker;
  pw->acks = acks;
  for (const auto& t : topics) {
    for (const auto& p : partitions_of(t)) {
      pw->slots.push_back({std::string(t.name), index_of(p)});
      if (refuse != 0) Settle(pw->slots.back(), refuse);
    }
  }
  return pw;
}

// Submits the write of each unsettled slot from pw.next on: `prepare(topic,
// partition, &wr)` makes it, or returns the Kafka error that settles the
// slot. False when a writer queue is full: the same frame is offered again
// later and resumes at that slot.
template <typename Topics, typename PartitionsOf, typename Prepare>
bool SubmitSlots(broker::BrokerCore* core, broker::ClientSession& cs, PendingWrites& pw,
                 const Topics& topics, PartitionsOf partitions_of, Prepare prepare) {
  size_t k = 0;
  for (const auto& t : topics) {
    for (const auto& p : partitions_of(t)) {
      const size_t slot = k++;
      if (slot < pw.next) continue;
      pw.next = slot;
      PendingWrites::Slot& sl = pw.slots[slot];
      if (!sl.settled) {
        pipeline::WriteRequestPtr wr;
        if (const int16_t e = prepare(t, p, &wr); e != 0) {
          Settle(sl, e);
        } else {
          wr->reply.Set(static_cast<uint32_t>(slot));
          if (!core->Submit(cs, wr)) return false;
          pw.outstanding++;
        }
      }
      pw.next = slot + 1;
    }
  }
  pw.next = pw.slots.size();
  return true;
}

}  // namespace

Outcome KafkaFrontend::HandleProduce(Session& s, const Header& h, Reader& r,
                                     const std::shared_ptr<const void>& hold, ResponseOut& out) {
  kafka::ProduceRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  metrics::ThreadMetrics::SetRequestApi(metrics::ProduceMetricApi(req.acks));
  const auto partitions_of = [](const auto& t) -> const auto& { return t.partition_data; };
  if (!s.writes) {  // first offer of this frame (not a retry after a full queue)
    int16_t acks = req.acks;
    int16_t refuse = Code(ErrorCode::kNone);
    if (req.transactional_id) {
      refuse = Code(ErrorCode::kTransactionalIdAuthorizationFailed);  // no transactions
    } else if (req.acks != -1 && req.acks != 0 && req.acks != 1) {
      refuse = Code(ErrorCode::kInvalidRequiredAcks);
      acks = 1;  // answered, whatever it said
    }
    s.writes = NewSlots(Asker::Of(h), acks, refuse, req.topic_data, partitions_of,
                        [](const auto& p) { return p.index; });
  }
  const bool all = SubmitSlots(
      core_, s.core, *s.writes, req.topic_data, partitions_of,
      [&](const auto& t, const auto& p, pipeline::WriteRequestPtr* wr) -> int16_t {
        if (!AllowedTopic(s, security::AclOperation::kWrite, t.name)) {
          return Code(ErrorCode::kTopicAuthorizationFailed);
        }
        if (p.index < 0) return Code(ErrorCode::kUnknownTopicOrPartition);
        if (!p.records || p.records->data.empty()) return Code(ErrorCode::kCorruptMessage);
        if (int16_t e = CheckKafkaBatch(p.records->data, h.api_version); e != 0) return e;
        broker::ProduceOp op{t.name, p.index, req.acks, req.timeout_ms, p.records->data, &hold};
        return ToKafkaError(core_->PrepareProduce(s.core, op, wr));
      });
  return all ? SubmittedOrAnswered(s, out) : Outcome::kRetryLater;
}

Outcome KafkaFrontend::HandleOffsetCommit(Session& s, const Header& h, Reader& r,
                                          ResponseOut& out) {
  kafka::OffsetCommitRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  const auto partitions_of = [](const auto& t) -> const auto& { return t.partitions; };
  if (!s.writes) {
    int16_t refuse = Code(ErrorCode::kNone);
    if (req.group_id.empty()) {
      refuse = Code(ErrorCode::kInvalidGroupId);
    } else if (!AllowedGroup(s, security::AclOperation::kRead, req.group_id)) {
      refuse = Code(ErrorCode::kGroupAuthorizationFailed);
    } else if (core_->groups()) {
      // Kafka's fencing: a member of the group's current generation, or a
      // standalone consumer (generation -1) while the group is Empty.
      refuse = ToKafkaError(core_->groups()->ValidateCommit(
          std::string(req.group_id), std::string(req.member_id),
          std::string(req.group_instance_id.value_or(std::string_view())),
          req.generation_id_or_member_epoch));
    } else if (req.generation_id_or_member_epoch != -1) {
      refuse = Code(ErrorCode::kIllegalGeneration);  // no coordinator: no generation is valid
    }
    s.writes = NewSlots(Asker::Of(h), -1, refuse, req.topics, partitions_of,
                        [](const auto& p) { return p.partition_index; });
  }
  const bool all = SubmitSlots(
      core_, s.core, *s.writes, req.topics, partitions_of,
      [&](const auto& t, const auto& p, pipeline::WriteRequestPtr* wr) -> int16_t {
        if (!AllowedTopic(s, security::AclOperation::kRead, t.name)) {
          return Code(ErrorCode::kTopicAuthorizationFailed);
        }
        broker::OffsetCommitOp op{req.group_id, t.name, p.partition_index, p.committed_offset,
                                  p.committed_metadata.value_or(std::string_view())};
        return ToKafkaError(core_->PrepareOffsetCommit(op, wr));
      });
  return all ? SubmittedOrAnswered(s, out) : Outcome::kRetryLater;
}

Outcome KafkaFrontend::HandleOffsetDelete(Session& s, const Header& h, Reader& r,
                                          ResponseOut& out) {
  kafka::OffsetDeleteRequest req;
  if (!kafka::Decode(r, h.api_version, &req)) return Outcome::kClose;
  if (NoCoordinator(h)) return Outcome::kClose;
  const auto partitions_of = [](const auto& t) -> const auto& { return t.partitions; };
  const std::string group(req.group_id);
  if (!s.writes) {
    // Group-level refusals answer at once, with no topics (as Kafka).
    group::GroupErrc ge = group::GroupErrc::kNone;
    if (group.empty()) {
      ge = group::GroupErrc::kInvalidGroupId;
    } else if (!AllowedGroup(s, security::AclOperation::kDelete, group)) {
      kafka::OffsetDeleteResponse resp;
      resp.error_code = Code(ErrorCode::kGroupAuthorizationFailed);
      Respond(out, Asker::Of(h), resp);
      return Outcome::kDone;
    } else {
      // Unknown group, or one whose members' reading is unknown (non-empty,
      // not of the "consumer" protocol type); topics are checked below.
      ge = core_->groups()->CheckOffsetDelete(group, "");
      if (ge == group::GroupErrc::kGroupSubscribedToTopic) ge = group::GroupErrc::kNone;
    }
    if (ge != group::GroupErrc::kNone) {
      kafka::OffsetDeleteResponse resp;
      resp.error_code = ToKafkaError(ge);
      Respond(out, Asker::Of(h), resp);
      return Outcome::kDone;
    }
    s.writes = NewSlots(Asker::Of(h), -1, 0, req.topics, partitions_of,
                        [](const auto& p) { return p.partition_index; });
  }
  const bool all = SubmitSlots(
      core_, s.core, *s.writes, req.topics, partitions_of,
      [&](const auto& t, const auto& p, pipeline::WriteRequestPtr* wr) -> int16_t {
        const std::string topic(t.name);
        if (!AllowedTopic(s, security::AclOperation::kRead, topic)) {
          return Code(ErrorCode::kTopicAuthorizationFailed);
        }
        if (auto e = core_->groups()->CheckOffsetDelete(group, topic);
            e != group::GroupErrc::kNone) {
          return ToKafkaError(e);
        }
        return ToKafkaError(core_->PrepareOffsetDelete(group, topic, p.partition_index, wr));
      });
  return all ? SubmittedOrAnswered(s, out) : Outcome::kRetryLater;
}

Outcome KafkaFrontend::SubmittedOrAnswered(Session& s, ResponseOut& out) {
  if (s.writes->outstanding > 0) {
    s.busy = true;
    return Outcome::kSubmitted;
  }
  AnswerWrites(s, out);
  return Outcome::kDone;
}

void KafkaFrontend::AnswerWrites(Session& s, ResponseOut& out) {
  std::unique_ptr<PendingWrites> pw = std::move(s.writes);
  s.busy = false;
  if (pw->asker.api_key == kProduceKey) {
    if (pw->acks == 0) return;  // acks=0: no answer at all, errors included (as Kafka)
    kafka::ProduceResponse resp;
    for (const auto& sl : pw->slots) {
      if (resp.responses.empty() || resp.responses.back().name != sl.topic) {
        resp.responses.push_back({sl.topic, {}});
      }
      kafka::ProduceResponse::PartitionProduceResponse pr;
      pr.index = sl.partition;
      pr.error_code = sl.error;
      pr.base_offset = sl.error == 0 ? sl.base_offset : -1;
      pr.log_start_offset = sl.log_start_offset;
      pr.log_append_time_ms = sl.log_append_time;
      resp.responses.back().partition_responses.push_back(std::move(pr));
    }
    Respond(out, pw->asker, resp);
    return;
  }
  // A write to the offsets log refused because this broker stopped leading
  // it meanwhile: the group's coordinator moved (clients look it up again).
  const auto coordinator_error = [](int16_t e) {
    return e == Code(ErrorCode::kNotLeaderOrFollower) ? Code(ErrorCode::kNotCoordinator) : e;
  };
  if (pw->asker.api_key == kOffsetDeleteKey) {
    kafka::OffsetDeleteResponse resp;
    for (const auto& sl : pw->slots) {
      if (resp.topics.empty() || resp.topics.back().name != sl.topic) {
        resp.topics.push_back({sl.topic, {}});
      }
      resp.topics.back().partitions.push_back({sl.partition, coordinator_error(sl.error)});
    }
    Respond(out, pw->asker, resp);
    return;
  }
  kafka::OffsetCommitResponse resp;
  for (const auto& sl : pw->slots) {
    if (resp.topics.empty() || resp.topics.back().name != sl.topic) {
      resp.topics.push_back({sl.topic, {}});
    }
    resp.topics.back().partitions.push_back({sl.partition, coordinator_error(sl.error)});
  }
  Respond(out, pw->asker, resp);
}

}  // namespace sentry::frontend
