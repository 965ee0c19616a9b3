// Writes seed corpora for the fuzz targets from real frames and segments:
//   make_seeds OUT_DIR   -> OUT_DIR/{protocol,record_batch,recovery}/seed-N
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "kafka/messages.h"
#include "protocol/group_messages.h"
#include "protocol/messages.h"
#include "storage/record_batch_builder.h"

using namespace sentry;
using namespace sentry::protocol;

namespace {
void Write(const std::string& dir, int n, std::vector<uint8_t> bytes) {
  // record_batch and recovery targets read a mode byte first (odd = fix CRCs).
  const bool raw = dir.find("/protocol") != std::string::npos || dir.find("/kafka") != std::string::npos;
  if (!raw) bytes.insert(bytes.begin(), n % 2);
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/seed-" + std::to_string(n), std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}
template <typename M>
std::vector<uint8_t> Body(uint8_t kind, const M& m) {
  std::vector<uint8_t> out = {kind};
  ByteWriter w(&out);
  Encode(&w, m);
  return out;
}
// A Kafka request frame body: header (v1 or v2) then the message.
template <typename M>
std::vector<uint8_t> KafkaFrame(const M& m, int16_t version) {
  std::vector<uint8_t> out;
  kafka::Writer w(&out);
  w.Int16(M::kApiKey);
  w.Int16(version);
  w.Int32(1);
  w.NullableString(false, std::optional<std::string_view>("seed"));
  if (version >= M::kFirstFlexibleVersion) w.EmptyTaggedFields();
  kafka::Encode(w, version, m);
  return out;
}
std::vector<uint8_t> Batch(int records, int64_t base, int64_t ts) {
  RecordBatchBuilder b(ts);
  for (int i = 0; i < records; i++) {
    b.Add(i % 2 ? std::optional<std::string_view>("key") : std::nullopt, "value-" + std::to_string(i),
          ts + i, i == 0 ? std::vector<RecordHeader>{{"h", "v"}} : std::vector<RecordHeader>{});
  }
  return b.Build(base);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  std::string out = argv[1];
  auto batch = Batch(3, 0, 1000);
  int n = 0;
  Write(out + "/protocol", n++, Body(0, ProduceRequest{"topic", 0, -1, 1000, batch}));
  Write(out + "/protocol", n++, Body(1, FetchRequest{"topic", 2, 10, 1 << 20, 1, 500}));
  Write(out + "/protocol", n++, Body(2, ListOffsetsRequest{"topic", 0, -2}));
  Write(out + "/protocol", n++, Body(3, MetadataRequest{{"a", "b"}}));
  Write(out + "/protocol", n++, Body(4, CreateTopicRequest{"t", 3, {{"segment.bytes", "4096"}}}));
  Write(out + "/protocol", n++, Body(5, DeleteTopicRequest{"t"}));
  Write(out + "/protocol", n++, Body(6, OffsetCommitRequest{"g", "t", 0, 42, "m"}));
  Write(out + "/protocol", n++, Body(7, OffsetFetchRequest{"g", "t", 0}));
  MetadataResponse md{0, "127.0.0.1", 7070, {{"t", 0, {{0, 0, 10}}}}};
  Write(out + "/protocol", n++, Body(12, md));
  ConsumerGroupHeartbeatRequest hb{"g", "m-1", 3, "", "c", std::vector<std::string>{"t"},
                                   std::vector<TopicPartitionList>{{"t", {0, 1}}}};
  Write(out + "/protocol", n++, Body(14, hb));
  Write(out + "/protocol", n++, Body(15, DescribeGroupRequest{"g"}));
  ConsumerGroupHeartbeatResponse hbr{"m-1", 4, 3000, std::vector<TopicPartitionList>{{"t", {2}}}};
  Write(out + "/protocol", n++, Body(16, hbr));
  DescribeGroupResponse dg{"g", "native", "Stable", "consumer", "", 4,
                           {{"m-1", "", "c", "", 4, {{"t", {0}}}}},
                           {{"t", 0, 5, 9, 4, "m-1"}}};
  Write(out + "/protocol", n++, Body(18, dg));
  Write(out + "/protocol", n++, Body(19, AuthenticateRequest{"SCRAM-SHA-512", "n,,n=u,r=abc"}));
  Write(out + "/protocol", n++, Body(20, AuthenticateResponse{"r=abcdef,s=c2FsdA==,i=4096", 0, 0}));
  Write(out + "/protocol", n++, Body(21, SaslMechanisms{{"SCRAM-SHA-256", "PLAIN"}}));
  n = 0;
  Write(out + "/record_batch", n++, batch);
  auto two = batch;
  auto more = Batch(5, 3, 2000);
  two.insert(two.end(), more.begin(), more.end());
  Write(out + "/record_batch", n++, two);
  n = 0;
  Write(out + "/recovery", n++, two);
  auto torn = two;
  torn.resize(torn.size() - 7);
  Write(out + "/recovery", n++, torn);
  auto padded = two;
  padded.resize(padded.size() + 200, 0);
  Write(out + "/recovery", n++, padded);
  n = 0;
  {
    kafka::ProduceRequest p;
    p.acks = -1;
    p.topic_data.push_back({"topic", {{0, kafka::Records{batch, nullptr}}}});
    for (int16_t v : {3, 7, 9}) Write(out + "/kafka", n++, KafkaFrame(p, v));
    kafka::FetchRequest f;
    f.topics.push_back({"topic", {{0, -1, 5, -1, -1, 1 << 20}}});
    for (int16_t v : {4, 11, 12}) Write(out + "/kafka", n++, KafkaFrame(f, v));
    kafka::MetadataRequest kmd;
    kmd.topics.emplace();
    kmd.topics->push_back({kafka::Uuid{}, std::string_view("topic")});
    for (int16_t v : {0, 4, 9, 12}) Write(out + "/kafka", n++, KafkaFrame(kmd, v));
    kafka::CreateTopicsRequest ct;
    ct.topics.push_back({"t", 3, 1, {}, {{"segment.bytes", std::string_view("4096")}}});
    for (int16_t v : {0, 4, 7}) Write(out + "/kafka", n++, KafkaFrame(ct, v));
    kafka::OffsetFetchRequest of;
    of.group_id = "g";
    of.groups.push_back({"g", std::nullopt});
    for (int16_t v : {1, 7, 8}) Write(out + "/kafka", n++, KafkaFrame(of, v));
    Write(out + "/kafka", n++, KafkaFrame(kafka::ApiVersionsRequest{"c", "1"}, 3));
    static const uint8_t meta[] = {0, 0, 0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 0};
    kafka::JoinGroupRequest jg;
    jg.group_id = "g";
    jg.session_timeout_ms = 10000;
    jg.member_id = "m";
    jg.group_instance_id = std::string_view("i");
    jg.protocol_type = "consumer";
    jg.protocols.push_back({"range", meta});
    for (int16_t v : {1, 5, 7}) Write(out + "/kafka", n++, KafkaFrame(jg, v));
    kafka::SyncGroupRequest sg;
    sg.group_id = "g";
    sg.generation_id = 1;
    sg.member_id = "m";
    sg.assignments.push_back({"m", meta});
    for (int16_t v : {0, 3, 5}) Write(out + "/kafka", n++, KafkaFrame(sg, v));
    kafka::LeaveGroupRequest lg;
    lg.group_id = "g";
    lg.member_id = "m";
    lg.members.push_back({"m", std::nullopt});
    for (int16_t v : {0, 3, 4}) Write(out + "/kafka", n++, KafkaFrame(lg, v));
    kafka::OffsetDeleteRequest od;
    od.group_id = "g";
    od.topics.push_back({"t", {{0}}});
    Write(out + "/kafka", n++, KafkaFrame(od, 0));
  }
  return 0;
}
