#include "broker/request_handler.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "common/murmur2.h"
#include "storage/record_batch_builder.h"
#include "storage/varint.h"

namespace sentry::broker {

using namespace protocol;
using pipeline::Partition;
using pipeline::WriteRequest;

namespace {

constexpr int64_t kOffsetCommitTimeoutMs = 30000;

struct CommitInfo {
  std::string key;
  int64_t offset;
  std::string metadata;
};

// Key of the first record of the first batch, when it has one and the batch
// is uncompressed (a compressed batch's records cannot be read cheaply).
std::optional<std::span<const uint8_t>> FirstRecordKey(std::span<const uint8_t> records) {
  RecordBatchView view(records.data());
  if (view.compression() != 0) return std::nullopt;
  const uint8_t* p = records.data() + batch_layout::kHeaderSize;
  const uint8_t* end = records.data() + view.TotalSize();
  int64_t len, ts, od, klen;
  if (!ReadVarlong(&p, end, &len) || p >= end) return std::nullopt;
  p++;  // attributes
  if (!ReadVarlong(&p, end, &ts) || !ReadVarlong(&p, end, &od) ||
      !ReadVarlong(&p, end, &klen) || klen < 0 || klen > end - p) {
    return std::nullopt;
  }
  return std::span<const uint8_t>(p, static_cast<size_t>(klen));
}

}  // namespace

RequestHandler::RequestHandler(TopicRegistry* registry, OffsetStore* offsets,
                               pipeline::Pipeline* pipeline, AdminExecutor* admin,
                               BrokerIdentity identity, WakeFn wake)
    : registry_(registry), offsets_(offsets), pipeline_(pipeline), admin_(admin),
      identity_(std::move(identity)), wake_(std::move(wake)) {}

void RequestHandler::WriteError(ResponseOut& out, const RequestHeader& h, ErrorCode code) {
  ByteWriter w(out.bytes());
  size_t start = BeginResponse(&w, h, static_cast<int16_t>(code));
  FinishFrame(&w, start);
}

std::shared_ptr<Partition> RequestHandler::FindPartition(std::string_view topic,
                                                         int32_t partition,
                                                         std::shared_ptr<const Topic>* out) {
  auto t = registry_->Find(topic);
  if (out) *out = t;
  if (!t || partition < 0 || partition >= static_cast<int32_t>(t->partitions.size())) {
    return nullptr;
  }
  return t->partitions[partition];
}

Outcome RequestHandler::Handle(ConnState& conn, const RequestHeader& h,
                               std::span<const uint8_t> body,
                               const std::shared_ptr<const void>& hold, ResponseOut& out,
                               ParkedFetch* parked) {
  if (h.api_key >= kApiKeyCount) {
    WriteError(out, h, ErrorCode::kInvalidRequest);
    return Outcome::kDone;
  }
  if (h.api_version != kApiVersion) {
    WriteError(out, h, ErrorCode::kUnsupportedVersion);
    return Outcome::kDone;
  }
  ByteReader r(body);
  try {
    switch (static_cast<ApiKey>(h.api_key)) {
      case ApiKey::kApiVersions: return HandleApiVersions(h, r, out);
      case ApiKey::kProduce: return HandleProduce(conn, h, r, hold, out);
      case ApiKey::kFetch: return HandleFetch(conn, h, r, out, parked);
      case ApiKey::kListOffsets: return HandleListOffsets(conn, h, r, out);
      case ApiKey::kMetadata: return HandleMetadata(h, r, out);
      case ApiKey::kCreateTopic: return HandleCreateTopic(conn, h, r, out);
      case ApiKey::kDeleteTopic: return HandleDeleteTopic(conn, h, r, out);
      case ApiKey::kOffsetCommit: return HandleOffsetCommit(conn, h, r, out);
      case ApiKey::kOffsetFetch: return HandleOffsetFetch(h, r, out);
    }
  } catch (const std::exception& e) {
    spdlog::error("{} (correlation {}) failed: {}", ApiName(h.api_key), h.correlation_id,
                  e.what());
    WriteError(out, h, ErrorCode::kUnknownServerError);
    return Outcome::kDone;
  }
  WriteError(out, h, ErrorCode::kInvalidRequest);
  return Outcome::kDone;
}

Outcome RequestHandler::HandleApiVersions(const RequestHeader& h, ByteReader& r,
                                          ResponseOut& out) {
  if (!r.Done()) {
    WriteError(out, h, ErrorCode::kInvalidRequest);
    return Outcome::kDone;
  }
  ApiVersionsResponse resp;
  resp.broker_version = "sentry 0.1.0";
  for (uint16_t k = 0; k < kApiKeyCount; k++) resp.apis.push_back({k, kApiVersion, kApiVersion});
  ByteWriter w(out.bytes());
  size_t start = BeginResponse(&w, h, 0);
  Encode(&w, resp);
  FinishFrame(&w, start);
  return Outcome::kDone;
}

Outcome RequestHandler::HandleProduce(ConnState& conn, const RequestHeader& h, ByteReader& r,
                                      const std::shared_ptr<const void>& hold,
                                      ResponseOut& out) {
  ProduceRequest req;
  if (!Decode(&r, &req) || !req.records) {
    WriteError(out, h, ErrorCode::kInvalidRequest);
    return Outcome::kDone;
  }
  // acks=0 means no response at all, errors included (Kafka does the same).
  auto fail = [&](ErrorCode code) {
    if (req.acks != 0) WriteError(out, h, code);
    return Outcome::kDone;
  };
  if (req.acks != -1 && req.acks != 0 && req.acks != 1) {
    WriteError(out, h, ErrorCode::kInvalidRequest);
    return Outcome::kDone;
  }
  std::shared_ptr<const Topic> topic = registry_->Find(req.topic);
  if (!topic || req.partition < -1 ||
      req.partition >= static_cast<int32_t>(topic->partitions.size())) {
    return fail(ErrorCode::kUnknownTopicOrPartition);
  }
  BatchSetSummary summary;
  if (!ValidateBatches(*req.records, &summary).ok()) return fail(ErrorCode::kCorruptMessage);
  if (summary.largest_batch > static_cast<size_t>(topic->config.max_message_bytes)) {
    return fail(ErrorCode::kMessageTooLarge);
  }
  int32_t partition = req.partition;
  if (partition == -1) {
    const int32_t n = static_cast<int32_t>(topic->partitions.size());
    auto key = FirstRecordKey(*req.records);
    partition = key ? KafkaPartitionForKey(key->data(), key->size(), n)
                    : static_cast<int32_t>(conn.round_robin++ % static_cast<uint32_t>(n));
  }
  auto wr = std::make_unique<WriteRequest>();
  wr->partition = topic->partitions[partition];
  wr->acks = req.acks;
  wr->deadline_ms = SteadyMillis() + std::max<int32_t>(req.timeout_ms, 0);
  wr->frame_hold = hold;
  wr->records = *req.records;
  wr->summary = summary;
  return Submit(conn, h, std::move(wr));
}

Outcome RequestHandler::Submit(ConnState& conn, const RequestHeader& h,
                               std::unique_ptr<WriteRequest> wr) {
  wr->net_thread = conn.net_thread;
  wr->conn_id = conn.conn_id;
  wr->api_key = h.api_key;
  wr->api_version = h.api_version;
  wr->correlation_id = h.correlation_id;
  const pipeline::Partition* partition = wr->partition.get();
  if (!pipeline_->TryEnqueue(conn.net_thread, wr.get())) return Outcome::kRetryLater;
  wr.release();  // the pipeline owns it until it comes back to Complete()
  conn.pending_writes[partition]++;
  return Outcome::kSubmitted;
}

void RequestHandler::Complete(WriteRequest* req, ConnState* conn, ResponseOut* out) {
  std::unique_ptr<WriteRequest> owned(req);
  if (req->kind == WriteRequest::Kind::kAdmin) {
    if (conn) conn->admin_pending = false;
    if (out) WriteError(*out, {req->api_key, req->api_version, req->correlation_id}, req->error);
    return;
  }
  std::unique_ptr<CommitInfo> commit(static_cast<CommitInfo*>(
      req->kind == WriteRequest::Kind::kOffsetCommit ? req->user : nullptr));
  if (commit && req->error == ErrorCode::kNone) {
    offsets_->Apply(commit->key, commit->offset, std::move(commit->metadata),
                    req->info.base_offset);
  }
  if (conn) {
    auto it = conn->pending_writes.find(req->partition.get());
    if (it != conn->pending_writes.end() && --it->second == 0) conn->pending_writes.erase(it);
  }
  if (!out || req->acks == 0) return;
  RequestHeader h{req->api_key, req->api_version, req->correlation_id};
  if (req->error != ErrorCode::kNone) {
    WriteError(*out, h, req->error);
    return;
  }
  ByteWriter w(out->bytes());
  size_t start = BeginResponse(&w, h, 0);
  if (!commit) {
    ProduceResponse resp;
    resp.partition = req->partition->index();
    resp.base_offset = req->info.base_offset;
    resp.log_append_time = -1;
    resp.log_start_offset = req->partition->log()->log_start_offset();
    Encode(&w, resp);
  }
  FinishFrame(&w, start);
}

bool RequestHandler::AnswerFetch(const RequestHeader& h, const FetchRequest& req, Partition* p,
                                 bool final, ResponseOut& out) {
  if (p->deleted()) {
    WriteError(out, h, ErrorCode::kUnknownTopicOrPartition);
    return true;
  }
  auto r = p->log()->Read(req.offset, static_cast<size_t>(std::max(req.max_bytes, 0)));
  FetchResponseHeader fh;
  fh.partition = p->index();
  fh.high_watermark = p->log()->high_watermark();
  fh.log_start_offset = p->log()->log_start_offset();
  ByteWriter w(out.bytes());
  if (!r.ok()) {
    if (r.status().code() == Status::Code::kOutOfRange) {
      size_t start = BeginResponse(&w, h, static_cast<int16_t>(ErrorCode::kOffsetOutOfRange));
      Encode(&w, fh);
      w.BytesLength(0);
      FinishFrame(&w, start);
      return true;
    }
    spdlog::error("fetch {}-{} at offset {}: {}", p->topic(), p->index(), req.offset,
                  r.status().ToString());
    WriteError(out, h, ErrorCode::kKafkaStorageError);
    return true;
  }
  if (!final && req.max_wait_ms > 0 && r->size < static_cast<size_t>(std::max(req.min_bytes, 1))) {
    return false;
  }
  fh.high_watermark = r->high_watermark;
  fh.log_start_offset = r->log_start_offset;
  size_t start = BeginResponse(&w, h, 0);
  Encode(&w, fh);
  w.BytesLength(static_cast<int32_t>(r->size));
  FinishFrame(&w, start, r->size);
  if (r->size) out.AppendPayload(r->bytes(), r->segment);
  return true;
}

std::shared_ptr<Partition> RequestHandler::PartitionToRead(ConnState& conn, const RequestHeader& h,
                                                           std::string_view topic,
                                                           int32_t partition, ResponseOut& out,
                                                           Outcome* not_now) {
  auto p = FindPartition(topic, partition, nullptr);
  if (!p) {
    WriteError(out, h, ErrorCode::kUnknownTopicOrPartition);
    *not_now = Outcome::kDone;
    return nullptr;
  }
  if (conn.pending_writes.count(p.get())) {
    *not_now = Outcome::kRetryLater;
    return nullptr;
  }
  return p;
}

Outcome RequestHandler::HandleFetch(ConnState& conn, const RequestHeader& h, ByteReader& r,
                                    ResponseOut& out, ParkedFetch* parked) {
  FetchRequest req;
  if (!Decode(&r, &req) || req.max_bytes < 0 || req.min_bytes < 0 || req.max_wait_ms < 0) {
    WriteError(out, h, ErrorCode::kInvalidRequest);
    return Outcome::kDone;
  }
  Outcome not_now;
  auto p = PartitionToRead(conn, h, req.topic, req.partition, out, &not_now);
  if (!p) return not_now;
  if (AnswerFetch(h, req, p.get(), false, out)) return Outcome::kDone;
  parked->conn_id = conn.conn_id;
  parked->header = h;
  parked->topic = std::string(req.topic);
  parked->request = req;
  parked->request.topic = parked->topic;
  parked->partition = p;
  parked->deadline_ms = SteadyMillis() + req.max_wait_ms;
  return Outcome::kParked;
}

bool RequestHandler::RetryFetch(ParkedFetch& parked, bool expired, ResponseOut& out) {
  return AnswerFetch(parked.header, parked.request, parked.partition.get(), expired, out);
}

Outcome RequestHandler::HandleListOffsets(ConnState& conn, const RequestHeader& h,
                                          ByteReader& r, ResponseOut& out) {
  ListOffsetsRequest req;
  if (!Decode(&r, &req)) {
    WriteError(out, h, ErrorCode::kInvalidRequest);
    return Outcome::kDone;
  }
  Outcome not_now;
  auto p = PartitionToRead(conn, h, req.topic, req.partition, out, &not_now);
  if (!p) return not_now;
  ListOffsetsResponse resp;
  resp.partition = p->index();
  PartitionLog* log = p->log();
  if (req.timestamp == -1) {
    resp.offset = log->log_end_offset();
  } else if (req.timestamp == -2) {
    resp.offset = log->log_start_offset();
  } else if (req.timestamp < 0) {
    WriteError(out, h, ErrorCode::kInvalidRequest);
    return Outcome::kDone;
  } else {
    resp.offset = log->OffsetForTimestamp(req.timestamp);
    if (resp.offset < log->high_watermark()) {
      auto rr = log->Read(resp.offset, 1);
      if (rr.ok() && rr->size) resp.timestamp = RecordBatchView(rr->data).max_timestamp();
    }
  }
  ByteWriter w(out.bytes());
  size_t start = BeginResponse(&w, h, 0);
  Encode(&w, resp);
  FinishFrame(&w, start);
  return Outcome::kDone;
}

Outcome RequestHandler::HandleMetadata(const RequestHeader& h, ByteReader& r, ResponseOut& out) {
  MetadataRequest req;
  if (!Decode(&r, &req)) {
    WriteError(out, h, ErrorCode::kInvalidRequest);
    return Outcome::kDone;
  }
  MetadataResponse resp;
  resp.broker_id = identity_.broker_id;
  resp.host = identity_.host;
  resp.port = identity_.port;
  auto describe = [&](const std::shared_ptr<const Topic>& t, std::string_view name) {
    TopicMetadata tm;
    tm.name = std::string(name);
    if (!t) {
      tm.error_code = static_cast<int16_t>(ErrorCode::kUnknownTopicOrPartition);
    } else {
      for (auto& p : t->partitions) {
        tm.partitions.push_back(
            {p->index(), p->log()->log_start_offset(), p->log()->log_end_offset()});
      }
    }
    resp.topics.push_back(std::move(tm));
  };
  if (req.topics.empty()) {
    for (auto& t : registry_->List()) describe(t, t->name);
  } else {
    for (auto name : req.topics) describe(registry_->Find(name), name);
  }
  ByteWriter w(out.bytes());
  size_t start = BeginResponse(&w, h, 0);
  Encode(&w, resp);
  FinishFrame(&w, start);
  return Outcome::kDone;
}

Outcome RequestHandler::SubmitAdmin(ConnState& conn, const RequestHeader& h,
                                    AdminExecutor::Operation op) {
  // Earlier writes of this connection go first (a produce sent before a
  // DELETE_TOPIC must not fail because the delete overtook it), as Kafka
  // answers one request of a connection at a time.
  if (!conn.pending_writes.empty()) return Outcome::kRetryLater;
  auto wr = std::make_unique<WriteRequest>();
  wr->kind = WriteRequest::Kind::kAdmin;
  wr->net_thread = conn.net_thread;
  wr->conn_id = conn.conn_id;
  wr->api_key = h.api_key;
  wr->api_version = h.api_version;
  wr->correlation_id = h.correlation_id;
  conn.admin_pending = true;
  admin_->Submit(wr.release(), std::move(op));  // back through Complete()
  return Outcome::kSubmitted;
}

Outcome RequestHandler::HandleCreateTopic(ConnState& conn, const RequestHeader& h, ByteReader& r,
                                          ResponseOut& out) {
  CreateTopicRequest req;
  if (!Decode(&r, &req)) {
    WriteError(out, h, ErrorCode::kInvalidRequest);
    return Outcome::kDone;
  }
  // Copies: the request's views point into the receive buffer.
  std::string name(req.name);
  std::vector<std::pair<std::string, std::string>> configs;
  for (auto& [k, v] : req.configs) configs.emplace_back(k, v);
  return SubmitAdmin(conn, h, [this, name = std::move(name), partitions = req.partitions,
                               configs = std::move(configs)] {
    std::vector<std::pair<std::string_view, std::string_view>> views(configs.begin(),
                                                                     configs.end());
    AdminResult res = registry_->Create(name, partitions, views);
    if (res.error != ErrorCode::kNone) {
      spdlog::info("CREATE_TOPIC {} refused: {} ({})", name, ErrorName(res.error), res.message);
    }
    return res.error;
  });
}

Outcome RequestHandler::HandleDeleteTopic(ConnState& conn, const RequestHeader& h, ByteReader& r,
                                          ResponseOut& out) {
  DeleteTopicRequest req;
  if (!Decode(&r, &req)) {
    WriteError(out, h, ErrorCode::kInvalidRequest);
    return Outcome::kDone;
  }
  return SubmitAdmin(conn, h, [this, name = std::string(req.name)] {
    return registry_->Delete(name, wake_).error;
  });
}

Outcome RequestHandler::HandleOffsetCommit(ConnState& conn, const RequestHeader& h,
                                           ByteReader& r, ResponseOut& out) {
  OffsetCommitRequest req;
  if (!Decode(&r, &req) || req.group.empty()) {
    WriteError(out, h, ErrorCode::kInvalidRequest);
    return Outcome::kDone;
  }
  if (!FindPartition(req.topic, req.partition, nullptr)) {
    WriteError(out, h, ErrorCode::kUnknownTopicOrPartition);
    return Outcome::kDone;
  }
  auto commit = std::make_unique<CommitInfo>(
      CommitInfo{OffsetStore::Key(req.group, req.topic, req.partition), req.offset,
                 std::string(req.metadata)});
  auto bytes = std::make_shared<std::vector<uint8_t>>(
      OffsetStore::BuildCommit(commit->key, req.offset, req.metadata));
  auto wr = std::make_unique<WriteRequest>();
  wr->kind = WriteRequest::Kind::kOffsetCommit;
  wr->partition = offsets_->partition();
  wr->acks = -1;  // durable before the response, as PROTOCOL.md requires
  wr->deadline_ms = SteadyMillis() + kOffsetCommitTimeoutMs;
  wr->records = *bytes;
  wr->frame_hold = bytes;
  (void)ValidateBatches(wr->records, &wr->summary);
  wr->user = commit.get();
  Outcome o = Submit(conn, h, std::move(wr));
  if (o == Outcome::kSubmitted) commit.release();  // freed by Complete()
  return o;
}

Outcome RequestHandler::HandleOffsetFetch(const RequestHeader& h, ByteReader& r,
                                          ResponseOut& out) {
  OffsetFetchRequest req;
  if (!Decode(&r, &req) || req.group.empty()) {
    WriteError(out, h, ErrorCode::kInvalidRequest);
    return Outcome::kDone;
  }
  if (!FindPartition(req.topic, req.partition, nullptr)) {
    WriteError(out, h, ErrorCode::kUnknownTopicOrPartition);
    return Outcome::kDone;
  }
  CommittedOffset c = offsets_->Get(req.group, req.topic, req.partition);
  OffsetFetchResponse resp{c.offset, c.metadata};
  ByteWriter w(out.bytes());
  size_t start = BeginResponse(&w, h, 0);
  Encode(&w, resp);
  FinishFrame(&w, start);
  return Outcome::kDone;
}

}  // namespace sentry::broker
