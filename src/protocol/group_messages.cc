#include "protocol/group_messages.h"

namespace sentry::protocol {

namespace {

// Arrays that may be "unchanged": a count of -1.
bool NullableCount(ByteReader* r, int32_t* n, size_t min_elem_bytes) {
  if (!r->I32(n)) return false;
  if (*n == -1) return true;
  if (*n < 0 || (min_elem_bytes && static_cast<size_t>(*n) > r->remaining() / min_elem_bytes)) {
    return false;
  }
  return true;
}

bool DecodeParts(ByteReader* r, int32_t n, std::vector<TopicPartitionList>* out) {
  out->resize(static_cast<size_t>(n));
  for (auto& t : *out) {
    int32_t np = 0;
    if (!r->String(&t.topic) || !r->ArrayCount(&np, 4)) return false;
    t.partitions.resize(static_cast<size_t>(np));
    for (auto& p : t.partitions) r->I32(&p);
  }
  return r->ok();
}

bool DecodeParts(ByteReader* r, std::vector<TopicPartitionList>* out) {
  int32_t n = 0;
  return r->ArrayCount(&n, 6) && DecodeParts(r, n, out);
}

bool DecodeNullableParts(ByteReader* r, std::optional<std::vector<TopicPartitionList>>* out) {
  int32_t n = 0;
  if (!NullableCount(r, &n, 6)) return false;
  if (n == -1) {
    out->reset();
    return true;
  }
  out->emplace();
  return DecodeParts(r, n, &**out);
}

void EncodeParts(ByteWriter* w, const std::vector<TopicPartitionList>& parts) {
  w->I32(static_cast<int32_t>(parts.size()));
  for (const auto& t : parts) {
    w->String(t.topic);
    w->I32(static_cast<int32_t>(t.partitions.size()));
    for (int32_t p : t.partitions) w->I32(p);
  }
}

void EncodeNullableParts(ByteWriter* w, const std::optional<std::vector<TopicPartitionList>>& p) {
  if (!p) {
    w->I32(-1);
    return;
  }
  EncodeParts(w, *p);
}

}  // namespace

bool Decode(ByteReader* r, ConsumerGroupHeartbeatRequest* m) {
  r->String(&m->group);
  r->String(&m->member_id);
  r->I32(&m->member_epoch);
  r->String(&m->instance_id);
  r->String(&m->client_id);
  int32_t n = 0;
  if (!NullableCount(r, &n, 2)) return false;
  if (n >= 0) {
    m->subscribed_topics.emplace(static_cast<size_t>(n));
    for (auto& t : *m->subscribed_topics) r->String(&t);
  }
  if (!DecodeNullableParts(r, &m->owned)) return false;
  return r->Done();
}

void Encode(ByteWriter* w, const ConsumerGroupHeartbeatRequest& m) {
  w->String(m.group);
  w->String(m.member_id);
  w->I32(m.member_epoch);
  w->String(m.instance_id);
  w->String(m.client_id);
  if (m.subscribed_topics) {
    w->I32(static_cast<int32_t>(m.subscribed_topics->size()));
    for (const auto& t : *m.subscribed_topics) w->String(t);
  } else {
    w->I32(-1);
  }
  EncodeNullableParts(w, m.owned);
}

bool Decode(ByteReader* r, ConsumerGroupHeartbeatResponse* m) {
  r->String(&m->member_id);
  r->I32(&m->member_epoch);
  r->I32(&m->heartbeat_interval_ms);
  if (!DecodeNullableParts(r, &m->assignment)) return false;
  return r->Done();
}

void Encode(ByteWriter* w, const ConsumerGroupHeartbeatResponse& m) {
  w->String(m.member_id);
  w->I32(m.member_epoch);
  w->I32(m.heartbeat_interval_ms);
  EncodeNullableParts(w, m.assignment);
}

bool Decode(ByteReader* r, ListGroupsResponse* m) {
  int32_t n = 0;
  if (!r->ArrayCount(&n, 8)) return false;
  m->groups.resize(static_cast<size_t>(n));
  for (auto& g : m->groups) {
    r->String(&g.group);
    r->String(&g.kind);
    r->String(&g.protocol_type);
    r->String(&g.state);
  }
  return r->Done();
}

void Encode(ByteWriter* w, const ListGroupsResponse& m) {
  w->I32(static_cast<int32_t>(m.groups.size()));
  for (const auto& g : m.groups) {
    w->String(g.group);
    w->String(g.kind);
    w->String(g.protocol_type);
    w->String(g.state);
  }
}

bool Decode(ByteReader* r, DescribeGroupRequest* m) {
  r->String(&m->group);
  return r->Done();
}

void Encode(ByteWriter* w, const DescribeGroupRequest& m) { w->String(m.group); }

bool Decode(ByteReader* r, DescribeGroupResponse* m) {
  r->String(&m->group);
  r->String(&m->kind);
  r->String(&m->state);
  r->String(&m->protocol_type);
  r->String(&m->protocol_name);
  r->I32(&m->generation);
  int32_t n = 0;
  if (!r->ArrayCount(&n, 16)) return false;
  m->members.resize(static_cast<size_t>(n));
  for (auto& mm : m->members) {
    r->String(&mm.member_id);
    r->String(&mm.instance_id);
    r->String(&mm.client_id);
    r->String(&mm.client_host);
    r->I32(&mm.member_epoch);
    if (!DecodeParts(r, &mm.assigned)) return false;
  }
  if (!r->ArrayCount(&n, 32)) return false;
  m->offsets.resize(static_cast<size_t>(n));
  for (auto& o : m->offsets) {
    r->String(&o.topic);
    r->I32(&o.partition);
    r->I64(&o.committed_offset);
    r->I64(&o.log_end_offset);
    r->I64(&o.lag);
    r->String(&o.member_id);
  }
  return r->Done();
}

void Encode(ByteWriter* w, const DescribeGroupResponse& m) {
  w->String(m.group);
  w->String(m.kind);
  w->String(m.state);
  w->String(m.protocol_type);
  w->String(m.protocol_name);
  w->I32(m.generation);
  w->I32(static_cast<int32_t>(m.members.size()));
  for (const auto& mm : m.members) {
    w->String(mm.member_id);
    w->String(mm.instance_id);
    w->String(mm.client_id);
    w->String(mm.client_host);
    w->I32(mm.member_epoch);
    EncodeParts(w, mm.assigned);
  }
  w->I32(static_cast<int32_t>(m.offsets.size()));
  for (const auto& o : m.offsets) {
    w->String(o.topic);
    w->I32(o.partition);
    w->I64(o.committed_offset);
    w->I64(o.log_end_offset);
    w->I64(o.lag);
    w->String(o.member_id);
  }
}

bool Decode(ByteReader* r, OffsetCommitRequest* m, OffsetCommitMember* member) {
  r->String(&m->group);
  r->String(&m->topic);
  r->I32(&m->partition);
  r->I64(&m->offset);
  r->String(&m->metadata);
  return DecodeTail(r, member);
}

bool DecodeTail(ByteReader* r, OffsetCommitMember* m) {
  r->String(&m->member_id);
  r->I32(&m->member_epoch);
  return r->Done();
}

void EncodeTail(ByteWriter* w, const OffsetCommitMember& m) {
  w->String(m.member_id);
  w->I32(m.member_epoch);
}

}  // namespace sentry::protocol
