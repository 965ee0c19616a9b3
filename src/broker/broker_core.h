// BrokerCore: the broker's operations, typed and protocol-neutral. A front
// end (the native protocol today, Kafka's next, HTTP later) decodes a
// request, calls one operation here and encodes what comes back; it never
// touches the registry, the pipeline or a log directly, and the core never
// sees a wire format.
//
// Writes (produce, offset commit) and admin operations (create/delete topic)
// are asynchronous: Prepare* builds the operation, Submit* hands it over, and
// its Completion comes back to the asking connection's network thread, where
// the front end calls Finish() and answers. Reads are answered at once.
//
// Threads: any network thread, concurrently. Per-connection state lives in
// the ClientSession the front end keeps for each connection (touched only by
// that connection's network thread).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "broker/admin_executor.h"
#include "broker/cluster_hooks.h"
#include "broker/error.h"
#include "broker/offset_store.h"
#include "broker/producer_ids.h"
#include "broker/topic_registry.h"
#include "group/group_service.h"
#include "pipeline/pipeline.h"

namespace sentry::broker {

// What the core keeps per client connection.
struct ClientSession {
  pipeline::Route route;
  uint32_t round_robin = 0;  // partition -1 with null keys
  // Writes not yet answered, per partition: a read of one of these waits, so
  // answers on one partition keep the request order. `queued` counts those
  // still in a writer's queue (not appended inline): while there are any, a
  // later write of this partition must queue behind them.
  struct PendingWrites {
    int unanswered = 0;
    int queued = 0;
    uint64_t next_seq = 0;     // WriteRequest::order_seq of the next write
    uint64_t next_answer = 0;  // order_seq of the next write to answer
    std::map<uint64_t, pipeline::CompletionPtr> early;  // came back before their turn
  };
  std::unordered_map<const pipeline::Partition*, PendingWrites> pending_writes;
  // The topic this connection last produced to, valid while the registry's
  // version is unchanged: saves a lookup under the registry's lock per
  // request. Weak, so an idle connection never keeps a deleted topic's files.
  struct {
    std::string name;
    uint64_t version = 0;
    std::weak_ptr<const Topic> topic;
  } last_topic;
  // An admin operation of this connection runs: its later requests wait (as
  // Kafka mutes a connection until its response is sent).
  bool admin_pending = false;
};

struct BrokerIdentity {
  int32_t broker_id = 0;
  std::string host;
  int32_t port = 0;
};

struct ProduceOp {
  std::string_view topic;
  int32_t partition = -1;  // -1: by the first record's key, else round robin
  int16_t acks = 1;        // -1, 0 or 1
  int32_t timeout_ms = 0;
  std::span<const uint8_t> records;    // one or more RecordBatch v2
  // Keeps `records` alive; copied once, into the WriteRequest (a pointer
  // here: every copy is an atomic on a line the writer thread also touches).
  const std::shared_ptr<const void>* hold = nullptr;
};

struct OffsetCommitOp {
  std::string_view group;
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string_view metadata;
};

// A partition a read names, or why there is none to read now.
struct ReadTarget {
  std::shared_ptr<pipeline::Partition> partition;  // null: see error / wait
  Errc error = Errc::kNone;
  bool wait_for_writes = false;  // this session's writes to it are in flight
};

struct FetchOp {
  int64_t offset = 0;
  int32_t max_bytes = 0;
  int32_t min_bytes = 0;
  int32_t max_wait_ms = 0;
  // A follower's fetch (cluster mode): its broker id and leader epoch. It
  // reads up to the log end; a consumer (-1) up to the high watermark.
  int32_t replica_id = -1;
  int32_t current_leader_epoch = -1;
};

// OffsetForLeaderEpoch: where `leader_epoch` ends in this broker's log.
struct EpochEndOffset {
  Errc error = Errc::kNone;
  int32_t leader_epoch = -1;
  int64_t end_offset = -1;
};

struct FetchResult {
  bool ready = true;  // false: not enough data yet, park and retry
  Errc error = Errc::kNone;
  int32_t partition = 0;
  int64_t high_watermark = 0;
  int64_t log_start_offset = 0;
  std::span<const uint8_t> records;   // zero copy from the mapped segment
  std::shared_ptr<const void> hold;   // keeps `records` mapped
};

struct OffsetLookup {
  Errc error = Errc::kNone;
  int32_t partition = 0;
  int64_t offset = -1;
  int64_t timestamp = -1;  // of the record found by timestamp, else -1
  // A lookup by timestamp found a record at or after it (else `offset` is
  // the log end: nothing that new yet).
  bool found = false;
};

struct PartitionState {
  int32_t index = 0;
  int64_t log_start_offset = 0;
  int64_t log_end_offset = 0;
};

struct TopicState {
  std::string name;
  Errc error = Errc::kNone;
  std::vector<PartitionState> partitions;
};

// What one partition holds on disk (DESCRIBE_LOG, sentryctl topic describe).
struct PartitionLogState {
  int32_t index = 0;
  int64_t log_start_offset = 0;
  int64_t high_watermark = 0;
  int64_t durable_offset = 0;
  int64_t size_bytes = 0;      // batches, not space allocated ahead
  int32_t segments = 0;
  int64_t cleaned_offset = 0;  // the cleaner's checkpoint
  int64_t clean_bytes = 0;     // cleanable bytes already compacted
  int64_t dirty_bytes = 0;     // cleanable bytes not compacted yet
  bool offline = false;
};

struct GroupOffset {
  std::string topic;
  int32_t partition = 0;
  CommittedOffset committed;
};

class BrokerCore {
 public:
  using WakeFn = std::function<void(const std::shared_ptr<pipeline::Partition>&)>;
  // `offsets`: one store per partition of the offsets log (a group's commits
  // go to the one its id hashes to). `producer_ids` may be null: idempotent
  // producers are then refused.
  BrokerCore(TopicRegistry* registry, std::vector<OffsetStore*> offsets,
             pipeline::Pipeline* pipeline,
             AdminExecutor* admin, BrokerIdentity identity, WakeFn wake,
             ProducerIds* producer_ids = nullptr);

  const BrokerIdentity& identity() const { return identity_; }
  // The group coordinator (null in tests that need none).
  group::GroupService* groups() const { return groups_; }
  // kNotCoordinator when another broker coordinates `group` (cluster mode:
  // the leader of the __consumer_offsets partition it hashes to), else kNone.
  Errc GroupHere(std::string_view group) const;
  // Partitions of the offsets log (1 on a single node).
  int32_t OffsetsPartitions() const { return static_cast<int32_t>(offsets_.size()); }
  void set_groups(group::GroupService* g) { groups_ = g; }
  // The cluster layer (null: a single-node broker). Set before serving.
  ClusterHooks* cluster() const { return cluster_; }
  void set_cluster(ClusterHooks* c) { cluster_ = c; }

  // --- writes ---
  // Validates and routes a produce into *out (the caller adds its reply
  // context and submits it). Errc::kNone or why it was refused.
  Errc PrepareProduce(ClientSession& s, const ProduceOp& op, pipeline::WriteRequestPtr* out);
  // An acks=-1 append to the offsets log that updates the committed offset
  // when it comes back durable.
  Errc PrepareOffsetCommit(const OffsetCommitOp& op, pipeline::WriteRequestPtr* out);
  // OffsetDelete: a durable tombstone for one committed offset (the caller
  // checked with the group coordinator that the group may lose it).
  Errc PrepareOffsetDelete(std::string_view group, std::string_view topic, int32_t partition,
                           pipeline::WriteRequestPtr* out);
  // offsets.retention.minutes, for a group without members that has been
  // empty for `empty_for_ms` (-1: unknown, e.g. since a restart): writes a
  // tombstone for each offset committed longer than `retention_ms` ago.
  // True when the group has no committed offset left (it may be deleted).
  bool ExpireOffsets(const std::string& group, int64_t empty_for_ms, int64_t retention_ms,
                     int64_t now_wall_ms);
  // Appends a group's record (nullopt: deleted) to the offsets log, from
  // any thread; nobody waits for it.
  void AppendGroupRecord(std::string_view group, const std::optional<std::string>& value);
  // Hands `req` to its partition's writer. False when that queue is full:
  // `req` stays the caller's (retry later).
  bool Submit(ClientSession& s, pipeline::WriteRequestPtr& req);

  // --- admin (asynchronous, on the admin thread) ---
  // False while `s` has writes in flight (retry later: they go first).
  bool SubmitCreateTopic(ClientSession& s, std::unique_ptr<AdminCompletion>& c, std::string name,
                         int32_t partitions,
                         std::vector<std::pair<std::string, std::string>> configs,
                         int16_t replication_factor = -1);
  bool SubmitDeleteTopic(ClientSession& s, std::unique_ptr<AdminCompletion>& c, std::string name);
  // Changes settings of an existing topic on the admin thread
  // (TopicRegistry::AlterConfig): Kafka's IncrementalAlterConfigs and
  // AlterConfigs, native ALTER_TOPIC_CONFIG.
  bool SubmitAlterTopicConfig(ClientSession& s, std::unique_ptr<AdminCompletion>& c,
                              std::string name, std::vector<TopicRegistry::ConfigChange> changes,
                              bool validate_only = false);
  // DeleteRecords (Kafka API 21, native DELETE_RECORDS): on the admin thread,
  // moves the partition's log start offset up to `offset` (-1: the high
  // watermark). kOffsetOutOfRange when offset is above the high watermark or
  // below -1. The records below it are first flushed, so a crash can never
  // leave the persisted start beyond the log's end. c->value: the new start.
  bool SubmitDeleteRecords(ClientSession& s, std::unique_ptr<AdminCompletion>& c,
                           std::string topic, int32_t partition, int64_t offset);

  // What SubmitCreateTopic would refuse, without creating (validate only).
  Error ValidateCreateTopic(std::string_view name, int32_t partitions,
                            const std::vector<std::pair<std::string, std::string>>& configs,
                            TopicConfig* cfg) const;

  // A new idempotent producer id (never handed out before, across restarts).
  Result<int64_t> NewProducerId();

  // A completion of `s` came back to its open connection (the network
  // layer has already run its on_done): ends the session's wait on it.
  void Finish(ClientSession& s, const pipeline::Completion& c);
  // For a front end that pipelines a connection's requests: the completions
  // that may be answered now, in order, given that `c` came back. Writes of
  // one partition are answered in the order they were submitted, whatever
  // thread completed them (writer, flusher, an inline append: the inbox keeps
  // order per producer only); a write that arrives early is kept in `s` until
  // the ones before it came. Anything else is ready at once.
  static void TakeInOrder(ClientSession& s, pipeline::CompletionPtr c,
                          std::vector<pipeline::CompletionPtr>* ready);

  // --- reads ---
  ReadTarget PartitionToRead(ClientSession& s, std::string_view topic, int32_t partition);
  // Reads from `p`; when not `final` and fewer than min_bytes are there,
  // returns ready = false (the caller parks until the partition moves).
  FetchResult Fetch(pipeline::Partition& p, const FetchOp& op, bool final);
  // A front end sends `records` (whole batches of `p`, as Fetch returned
  // them) to a consumer: counted in the calling thread's metrics.
  static void CountSent(const pipeline::Partition& p, std::span<const uint8_t> records);
  // timestamp -1: log end; -2: log start; -3: the batch with the largest
  // timestamp (its last offset; walks the log); >= 0: first offset at or
  // after it.
  OffsetLookup ListOffsets(pipeline::Partition& p, int64_t timestamp);
  // OffsetForLeaderEpoch (Kafka API 23) on a partition this broker leads;
  // `current_leader_epoch` (-1: unchecked) fences a stale asker.
  EpochEndOffset EndOffsetForEpoch(pipeline::Partition& p, int32_t current_leader_epoch,
                                   int32_t leader_epoch);
  // Why a client may not read or write `p` here now (kNone: it may): not
  // its leader, or no leader at all. A single-node broker always may.
  static Errc LeadershipError(const pipeline::Partition& p);
  // Every topic when `names` is empty.
  std::vector<TopicState> Describe(std::span<const std::string_view> names);
  // Every partition of `topic` as its log stands (any thread; kUnknownTopicOrPartition).
  Errc DescribeLog(std::string_view topic, std::vector<PartitionLogState>* out);
  Errc CommittedOffsetOf(std::string_view group, std::string_view topic, int32_t partition,
                         CommittedOffset* out);
  // Every committed offset of `group`, by topic then partition.
  std::vector<GroupOffset> CommittedOffsetsOf(std::string_view group);
  // A topic's configuration; null when there is no such topic.
  std::shared_ptr<const Topic> FindTopic(std::string_view name) const;
  const TopicConfig& topic_defaults() const { return registry_->defaults(); }

 private:
  // An acks=-1 append deleting `key` from `store` and its offsets-log partition.
  pipeline::WriteRequestPtr TombstoneWrite(OffsetStore* store, std::string key);
  std::shared_ptr<pipeline::Partition> FindPartition(std::string_view topic, int32_t partition);
  // A topic; in cluster mode also the offsets log by its name.
  std::shared_ptr<const Topic> FindTopicOrOffsetsLog(std::string_view name) const;
  bool SubmitAdmin(ClientSession& s, std::unique_ptr<AdminCompletion>& c,
                   AdminExecutor::Operation op);

  TopicRegistry* const registry_;
  // The store of the offsets-log partition that keeps `group`.
  OffsetStore* StoreFor(std::string_view group) const;

  const std::vector<OffsetStore*> offsets_;
  pipeline::Pipeline* const pipeline_;
  AdminExecutor* const admin_;
  const BrokerIdentity identity_;
  const WakeFn wake_;
  ProducerIds* const producer_ids_;
  group::GroupService* groups_ = nullptr;
  ClusterHooks* cluster_ = nullptr;
};

}  // namespace sentry::broker
