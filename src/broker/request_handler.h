// RequestHandler: decodes request bodies and runs the nine APIs of
// PROTOCOL.md. Produce and offset commits go to the pipeline; everything else
// is answered on the calling network thread (fetch straight from the mapped
// segments, zero-copy).
//
// Threads: any network thread; stateless apart from the shared registry,
// offset store, pipeline and admin executor, which are thread-safe. Per-connection state
// lives in ConnState, owned by that connection's network thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/admin_executor.h"
#include "broker/offset_store.h"
#include "broker/topic_registry.h"
#include "pipeline/pipeline.h"
#include "protocol/codec.h"
#include "protocol/messages.h"

namespace sentry::broker {

// Per-connection state the handler needs (owned by the network thread).
struct ConnState {
  uint32_t net_thread = 0;
  uint64_t conn_id = 0;
  uint32_t round_robin = 0;  // partition -1 with null keys
  // Writes in the pipeline per partition: a fetch or list-offsets on one of
  // these waits, so responses on one partition keep the request order.
  std::unordered_map<const pipeline::Partition*, int> pending_writes;
  // A CREATE/DELETE_TOPIC of this connection is running on the admin thread:
  // its later frames wait (the network thread treats the connection as paused).
  bool admin_pending = false;
};

// Where a response goes: bytes appended to bytes(), then optionally a
// payload sent from memory the caller keeps alive through `hold`.
class ResponseOut {
 public:
  virtual ~ResponseOut() = default;
  virtual std::vector<uint8_t>* bytes() = 0;
  virtual void AppendPayload(std::span<const uint8_t> data, std::shared_ptr<const void> hold) = 0;
};

// A long-poll fetch waiting for data (owned by the network thread).
struct ParkedFetch {
  uint64_t conn_id = 0;
  protocol::RequestHeader header;
  std::string topic;
  protocol::FetchRequest request;  // request.topic points into `topic`
  std::shared_ptr<pipeline::Partition> partition;
  int64_t deadline_ms = 0;
};

enum class Outcome {
  kDone,        // answered (or nothing to answer); next frame
  kSubmitted,   // in the pipeline; the answer comes with the completion
  kRetryLater,  // not consumed (queue full or ordering); retry the same frame later
  kParked,      // long-poll: *parked was filled
};

struct BrokerIdentity {
  int32_t broker_id = 0;
  std::string host;
  int32_t port = 0;
};

class RequestHandler {
 public:
  using WakeFn = std::function<void(const std::shared_ptr<pipeline::Partition>&)>;
  RequestHandler(TopicRegistry* registry, OffsetStore* offsets, pipeline::Pipeline* pipeline,
                 AdminExecutor* admin, BrokerIdentity identity, WakeFn wake);

  // One complete frame (header already parsed). `frame_hold` keeps `body`
  // alive for requests handed to the pipeline.
  Outcome Handle(ConnState& conn, const protocol::RequestHeader& h,
                 std::span<const uint8_t> body, const std::shared_ptr<const void>& frame_hold,
                 ResponseOut& out, ParkedFetch* parked);
  // A pipeline request came back. `out` is null when its connection is gone;
  // side effects (offset commits) are applied either way. Frees `req`.
  void Complete(pipeline::WriteRequest* req, ConnState* conn, ResponseOut* out);
  // Re-checks a parked fetch; answers and returns true when it is satisfied,
  // its partition was deleted, or `expired`.
  bool RetryFetch(ParkedFetch& parked, bool expired, ResponseOut& out);

  static void WriteError(ResponseOut& out, const protocol::RequestHeader& h,
                         protocol::ErrorCode code);

 private:
  Outcome HandleApiVersions(const protocol::RequestHeader& h, protocol::ByteReader& r,
                            ResponseOut& out);
  Outcome HandleProduce(ConnState& conn, const protocol::RequestHeader& h,
                        protocol::ByteReader& r, const std::shared_ptr<const void>& hold,
                        ResponseOut& out);
  Outcome HandleFetch(ConnState& conn, const protocol::RequestHeader& h, protocol::ByteReader& r,
                      ResponseOut& out, ParkedFetch* parked);
  Outcome HandleListOffsets(ConnState& conn, const protocol::RequestHeader& h,
                            protocol::ByteReader& r, ResponseOut& out);
  Outcome HandleMetadata(const protocol::RequestHeader& h, protocol::ByteReader& r,
                         ResponseOut& out);
  Outcome HandleCreateTopic(ConnState& conn, const protocol::RequestHeader& h,
                            protocol::ByteReader& r, ResponseOut& out);
  Outcome HandleDeleteTopic(ConnState& conn, const protocol::RequestHeader& h,
                            protocol::ByteReader& r, ResponseOut& out);
  // Hands `op` to the admin thread once the connection has no write in the
  // pipeline (kRetryLater until then); the response (error code only) comes
  // with the completion. Holds the connection's later frames meanwhile.
  Outcome SubmitAdmin(ConnState& conn, const protocol::RequestHeader& h,
                      AdminExecutor::Operation op);
  Outcome HandleOffsetCommit(ConnState& conn, const protocol::RequestHeader& h,
                             protocol::ByteReader& r, ResponseOut& out);
  Outcome HandleOffsetFetch(const protocol::RequestHeader& h, protocol::ByteReader& r,
                            ResponseOut& out);
  // Fills the routing fields from the header and hands `wr` to its partition's
  // writer; kRetryLater (and `wr` freed) when that queue is full.
  Outcome Submit(ConnState& conn, const protocol::RequestHeader& h,
                 std::unique_ptr<pipeline::WriteRequest> wr);
  // Answers a fetch from the log; false when it should wait (not `final`).
  bool AnswerFetch(const protocol::RequestHeader& h, const protocol::FetchRequest& req,
                   pipeline::Partition* p, bool final, ResponseOut& out);
  // The partition a read (FETCH, LIST_OFFSETS) names, or nullptr with
  // *not_now set: kDone after answering UNKNOWN_TOPIC_OR_PARTITION, or
  // kRetryLater while this connection's writes to it are in the pipeline (so
  // a read after a produce on one connection sees it).
  std::shared_ptr<pipeline::Partition> PartitionToRead(ConnState& conn,
                                                       const protocol::RequestHeader& h,
                                                       std::string_view topic, int32_t partition,
                                                       ResponseOut& out, Outcome* not_now);
  std::shared_ptr<pipeline::Partition> FindPartition(std::string_view topic, int32_t partition,
                                                     std::shared_ptr<const Topic>* topic_out);

  TopicRegistry* registry_;
  OffsetStore* offsets_;
  pipeline::Pipeline* pipeline_;
  AdminExecutor* admin_;
  BrokerIdentity identity_;
  WakeFn wake_;
};

}  // namespace sentry::broker
