#include "broker/broker_core.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/clock.h"
#include "common/group_partition.h"
#include "common/murmur2.h"
#include "metrics/thread_metrics.h"
#include "storage/log_cleaner.h"
#include "storage/record_batch_builder.h"

namespace sentry::broker {

using pipeline::Partition;
using pipeline::WriteRequest;
using pipeline::WriteRequestPtr;

namespace {
// An offset commit must be durable before it is acknowledged; how long that
// may take before the commit is answered as timed out.
constexpr int64_t kOffsetCommitTimeoutMs = 30000;
constexpr int64_t kListLatest = -1;
constexpr int64_t kListEarliest = -2;
constexpr int64_t kListMaxTimestamp = -3;
}  // namespace

BrokerCore::BrokerCore(TopicRegistry* registry, std::vector<OffsetStore*> offsets,
                       pipeline::Pipeline* pipeline, AdminExecutor* admin,
                       BrokerIdentity identity, WakeFn wake, ProducerIds* producer_ids)
    : registry_(registry), offsets_(std::move(offsets)), pipeline_(pipeline), admin_(admin),
      identity_(std::move(identity)), wake_(std::move(wake)), producer_ids_(producer_ids) {}

Error BrokerCore::ValidateCreateTopic(
    std::string_view name, int32_t partitions,
    const std::vector<std::pair<std::string, std::string>>& configs, TopicConfig* cfg) const {
  std::vector<std::pair<std::string_view, std::string_view>> views(configs.begin(),
                                                                   configs.end());
  return registry_->Validate(name, partitions, views, cfg);
}

Result<int64_t> BrokerCore::NewProducerId() {
  if (!producer_ids_) return Status::NotSupported("idempotent producers are not enabled");
  return producer_ids_->Next();
}

std::shared_ptr<const Topic> BrokerCore::FindTopic(std::string_view name) const {
  return registry_->Find(name);
}

OffsetStore* BrokerCore::StoreFor(std::string_view group) const {
  return offsets_[static_cast<size_t>(
      OffsetsPartitionFor(group, static_cast<int32_t>(offsets_.size())))];
}

std::vector<GroupOffset> BrokerCore::CommittedOffsetsOf(std::string_view group) {
  std::vector<GroupOffset> out;
  for (auto& [topic, partition, committed] : StoreFor(group)->GroupOffsets(group)) {
    out.push_back({std::move(topic), partition, std::move(committed)});
  }
  return out;
}

Errc BrokerCore::GroupHere(std::string_view group) const {
  return groups_ && !groups_->Coordinates(group) ? Errc::kNotCoordinator : Errc::kNone;
}

std::shared_ptr<const Topic> BrokerCore::FindTopicOrOffsetsLog(std::string_view name) const {
  if (auto t = registry_->Find(name)) return t;
  // In a cluster the offsets log is a replicated partition like any other:
  // followers fetch it, DESCRIBE_CLUSTER names its leader (the coordinator).
  if (!cluster_ || name != kOffsetsTopic) return nullptr;
  for (const auto& t : registry_->ListInternal()) {
    if (t->name == name) return t;
  }
  return nullptr;
}

std::shared_ptr<Partition> BrokerCore::FindPartition(std::string_view topic, int32_t partition) {
  auto t = FindTopicOrOffsetsLog(topic);
  if (!t || partition < 0 || partition >= static_cast<int32_t>(t->partitions.size())) {
    return nullptr;
  }
  return t->partitions[partition];
}

Errc BrokerCore::PrepareProduce(ClientSession& s, const ProduceOp& op, WriteRequestPtr* out) {
  if (op.acks != -1 && op.acks != 0 && op.acks != 1) return Errc::kInvalidRequest;
  auto& last = s.last_topic;
  const uint64_t version = registry_->version();
  std::shared_ptr<const Topic> topic;
  if (last.version == version && last.name == op.topic) topic = last.topic.lock();
  if (!topic) {
    // Version read first: a change after it makes the next request look again.
    topic = registry_->Find(op.topic);
    last = {std::string(op.topic), version, topic};
  }
  const int32_t count = topic ? static_cast<int32_t>(topic->partitions.size()) : 0;
  if (!topic || op.partition < -1 || op.partition >= count) return Errc::kUnknownTopicOrPartition;
  BatchSetSummary summary;
  if (!ValidateBatches(op.records, &summary).ok()) return Errc::kCorruptRecord;
  if (summary.largest_batch > static_cast<size_t>(topic->config.max_message_bytes)) {
    return Errc::kRecordTooLarge;
  }
  if (topic->config.cleanup_compact) {
    // As Kafka: compaction keeps the latest record of each key, so a record
    // without one has no place in a compacted topic.
    Status keys = CheckKeysForCompaction(op.records);
    if (keys.code() == Status::Code::kInvalidArgument) return Errc::kInvalidRecord;
    if (!keys.ok()) return Errc::kCorruptRecord;
  }
  int32_t partition = op.partition;
  if (partition == -1) {
    auto key = FirstRecordKey(op.records.data(), op.records.size());
    partition = key ? KafkaPartitionForKey(reinterpret_cast<const uint8_t*>(key->data()),
                                           key->size(), count)
                    : static_cast<int32_t>(s.round_robin++ % static_cast<uint32_t>(count));
  }
  const auto& target = topic->partitions[partition];
  if (Errc e = LeadershipError(*target); e != Errc::kNone) return e;
  if (op.acks == -1 && target->replica().replicated() &&
      target->replica().isr_size.load(std::memory_order_acquire) <
          target->replica().min_insync.load(std::memory_order_acquire)) {
    return Errc::kNotEnoughReplicas;  // nothing appended, as Kafka
  }
  auto wr = std::make_unique<WriteRequest>();
  wr->partition = target;
  wr->acks = op.acks;
  // Only acks=-1 waits for anything (the flusher checks it).
  if (op.acks == -1) wr->deadline_ms = SteadyMillis() + std::max<int32_t>(op.timeout_ms, 0);
  if (op.hold) wr->frame_hold = *op.hold;
  wr->records = op.records;
  wr->summary = summary;
  *out = std::move(wr);
  return Errc::kNone;
}

Errc BrokerCore::PrepareOffsetCommit(const OffsetCommitOp& op, WriteRequestPtr* out) {
  if (op.group.empty()) return Errc::kInvalidRequest;
  if (Errc e = GroupHere(op.group); e != Errc::kNone) return e;
  if (!FindPartition(op.topic, op.partition)) return Errc::kUnknownTopicOrPartition;
  std::string key = OffsetStore::Key(op.group, op.topic, op.partition);
  auto bytes = std::make_shared<std::vector<uint8_t>>(
      OffsetStore::BuildCommit(key, op.offset, op.metadata));
  OffsetStore* store = StoreFor(op.group);
  auto wr = std::make_unique<WriteRequest>();
  wr->partition = store->partition();
  wr->acks = -1;  // durable before the answer
  wr->deadline_ms = SteadyMillis() + kOffsetCommitTimeoutMs;
  wr->records = *bytes;
  wr->frame_hold = bytes;
  (void)ValidateBatches(wr->records, &wr->summary);
  wr->on_done = [store, key = std::move(key), offset = op.offset,
                 metadata = std::string(op.metadata)](pipeline::Completion& c) mutable {
    const auto& w = static_cast<const WriteRequest&>(c);
    if (w.status.ok()) {
      store->Apply(key, offset, std::move(metadata), w.info.base_offset, WallMillis());
    }
  };
  *out = std::move(wr);
  return Errc::kNone;
}

void BrokerCore::AppendGroupRecord(std::string_view group,
                                   const std::optional<std::string>& value) {
  auto bytes =
      std::make_shared<std::vector<uint8_t>>(OffsetStore::BuildGroupRecord(group, value));
  auto wr = std::make_unique<WriteRequest>();
  wr->partition = StoreFor(group)->partition();
  wr->acks = 1;  // nobody waits: the completion goes to no connection (conn 0)
  wr->deadline_ms = SteadyMillis() + kOffsetCommitTimeoutMs;
  wr->records = *bytes;
  wr->frame_hold = bytes;
  (void)ValidateBatches(wr->records, &wr->summary);
  pipeline_->Enqueue(std::move(wr));
}

Errc BrokerCore::PrepareOffsetDelete(std::string_view group, std::string_view topic,
                                     int32_t partition, WriteRequestPtr* out) {
  if (group.empty()) return Errc::kInvalidRequest;
  if (Errc e = GroupHere(group); e != Errc::kNone) return e;
  if (!FindPartition(topic, partition)) return Errc::kUnknownTopicOrPartition;
  *out = TombstoneWrite(StoreFor(group), OffsetStore::Key(group, topic, partition));
  return Errc::kNone;
}

WriteRequestPtr BrokerCore::TombstoneWrite(OffsetStore* store, std::string key) {
  auto bytes = std::make_shared<std::vector<uint8_t>>(OffsetStore::BuildTombstone(key));
  auto wr = std::make_unique<WriteRequest>();
  wr->partition = store->partition();
  wr->acks = -1;
  wr->deadline_ms = SteadyMillis() + kOffsetCommitTimeoutMs;
  wr->records = *bytes;
  wr->frame_hold = bytes;
  (void)ValidateBatches(wr->records, &wr->summary);
  wr->on_done = [store, key = std::move(key)](pipeline::Completion& c) {
    const auto& w = static_cast<const WriteRequest&>(c);
    if (w.status.ok()) store->Erase(key, w.info.base_offset);
  };
  return wr;
}

bool BrokerCore::ExpireOffsets(const std::string& group, int64_t empty_for_ms,
                               int64_t retention_ms, int64_t now_wall_ms) {
  // Kafka's rule (KIP-211): an empty group's offsets go once the last commit
  // and the moment the group became empty are both older than the retention.
  if (empty_for_ms >= 0 && empty_for_ms < retention_ms) return false;
  bool left = false;
  OffsetStore* store = StoreFor(group);
  for (const auto& [topic, partition, c] : store->GroupOffsets(group)) {
    if (now_wall_ms - c.commit_time_ms < retention_ms) {
      left = true;
      continue;
    }
    // Nobody waits for it: the completion goes to no connection.
    pipeline_->Enqueue(TombstoneWrite(store, OffsetStore::Key(group, topic, partition)));
    left = true;  // gone once the tombstone is durable: checked next time
  }
  return !left;
}

bool BrokerCore::Submit(ClientSession& s, WriteRequestPtr& req) {
  req->route = s.route;
  const Partition* partition = req->partition.get();
  // Inline only behind no queued write of this connection to this partition:
  // the appends keep the order of the requests.
  auto it = s.pending_writes.find(partition);
  const uint64_t seq = it == s.pending_writes.end() ? 0 : it->second.next_seq;
  req->order_seq = seq;
  const bool inline_ok = it == s.pending_writes.end() || it->second.queued == 0;
  const bool appended_inline =
      inline_ok && pipeline_->TryAppendInline(s.route.net_thread, req);
  if (!appended_inline && !pipeline_->TryEnqueue(s.route.net_thread, req)) return false;
  // Counted only once taken (a refused write must leave no entry: reads
  // would wait on it).
  auto& pw = it != s.pending_writes.end() ? it->second : s.pending_writes[partition];
  pw.unanswered++;
  if (!appended_inline) pw.queued++;
  pw.next_seq = seq + 1;
  return true;
}

bool BrokerCore::SubmitAdmin(ClientSession& s, std::unique_ptr<AdminCompletion>& c,
                             AdminExecutor::Operation op) {
  // Earlier writes of this connection go first (a produce sent before a
  // delete must not fail because the delete overtook it).
  if (!s.pending_writes.empty()) return false;
  c->route = s.route;
  s.admin_pending = true;
  admin_->Submit(std::move(c), std::move(op));
  return true;
}

bool BrokerCore::SubmitCreateTopic(ClientSession& s, std::unique_ptr<AdminCompletion>& c,
                                   std::string name, int32_t partitions,
                                   std::vector<std::pair<std::string, std::string>> configs,
                                   int16_t replication_factor) {
  return SubmitAdmin(s, c, [this, name = std::move(name), partitions,
                            configs = std::move(configs), replication_factor] {
    std::vector<std::pair<std::string_view, std::string_view>> views(configs.begin(),
                                                                     configs.end());
    Error e;
    if (cluster_) {
      TopicConfig cfg;  // checked here first: the store holds only valid topics
      e = registry_->Validate(name, partitions, views, &cfg);
      if (e.ok()) e = cluster_->CreateTopic(name, partitions, replication_factor, configs);
    } else if (replication_factor > 1) {
      e = {Errc::kInvalidReplicationFactor,
           "replication factor must be 1: this broker runs alone (no cluster.etcd)"};
    } else {
      e = registry_->Create(name, partitions, views);
    }
    if (!e.ok()) spdlog::info("create topic {} refused: {} ({})", name, ErrcName(e.code), e.message);
    return e;
  });
}

bool BrokerCore::SubmitDeleteTopic(ClientSession& s, std::unique_ptr<AdminCompletion>& c,
                                   std::string name) {
  return SubmitAdmin(s, c, [this, name = std::move(name)]() -> Error {
    if (name == kOffsetsTopic) {
      return {Errc::kInvalidTopic, "the offsets log is internal and cannot be deleted"};
    }
    if (cluster_) return cluster_->DeleteTopic(name);
    return registry_->Delete(name, wake_);
  });
}

bool BrokerCore::SubmitAlterTopicConfig(ClientSession& s, std::unique_ptr<AdminCompletion>& c,
                                        std::string name,
                                        std::vector<TopicRegistry::ConfigChange> changes,
                                        bool validate_only) {
  return SubmitAdmin(s, c, [this, name = std::move(name), changes = std::move(changes),
                            validate_only] {
    Error e;
    if (cluster_) {
      // Checked here first (the store holds only valid settings), then
      // written to the store: every replica applies it from there.
      e = registry_->AlterConfig(name, changes, /*validate_only=*/true);
      if (e.code == Errc::kUnknownTopicOrPartition && cluster_->AwaitTopic(name)) {
        // Created through another broker, not applied here yet: what
        // Kafka's controller would know already.
        e = registry_->AlterConfig(name, changes, /*validate_only=*/true);
      }
      if (e.ok() && !validate_only) e = cluster_->AlterTopicConfig(name, changes);
    } else {
      e = registry_->AlterConfig(name, changes, validate_only);
    }
    if (!e.ok()) spdlog::info("alter topic {} refused: {} ({})", name, ErrcName(e.code), e.message);
    return e;
  });
}

void BrokerCore::TakeInOrder(ClientSession& s, pipeline::CompletionPtr c,
                             std::vector<pipeline::CompletionPtr>* ready) {
  if (c->kind != pipeline::Completion::Kind::kWrite) {
    ready->push_back(std::move(c));
    return;
  }
  const auto& w = static_cast<const WriteRequest&>(*c);
  auto it = s.pending_writes.find(w.partition.get());
  if (it == s.pending_writes.end()) {  // not submitted through Submit
    ready->push_back(std::move(c));
    return;
  }
  ClientSession::PendingWrites& pw = it->second;
  if (w.order_seq != pw.next_answer) {
    pw.early.emplace(w.order_seq, std::move(c));
    return;
  }
  ready->push_back(std::move(c));
  pw.next_answer++;
  for (auto e = pw.early.begin(); e != pw.early.end() && e->first == pw.next_answer;
       e = pw.early.erase(e)) {
    ready->push_back(std::move(e->second));
    pw.next_answer++;
  }
}

bool BrokerCore::SubmitDeleteRecords(ClientSession& s, std::unique_ptr<AdminCompletion>& c,
                                     std::string topic, int32_t partition, int64_t offset) {
  AdminCompletion* result = c.get();  // filled on the admin thread before it is posted
  return SubmitAdmin(s, c, [this, result, topic = std::move(topic), partition, offset]() -> Error {
    std::shared_ptr<Partition> p = FindPartition(topic, partition);
    if (!p) return {Errc::kUnknownTopicOrPartition, "no such partition"};
    // In a cluster the leader moves its log start; followers follow it from
    // its fetch answers (the replica fetcher).
    if (Errc e = LeadershipError(*p); e != Errc::kNone) return {e, "not the leader"};
    // Retention moves the same log start: one of the two at a time, and
    // never on a deleted partition's directory.
    MutexLock l(&p->retention_mu());
    if (p->deleted()) return {Errc::kUnknownTopicOrPartition, "partition was deleted"};
    PartitionLog* log = p->log();
    // Up to what consumers may read (in a cluster: the replicated high
    // watermark, as Kafka's DeleteRecords).
    const int64_t hwm = std::min(log->high_watermark(), p->visible_end());
    const int64_t target = offset == -1 ? hwm : offset;
    if (target < 0 || target > hwm) {
      return {Errc::kOffsetOutOfRange,
              fmt::format("offset {} is outside [0, {}] (or -1 for the end)", offset, hwm)};
    }
    // Durable up to the new start first: a crash must not leave the log
    // ending below a persisted start (offsets would be given twice).
    if (auto f = log->Flush(); !f.ok()) return {FromStatus(f.status()), f.status().message()};
    auto moved = log->AdvanceLogStart(target);
    if (!moved.ok()) return {FromStatus(moved.status()), moved.status().message()};
    result->value = log->log_start_offset();
    spdlog::info("delete records: {}-{} starts at offset {}, {} segment(s) deleted", topic,
                 partition, result->value, *moved);
    return {};
  });
}

void BrokerCore::Finish(ClientSession& s, const pipeline::Completion& c) {
  if (c.kind == pipeline::Completion::Kind::kWrite) {
    const auto& w = static_cast<const WriteRequest&>(c);
    auto it = s.pending_writes.find(w.partition.get());
    if (it != s.pending_writes.end()) {
      if (!w.appended_inline) it->second.queued--;
      if (--it->second.unanswered == 0) s.pending_writes.erase(it);
    }
  } else if (c.kind == pipeline::Completion::Kind::kAdmin) {
    s.admin_pending = false;
  }
}

ReadTarget BrokerCore::PartitionToRead(ClientSession& s, std::string_view topic,
                                       int32_t partition) {
  ReadTarget t;
  auto p = FindPartition(topic, partition);
  if (!p) {
    t.error = Errc::kUnknownTopicOrPartition;
  } else if (s.pending_writes.count(p.get())) {
    t.wait_for_writes = true;
  } else {
    t.partition = std::move(p);
  }
  return t;
}

Errc BrokerCore::LeadershipError(const Partition& p) {
  switch (p.replica().role.load(std::memory_order_acquire)) {
    case pipeline::ReplicaRoleState::kStandalone:
    case pipeline::ReplicaRoleState::kLeader: return Errc::kNone;
    case pipeline::ReplicaRoleState::kFollower: return Errc::kNotLeader;
    default:
      return p.replica().leader_id.load(std::memory_order_acquire) < 0 ? Errc::kLeaderNotAvailable
                                                                       : Errc::kNotLeader;
  }
}

namespace {

// The whole batches of `records` that end below `end` (a consumer sees no
// record at or above the high watermark).
std::span<const uint8_t> BatchesBelow(std::span<const uint8_t> records, int64_t end) {
  size_t at = 0;
  while (records.size() - at >= batch_layout::kHeaderSize) {
    const RecordBatchView b(records.data() + at);
    const size_t total = b.TotalSize();
    if (total > records.size() - at || b.last_offset() >= end) break;
    at += total;
  }
  return records.first(at);
}

}  // namespace

FetchResult BrokerCore::Fetch(Partition& p, const FetchOp& op, bool final) {
  FetchResult fr;
  fr.partition = p.index();
  if (p.deleted()) {
    fr.error = Errc::kUnknownTopicOrPartition;
    return fr;
  }
  const bool replicated = p.replica().replicated();
  if (replicated) {
    if (op.replica_id >= 0) {
      fr.error = cluster_ ? cluster_->OnReplicaFetch(p, op.replica_id, op.current_leader_epoch,
                                                     op.offset)
                          : Errc::kNotLeader;
    } else {
      fr.error = LeadershipError(p);
    }
    if (fr.error != Errc::kNone) {
      // A follower out of range learns where the leader's log starts: when
      // its own log ends below that, it starts over there.
      if (fr.error == Errc::kOffsetOutOfRange) fr.log_start_offset = p.log()->log_start_offset();
      return fr;
    }
  }
  auto r = p.log()->Read(op.offset, static_cast<size_t>(std::max(op.max_bytes, 0)));
  // A follower reads to the log end; anyone else below the high watermark.
  const int64_t visible = p.visible_end();
  const bool bounded = replicated && op.replica_id < 0;
  fr.high_watermark = visible;
  fr.log_start_offset = p.log()->log_start_offset();
  if (!r.ok()) {
    fr.error = FromStatus(r.status());
    if (fr.error != Errc::kOffsetOutOfRange) {
      spdlog::error("fetch {}-{} at offset {}: {}", p.topic(), p.index(), op.offset,
                    r.status().ToString());
      fr.error = Errc::kStorage;
    }
    return fr;
  }
  std::span<const uint8_t> bytes = r->bytes();
  if (bounded) bytes = BatchesBelow(bytes, visible);
  if (!final && op.max_wait_ms > 0 && bytes.size() < static_cast<size_t>(std::max(op.min_bytes, 1))) {
    fr.ready = false;
    return fr;
  }
  fr.high_watermark = replicated ? visible : r->high_watermark;
  fr.log_start_offset = r->log_start_offset;
  fr.records = bytes;
  fr.hold = r->segment;
  return fr;
}

void BrokerCore::CountSent(const Partition& p, std::span<const uint8_t> records) {
  metrics::ThreadMetrics* m = metrics::ThreadMetrics::Current();
  if (!m || records.empty()) return;
  // Records per batch from the headers: one read per batch, not per record.
  uint64_t count = 0;
  size_t at = 0;
  while (records.size() - at >= batch_layout::kHeaderSize) {
    const uint8_t* b = records.data() + at;
    const size_t total = batch_layout::kLogOverhead + GetU32(b + batch_layout::kBatchLength);
    if (total > records.size() - at) break;
    count += GetU32(b + batch_layout::kRecordsCount);
    at += total;
  }
  m->Out(p.topic(), p.index(), count, records.size());
}

OffsetLookup BrokerCore::ListOffsets(Partition& p, int64_t timestamp) {
  OffsetLookup l;
  l.partition = p.index();
  PartitionLog* log = p.log();
  if (timestamp == kListLatest) {
    l.offset = p.visible_end();
  } else if (timestamp == kListEarliest) {
    l.offset = log->log_start_offset();
  } else if (timestamp == kListMaxTimestamp) {
    // No index keeps the maximum: walk the batch headers (O(log size)).
    Status walked = log->WalkHeaders(log->log_start_offset(), [&](const RecordBatchView& b) {
      if (b.max_timestamp() > l.timestamp) {
        l.timestamp = b.max_timestamp();
        l.offset = b.last_offset();
      }
    });
    if (!walked.ok()) l.error = Errc::kStorage;
  } else if (timestamp < 0) {
    l.error = Errc::kInvalidRequest;
  } else {
    // The time index finds the first batch whose newest record is at or
    // after `timestamp`; within it, the first such record (as Kafka). A
    // compressed batch is not opened: its first offset and newest timestamp.
    l.offset = log->OffsetForTimestamp(timestamp);
    l.found = l.offset < p.visible_end();
    if (l.found) {
      auto rr = log->Read(l.offset, 1);
      if (rr.ok() && rr->size) {
        const RecordBatchView batch(rr->data);
        l.timestamp = batch.max_timestamp();
        std::vector<DecodedRecord> records;
        // In a LogAppendTime batch every record has the batch's time.
        if (batch.compression() == 0 && !batch.log_append_time() &&
            DecodeRecords(rr->data, rr->size, &records).ok()) {
          for (const DecodedRecord& r : records) {
            if (r.timestamp >= timestamp && r.offset >= l.offset) {
              l.offset = r.offset;
              l.timestamp = r.timestamp;
              break;
            }
          }
        }
      }
    }
  }
  return l;
}

EpochEndOffset BrokerCore::EndOffsetForEpoch(Partition& p, int32_t current_leader_epoch,
                                             int32_t leader_epoch) {
  EpochEndOffset e;
  if (p.deleted()) {
    e.error = Errc::kUnknownTopicOrPartition;
    return e;
  }
  if (!p.replica().replicated()) {
    // One broker, one epoch (0) that began at offset 0.
    if (leader_epoch > 0) {
      e.error = Errc::kUnknownLeaderEpoch;
    } else {
      e.leader_epoch = 0;
      e.end_offset = p.log()->log_end_offset();
    }
    return e;
  }
  e.error = LeadershipError(p);
  if (e.error != Errc::kNone) return e;
  const int32_t mine = p.replica().leader_epoch.load(std::memory_order_acquire);
  if (current_leader_epoch >= 0 && current_leader_epoch < mine) {
    e.error = Errc::kFencedLeaderEpoch;
  } else if (current_leader_epoch > mine) {
    e.error = Errc::kUnknownLeaderEpoch;
  } else {
    auto [epoch, end] = p.log()->leader_epochs().EndOffsetFor(leader_epoch, p.log()->log_end_offset());
    e.leader_epoch = epoch;
    e.end_offset = end;
  }
  return e;
}

Errc BrokerCore::DescribeLog(std::string_view topic, std::vector<PartitionLogState>* out) {
  auto t = FindTopicOrOffsetsLog(topic);
  if (!t) return Errc::kUnknownTopicOrPartition;
  const CleanerConfig cc = t->config.ToCleanerConfig();
  const int64_t now = WallMillis();
  for (const auto& p : t->partitions) {
    const PartitionLog& log = *p->log();
    PartitionLogState st;
    st.index = p->index();
    st.log_start_offset = log.log_start_offset();
    st.high_watermark = p->visible_end();
    st.durable_offset = log.durable_offset();
    st.size_bytes = log.size_bytes();
    st.segments = static_cast<int32_t>(log.segment_count());
    st.cleaned_offset = log.cleaned_offset();
    if (t->config.cleanup_compact) {
      const Cleanable c = FindCleanable(log, now, cc);
      st.clean_bytes = c.clean_bytes;
      st.dirty_bytes = c.dirty_bytes;
    }
    st.offline = log.offline();
    out->push_back(st);
  }
  return Errc::kNone;
}

std::vector<TopicState> BrokerCore::Describe(std::span<const std::string_view> names) {
  std::vector<TopicState> out;
  auto describe = [&](const std::shared_ptr<const Topic>& t, std::string_view name) {
    TopicState ts;
    ts.name = std::string(name);
    if (!t) {
      ts.error = Errc::kUnknownTopicOrPartition;
    } else {
      for (auto& p : t->partitions) {
        ts.partitions.push_back(
            {p->index(), p->log()->log_start_offset(), p->visible_end()});
      }
    }
    out.push_back(std::move(ts));
  };
  if (names.empty()) {
    for (auto& t : registry_->List()) describe(t, t->name);
  } else {
    for (auto name : names) describe(FindTopicOrOffsetsLog(name), name);
  }
  return out;
}

Errc BrokerCore::CommittedOffsetOf(std::string_view group, std::string_view topic,
                                   int32_t partition, CommittedOffset* out) {
  if (group.empty()) return Errc::kInvalidRequest;
  if (Errc e = GroupHere(group); e != Errc::kNone) return e;
  if (!FindPartition(topic, partition)) return Errc::kUnknownTopicOrPartition;
  *out = StoreFor(group)->Get(group, topic, partition);
  return Errc::kNone;
}

}  // namespace sentry::broker
