#include "protocol/messages.h"

namespace sentry::protocol {

// Each Decode reads every field, then requires the body to be fully consumed.

bool Decode(ByteReader* r, ProduceRequest* m) {
  r->String(&m->topic);
  r->I32(&m->partition);
  r->I16(&m->acks);
  r->I32(&m->timeout_ms);
  r->Bytes(&m->records);
  return r->Done();
}
void Encode(ByteWriter* w, const ProduceRequest& m) {
  w->String(m.topic);
  w->I32(m.partition);
  w->I16(m.acks);
  w->I32(m.timeout_ms);
  w->Bytes(m.records);
}

bool Decode(ByteReader* r, FetchRequest* m) {
  r->String(&m->topic);
  r->I32(&m->partition);
  r->I64(&m->offset);
  r->I32(&m->max_bytes);
  r->I32(&m->min_bytes);
  r->I32(&m->max_wait_ms);
  return r->Done();
}
void Encode(ByteWriter* w, const FetchRequest& m) {
  w->String(m.topic);
  w->I32(m.partition);
  w->I64(m.offset);
  w->I32(m.max_bytes);
  w->I32(m.min_bytes);
  w->I32(m.max_wait_ms);
}

bool Decode(ByteReader* r, ListOffsetsRequest* m) {
  r->String(&m->topic);
  r->I32(&m->partition);
  r->I64(&m->timestamp);
  return r->Done();
}
void Encode(ByteWriter* w, const ListOffsetsRequest& m) {
  w->String(m.topic);
  w->I32(m.partition);
  w->I64(m.timestamp);
}

namespace {
// A request body that is one array of topic names (METADATA, DESCRIBE_CLUSTER).
bool DecodeTopicNames(ByteReader* r, std::vector<std::string_view>* topics) {
  int32_t n;
  if (!r->ArrayCount(&n, 2)) return false;
  topics->resize(static_cast<size_t>(n));
  for (auto& t : *topics) r->String(&t);
  return r->Done();
}
void EncodeTopicNames(ByteWriter* w, const std::vector<std::string_view>& topics) {
  w->I32(static_cast<int32_t>(topics.size()));
  for (auto t : topics) w->String(t);
}
}  // namespace

bool Decode(ByteReader* r, MetadataRequest* m) { return DecodeTopicNames(r, &m->topics); }
void Encode(ByteWriter* w, const MetadataRequest& m) { EncodeTopicNames(w, m.topics); }
bool Decode(ByteReader* r, DescribeClusterRequest* m) { return DecodeTopicNames(r, &m->topics); }
void Encode(ByteWriter* w, const DescribeClusterRequest& m) { EncodeTopicNames(w, m.topics); }

namespace {
void EncodeIds(ByteWriter* w, const std::vector<int32_t>& ids) {
  w->I32(static_cast<int32_t>(ids.size()));
  for (int32_t id : ids) w->I32(id);
}
bool DecodeIds(ByteReader* r, std::vector<int32_t>* ids) {
  int32_t n;
  if (!r->ArrayCount(&n, 4)) return false;
  ids->resize(static_cast<size_t>(n));
  for (auto& id : *ids) r->I32(&id);
  return r->ok();
}
}  // namespace

void Encode(ByteWriter* w, const DescribeClusterResponse& m) {
  w->I8(m.cluster_mode);
  w->I32(m.controller_id);
  w->I32(static_cast<int32_t>(m.brokers.size()));
  for (const auto& b : m.brokers) {
    w->I32(b.broker_id);
    w->String(b.host);
    w->I32(b.port);
    w->I32(b.kafka_port);
  }
  w->I32(static_cast<int32_t>(m.topics.size()));
  for (const auto& t : m.topics) {
    w->String(t.name);
    w->I16(t.error_code);
    w->I32(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) {
      w->I32(p.partition);
      w->I32(p.leader);
      w->I32(p.leader_epoch);
      EncodeIds(w, p.replicas);
      EncodeIds(w, p.isr);
    }
  }
}
bool Decode(ByteReader* r, DescribeClusterResponse* m) {
  r->I8(&m->cluster_mode);
  r->I32(&m->controller_id);
  int32_t n;
  if (!r->ArrayCount(&n, 14)) return false;
  m->brokers.resize(static_cast<size_t>(n));
  for (auto& b : m->brokers) {
    r->I32(&b.broker_id);
    r->String(&b.host);
    r->I32(&b.port);
    r->I32(&b.kafka_port);
  }
  if (!r->ArrayCount(&n, 8)) return false;
  m->topics.resize(static_cast<size_t>(n));
  for (auto& t : m->topics) {
    r->String(&t.name);
    r->I16(&t.error_code);
    int32_t np;
    if (!r->ArrayCount(&np, 20)) return false;
    t.partitions.resize(static_cast<size_t>(np));
    for (auto& p : t.partitions) {
      r->I32(&p.partition);
      r->I32(&p.leader);
      r->I32(&p.leader_epoch);
      if (!DecodeIds(r, &p.replicas) || !DecodeIds(r, &p.isr)) return false;
    }
  }
  return r->Done();
}

bool Decode(ByteReader* r, CreateTopicRequest* m) {
  r->String(&m->name);
  r->I32(&m->partitions);
  int32_t n;
  if (!r->ArrayCount(&n, 4)) return false;
  m->configs.resize(static_cast<size_t>(n));
  for (auto& [k, v] : m->configs) {
    r->String(&k);
    r->String(&v);
  }
  return r->Done();
}
void Encode(ByteWriter* w, const CreateTopicRequest& m) {
  w->String(m.name);
  w->I32(m.partitions);
  w->I32(static_cast<int32_t>(m.configs.size()));
  for (auto& [k, v] : m.configs) {
    w->String(k);
    w->String(v);
  }
}

bool Decode(ByteReader* r, DeleteTopicRequest* m) {
  r->String(&m->name);
  return r->Done();
}
void Encode(ByteWriter* w, const DeleteTopicRequest& m) { w->String(m.name); }

bool Decode(ByteReader* r, DeleteRecordsRequest* m) {
  r->String(&m->topic);
  r->I32(&m->partition);
  r->I64(&m->offset);
  return r->Done();
}
void Encode(ByteWriter* w, const DeleteRecordsRequest& m) {
  w->String(m.topic);
  w->I32(m.partition);
  w->I64(m.offset);
}
void Encode(ByteWriter* w, const InitProducerIdResponse& m) {
  w->I64(m.producer_id);
  w->I16(m.producer_epoch);
}
bool Decode(ByteReader* r, InitProducerIdResponse* m) {
  r->I64(&m->producer_id);
  r->I16(&m->producer_epoch);
  return r->Done();
}

namespace {
bool BytesAsString(ByteReader* r, std::string* out) {
  std::optional<std::span<const uint8_t>> b;
  if (!r->Bytes(&b) || !b) return false;  // no null bytes in AUTHENTICATE
  out->assign(reinterpret_cast<const char*>(b->data()), b->size());
  return true;
}
std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
}  // namespace

bool Decode(ByteReader* r, AuthenticateRequest* m) {
  return r->String(&m->mechanism) && BytesAsString(r, &m->auth_bytes) && r->Done();
}
void Encode(ByteWriter* w, const AuthenticateRequest& m) {
  w->String(m.mechanism);
  w->Bytes(AsBytes(m.auth_bytes));
}
void Encode(ByteWriter* w, const AuthenticateResponse& m) {
  w->Bytes(AsBytes(m.auth_bytes));
  w->I8(m.authenticated);
  w->I64(m.session_lifetime_ms);
}
bool Decode(ByteReader* r, AuthenticateResponse* m) {
  return BytesAsString(r, &m->auth_bytes) && r->I8(&m->authenticated) &&
         r->I64(&m->session_lifetime_ms) && r->Done();
}
void Encode(ByteWriter* w, const SaslMechanisms& m) {
  w->I32(static_cast<int32_t>(m.mechanisms.size()));
  for (const auto& s : m.mechanisms) w->String(s);
}
bool Decode(ByteReader* r, SaslMechanisms* m) {
  int32_t n = 0;
  if (!r->ArrayCount(&n, 2)) return false;
  m->mechanisms.resize(static_cast<size_t>(n));
  for (auto& s : m->mechanisms) r->String(&s);
  return r->Done();
}

void Encode(ByteWriter* w, const DeleteRecordsResponse& m) { w->I64(m.low_watermark); }
bool Decode(ByteReader* r, DeleteRecordsResponse* m) {
  r->I64(&m->low_watermark);
  return r->Done();
}

bool Decode(ByteReader* r, AlterTopicConfigRequest* m) {
  r->String(&m->topic);
  int32_t n;
  if (!r->ArrayCount(&n, 1 + 2 + 2)) return false;
  m->entries.resize(static_cast<size_t>(n));
  for (auto& e : m->entries) {
    r->I8(&e.op);
    r->String(&e.key);
    r->String(&e.value);
  }
  return r->Done();
}
void Encode(ByteWriter* w, const AlterTopicConfigRequest& m) {
  w->String(m.topic);
  w->I32(static_cast<int32_t>(m.entries.size()));
  for (const auto& e : m.entries) {
    w->I8(e.op);
    w->String(e.key);
    w->String(e.value);
  }
}

bool Decode(ByteReader* r, DescribeLogRequest* m) {
  r->String(&m->topic);
  return r->Done();
}
void Encode(ByteWriter* w, const DescribeLogRequest& m) { w->String(m.topic); }
void Encode(ByteWriter* w, const DescribeLogResponse& m) {
  w->I32(static_cast<int32_t>(m.partitions.size()));
  for (const auto& p : m.partitions) {
    w->I32(p.partition);
    w->I64(p.log_start_offset);
    w->I64(p.high_watermark);
    w->I64(p.durable_offset);
    w->I64(p.size_bytes);
    w->I32(p.segments);
    w->I64(p.cleaned_offset);
    w->I64(p.clean_bytes);
    w->I64(p.dirty_bytes);
    w->I8(p.offline);
  }
}
bool Decode(ByteReader* r, DescribeLogResponse* m) {
  int32_t n;
  if (!r->ArrayCount(&n, 4 + 8 * 7 + 4 + 1)) return false;
  m->partitions.resize(static_cast<size_t>(n));
  for (auto& p : m->partitions) {
    r->I32(&p.partition);
    r->I64(&p.log_start_offset);
    r->I64(&p.high_watermark);
    r->I64(&p.durable_offset);
    r->I64(&p.size_bytes);
    r->I32(&p.segments);
    r->I64(&p.cleaned_offset);
    r->I64(&p.clean_bytes);
    r->I64(&p.dirty_bytes);
    r->I8(&p.offline);
  }
  return r->Done();
}

bool Decode(ByteReader* r, OffsetCommitRequest* m) {
  r->String(&m->group);
  r->String(&m->topic);
  r->I32(&m->partition);
  r->I64(&m->offset);
  r->String(&m->metadata);
  return r->Done();
}
void Encode(ByteWriter* w, const OffsetCommitRequest& m) {
  w->String(m.group);
  w->String(m.topic);
  w->I32(m.partition);
  w->I64(m.offset);
  w->String(m.metadata);
}

bool Decode(ByteReader* r, OffsetFetchRequest* m) {
  r->String(&m->group);
  r->String(&m->topic);
  r->I32(&m->partition);
  return r->Done();
}
void Encode(ByteWriter* w, const OffsetFetchRequest& m) {
  w->String(m.group);
  w->String(m.topic);
  w->I32(m.partition);
}

void Encode(ByteWriter* w, const ApiVersionsResponse& m) {
  w->String(m.broker_version);
  w->I32(static_cast<int32_t>(m.apis.size()));
  for (const auto& a : m.apis) {
    w->U16(a.api_key);
    w->U16(a.min_version);
    w->U16(a.max_version);
  }
}
bool Decode(ByteReader* r, ApiVersionsResponse* m) {
  r->String(&m->broker_version);
  int32_t n;
  if (!r->ArrayCount(&n, 6)) return false;
  m->apis.resize(static_cast<size_t>(n));
  for (auto& a : m->apis) {
    r->U16(&a.api_key);
    r->U16(&a.min_version);
    r->U16(&a.max_version);
  }
  return r->Done();
}

void Encode(ByteWriter* w, const ProduceResponse& m) {
  w->I32(m.partition);
  w->I64(m.base_offset);
  w->I64(m.log_append_time);
  w->I64(m.log_start_offset);
}
bool Decode(ByteReader* r, ProduceResponse* m) {
  r->I32(&m->partition);
  r->I64(&m->base_offset);
  r->I64(&m->log_append_time);
  r->I64(&m->log_start_offset);
  return r->Done();
}

void Encode(ByteWriter* w, const FetchResponseHeader& m) {
  w->I32(m.partition);
  w->I64(m.high_watermark);
  w->I64(m.log_start_offset);
}
bool Decode(ByteReader* r, FetchResponse* m) {
  r->I32(&m->header.partition);
  r->I64(&m->header.high_watermark);
  r->I64(&m->header.log_start_offset);
  r->Bytes(&m->records);
  return r->Done();
}

void Encode(ByteWriter* w, const ListOffsetsResponse& m) {
  w->I32(m.partition);
  w->I64(m.offset);
  w->I64(m.timestamp);
}
bool Decode(ByteReader* r, ListOffsetsResponse* m) {
  r->I32(&m->partition);
  r->I64(&m->offset);
  r->I64(&m->timestamp);
  return r->Done();
}

void Encode(ByteWriter* w, const MetadataResponse& m) {
  w->I32(m.broker_id);
  w->String(m.host);
  w->I32(m.port);
  w->I32(static_cast<int32_t>(m.topics.size()));
  for (const auto& t : m.topics) {
    w->String(t.name);
    w->I16(t.error_code);
    w->I32(static_cast<int32_t>(t.partitions.size()));
    for (const auto& p : t.partitions) {
      w->I32(p.partition);
      w->I64(p.log_start_offset);
      w->I64(p.log_end_offset);
    }
  }
}
bool Decode(ByteReader* r, MetadataResponse* m) {
  r->I32(&m->broker_id);
  r->String(&m->host);
  r->I32(&m->port);
  int32_t n;
  if (!r->ArrayCount(&n, 8)) return false;
  m->topics.resize(static_cast<size_t>(n));
  for (auto& t : m->topics) {
    r->String(&t.name);
    r->I16(&t.error_code);
    int32_t np;
    if (!r->ArrayCount(&np, 20)) return false;
    t.partitions.resize(static_cast<size_t>(np));
    for (auto& p : t.partitions) {
      r->I32(&p.partition);
      r->I64(&p.log_start_offset);
      r->I64(&p.log_end_offset);
    }
  }
  return r->Done();
}

void Encode(ByteWriter* w, const OffsetFetchResponse& m) {
  w->I64(m.offset);
  w->String(m.metadata);
}
bool Decode(ByteReader* r, OffsetFetchResponse* m) {
  r->I64(&m->offset);
  r->String(&m->metadata);
  return r->Done();
}

}  // namespace sentry::protocol
