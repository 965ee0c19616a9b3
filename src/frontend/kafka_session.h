// The Kafka front end's per-connection state and response helpers; private
// to the kafka_*.cc files of this folder.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "frontend/kafka_frontend.h"
#include "kafka/errors.h"
#include "kafka/header.h"
#include "kafka/messages.h"
#include "net/frame_handler.h"
#include "security/authorizer.h"
#include "security/sasl_session.h"

namespace sentry::frontend {

// Who asked: what the answer needs of the request header (the client id is
// a view into the receive buffer, so it is not kept).
struct Asker {
  int16_t api_key = 0;
  int16_t version = 0;
  int32_t correlation_id = 0;
  static Asker Of(const kafka::RequestHeader& h) {
    return {h.api_key, h.api_version, h.correlation_id};
  }
};

// A produce or offset commit: one write per partition, answered together.
struct PendingWrites {
  Asker asker;
  int16_t acks = -1;  // produce: 0 means no answer at all
  size_t next = 0;    // next slot to submit (a full writer queue stops us)
  int outstanding = 0;
  struct Slot {
    std::string topic;
    int32_t partition = 0;
    int16_t error = 0;
    bool settled = false;  // refused up front or completed
    int64_t base_offset = -1;
    int64_t log_start_offset = -1;
    int64_t log_append_time = -1;
  };
  std::vector<Slot> slots;
};

// CreateTopics / DeleteTopics / DeleteRecords / AlterConfigs /
// IncrementalAlterConfigs, or a Metadata request that auto-creates topics:
// one admin operation per topic (per partition for DeleteRecords, per
// resource for the config changes), in turn.
struct PendingAdmin {
  Asker asker;
  std::vector<std::string> metadata_topics;  // Metadata: the topics it names
  std::vector<std::string> metadata_refused;  // ... and those it may not auto-create
  bool validate_only = false;
  size_t next = 0;  // the item in flight, or the next to start
  struct Item {
    std::string name;
    int32_t partitions = 0;
    int16_t replication_factor = -1;  // CreateTopics; -1: the broker's default
    std::vector<std::pair<std::string, std::string>> configs;
    int16_t error = 0;
    std::optional<std::string> message;
    bool settled = false;
    kafka::Uuid topic_id;  // DeleteTopics: the deleted topic's, for the answer
    // DeleteRecords: one item per partition; `name` is the topic.
    int32_t partition = 0;
    int64_t offset = 0;
    int64_t low_watermark = -1;
    // (Incremental)AlterConfigs: one item per resource.
    int8_t resource_type = 0;
    std::vector<broker::TopicRegistry::ConfigChange> changes;
    bool by_id = false;  // DeleteTopics v6+ naming the topic by its id
  };
  std::vector<Item> items;
};

struct KafkaFrontend::Session final : net::Session {
  broker::ClientSession core;
  bool busy = false;  // a request is being served: the next one waits
  // The request being served, for its metrics (api: static storage).
  int64_t request_start_nanos = 0;
  std::string_view request_api;
  std::string peer;   // "/ip", the client host of group members
  std::unique_ptr<PendingWrites> writes;
  std::unique_ptr<PendingAdmin> admin;
  // SASL (kafka_sasl.cc). Without kafka.sasl=required a connection is
  // authenticated from the start, as User:ANONYMOUS (or its certificate's
  // subject); with it, as the principal its SASL exchange proved.
  bool authenticated = false;
  std::string principal = "User:ANONYMOUS";
  bool sasl_raw = false;  // after SaslHandshake v0: frames are bare SASL tokens
  security::SaslSession sasl;
  // Authorization (authorizer.enabled): the client's address as ACL hosts
  // name it, and the decisions this connection already got.
  std::string host;
  security::AuthCache auth_cache;
};

struct KafkaFrontend::FetchPlan final : net::ParkedState {
  Asker asker;
  int32_t max_bytes = 0;
  int32_t min_bytes = 0;
  struct Part {
    std::string topic;
    int32_t partition = 0;
    std::shared_ptr<pipeline::Partition> p;  // null: `error`
    int16_t error = 0;
    int64_t offset = 0;
    int32_t max_bytes = 0;
    int32_t current_leader_epoch = -1;
  };
  int32_t replica_id = -1;  // a follower broker's fetch (cluster mode), else -1
  std::vector<Part> parts;
};

// Writes one whole response frame: header (flexible or not, as the API
// version wants; ApiVersions always uses header v0) and body. Records
// fields go out zero-copy through out.AppendPayload.
template <typename Message>
void Respond(net::ResponseOut& out, const Asker& a, const Message& m) {
  kafka::Writer w(out.bytes(), [&out](std::span<const uint8_t> d,
                                      const std::shared_ptr<const void>& hold) {
    out.AppendPayload(d, hold);
  });
  const bool flex_header =
      a.api_key != kafka::kApiVersionsKey && kafka::IsFlexible(a.api_key, a.version);
  const size_t start = kafka::BeginResponse(w, a.correlation_id, flex_header);
  kafka::Encode(w, a.version, m);
  kafka::FinishResponse(w, start, 0);
}

// A topic's id as Kafka's UUID.
inline kafka::Uuid TopicIdOf(const broker::Topic& t) {
  kafka::Uuid u;
  u.bytes = t.id;
  return u;
}

}  // namespace sentry::frontend
