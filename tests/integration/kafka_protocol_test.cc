// The Kafka listener of a real sentryd, driven byte by byte through
// KafkaTestClient: the corners real clients rarely reach (version fallback,
// refusals, idempotent retries, long polls across partitions, restarts).
// Real clients: kafka_clients_test.cc.
#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/crc32c.h"
#include "common/endian.h"
#include "integration/broker_fixture.h"
#include "kafka/errors.h"
#include "kafka/kafka_test_client.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

namespace sentry::testing {
namespace {

using kafka::Code;
using kafka::ErrorCode;
using kafka::test::KafkaTestClient;
using kafka::test::OneBatch;
using namespace sentry::kafka;

std::vector<uint8_t> Batch(int n, const std::string& prefix, int64_t producer_id = -1,
                           int16_t epoch = -1, int32_t seq = -1) {
  RecordBatchBuilder b;
  if (producer_id >= 0) b.SetProducer(producer_id, epoch, seq);
  for (int i = 0; i < n; i++) {
    const std::string v = prefix + std::to_string(i);
    b.Add(std::nullopt, v);
  }
  return b.Build();
}

// A produce answer without error at `offset`.
std::pair<int16_t, int64_t> Ok(int64_t offset) { return {int16_t{0}, offset}; }

class KafkaProtocolTest : public BrokerFixture {
 protected:
  void SetUp() override {
    BrokerFixture::SetUp();
    ASSERT_GT(broker_->kafka_port(), 0) << broker_->Output();
    kc_ = std::make_unique<KafkaTestClient>(broker_->kafka_port());
    ASSERT_TRUE(kc_->connected());
  }

  void CreateTopic(const std::string& name, int32_t partitions) {
    CreateTopicsRequest req;
    CreateTopicsRequest::CreatableTopic t;
    t.name = name;
    t.num_partitions = partitions;
    t.replication_factor = 1;
    req.topics.push_back(t);
    auto resp = kc_->Call<CreateTopicsResponse>(req, 7);
    ASSERT_TRUE(resp);
    ASSERT_EQ(resp->topics.size(), 1u);
    ASSERT_EQ(resp->topics[0].error_code, 0) << resp->topics[0].error_message.value_or("");
  }

  // Produces one batch; returns (error, base offset).
  std::pair<int16_t, int64_t> Produce(const std::string& topic, int32_t partition,
                                      const std::vector<uint8_t>& batch, int16_t version = 9) {
    auto resp = kc_->Call<ProduceResponse>(OneBatch(topic, partition, batch), version);
    EXPECT_TRUE(resp);
    if (!resp) return {-100, -1};
    const auto& p = resp->responses.at(0).partition_responses.at(0);
    return {p.error_code, p.base_offset};
  }

  int64_t EndOffset(const std::string& topic, int32_t partition) {
    ListOffsetsRequest req;
    req.replica_id = -1;
    ListOffsetsRequest::ListOffsetsTopic t;
    t.name = topic;
    t.partitions.push_back({partition, -1, -1});
    req.topics.push_back(t);
    auto resp = kc_->Call<ListOffsetsResponse>(req, 7);
    EXPECT_TRUE(resp);
    return resp ? resp->topics.at(0).partitions.at(0).offset : -100;
  }

  std::unique_ptr<KafkaTestClient> kc_;
};

TEST_F(KafkaProtocolTest, ApiVersionsAdvertisesEveryServedApi) {
  auto resp = kc_->Call<ApiVersionsResponse>(ApiVersionsRequest{}, 3);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->error_code, 0);
  ASSERT_EQ(resp->api_keys.size(), std::size(kApiRanges));
  for (size_t i = 0; i < std::size(kApiRanges); i++) {
    EXPECT_EQ(resp->api_keys[i].api_key, kApiRanges[i].key);
    EXPECT_EQ(resp->api_keys[i].min_version, kApiRanges[i].min_version);
    EXPECT_EQ(resp->api_keys[i].max_version, kApiRanges[i].max_version);
  }
}

TEST_F(KafkaProtocolTest, TooNewApiVersionsGetsTheListInTheV0Format) {
  // librdkafka asks with the newest version it knows and falls back only on
  // this exact answer: UNSUPPORTED_VERSION, v0 body, with our ranges.
  std::vector<uint8_t> body;
  Writer w(&body);
  w.Int16(kApiVersionsKey);
  w.Int16(9);  // newer than we serve
  w.Int32(77);
  w.NullableString(false, std::optional<std::string_view>("x"));
  w.EmptyTaggedFields();
  w.String(true, "client");
  w.String(true, "1.0");
  w.EmptyTaggedFields();
  ASSERT_TRUE(kc_->SendFrame(body));
  auto resp = kc_->Receive<ApiVersionsResponse>(0, 77, /*flexible_header=*/false);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->error_code, Code(ErrorCode::kUnsupportedVersion));
  EXPECT_EQ(resp->api_keys.size(), std::size(kApiRanges));
}

TEST_F(KafkaProtocolTest, UnknownApiKeyClosesOnlyThatConnection) {
  std::vector<uint8_t> body;
  Writer w(&body);
  w.Int16(57);  // UpdateFeatures: not served
  w.Int16(0);
  w.Int32(1);
  w.NullableString(false, std::optional<std::string_view>());
  ASSERT_TRUE(kc_->SendFrame(body));
  EXPECT_TRUE(kc_->WaitClosed());
  EXPECT_TRUE(broker_->WaitForOutput("unsupported API key 57"));
  KafkaTestClient other(broker_->kafka_port());
  EXPECT_TRUE(other.Call<ApiVersionsResponse>(ApiVersionsRequest{}, 3));
}

TEST_F(KafkaProtocolTest, MetadataListsTopicsWithIdsAndThisBrokerAsLeader) {
  CreateTopic("meta", 3);
  MetadataRequest req;
  req.topics.emplace();
  MetadataRequest::MetadataRequestTopic t;
  t.name = "meta";
  req.topics->push_back(t);
  MetadataRequest::MetadataRequestTopic missing;
  missing.name = "missing";
  req.topics->push_back(missing);
  for (int16_t v : {0, 1, 4, 9, 12}) {
    auto resp = kc_->Call<MetadataResponse>(req, v);
    ASSERT_TRUE(resp) << "v" << v;
    ASSERT_EQ(resp->brokers.size(), 1u);
    EXPECT_EQ(resp->brokers[0].port, broker_->kafka_port());
    ASSERT_EQ(resp->topics.size(), 2u);
    EXPECT_EQ(resp->topics[0].error_code, 0);
    EXPECT_EQ(resp->topics[0].partitions.size(), 3u);
    EXPECT_EQ(resp->topics[0].partitions[2].leader_id, resp->brokers[0].node_id);
    EXPECT_EQ(resp->topics[1].error_code, Code(ErrorCode::kUnknownTopicOrPartition));
    if (v >= 10) {
      EXPECT_FALSE(resp->topics[0].topic_id.IsZero());
    }
  }
}

TEST_F(KafkaProtocolTest, TopicIdSurvivesRestartAndChangesWhenRecreated) {
  CreateTopic("ids", 1);
  auto id_of = [&](KafkaTestClient& c) {
    MetadataRequest req;  // null topics: all
    auto resp = c.Call<MetadataResponse>(req, 12);
    EXPECT_TRUE(resp && resp->topics.size() == 1);
    return resp && !resp->topics.empty() ? resp->topics[0].topic_id : Uuid{};
  };
  const Uuid first = id_of(*kc_);
  EXPECT_FALSE(first.IsZero());
  ASSERT_EQ(broker_->Stop(), 0);
  ASSERT_TRUE(broker_->Start());
  kc_ = std::make_unique<KafkaTestClient>(broker_->kafka_port());
  EXPECT_EQ(id_of(*kc_), first);
  DeleteTopicsRequest del;
  del.topic_names.push_back("ids");
  auto d = kc_->Call<DeleteTopicsResponse>(del, 5);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->responses.at(0).error_code, 0);
  CreateTopic("ids", 1);
  EXPECT_NE(id_of(*kc_), first);
}

// DeleteRecords v0-2 (sarama covers v0 in kafka_clients_test): the new low
// watermark per partition, -1 = the high watermark, and per-partition
// errors for an unknown topic or partition and an offset past the end.
TEST_F(KafkaProtocolTest, DeleteRecordsMovesTheLogStartPerPartition) {
  CreateTopic("dr", 2);
  for (int i = 0; i < 5; i++) {
    ASSERT_EQ(Produce("dr", 0, Batch(2, "x")).first, 0);
    ASSERT_EQ(Produce("dr", 1, Batch(2, "y")).first, 0);
  }
  for (int16_t v : {0, 1, 2}) {
    DeleteRecordsRequest req;
    req.timeout_ms = 5000;
    DeleteRecordsRequest::DeleteRecordsTopic t;
    t.name = "dr";
    t.partitions.push_back({0, 2 + v});  // moves forward with each version
    t.partitions.push_back({7, 1});      // no such partition
    req.topics.push_back(t);
    DeleteRecordsRequest::DeleteRecordsTopic unknown;
    unknown.name = "nope";
    unknown.partitions.push_back({0, 1});
    req.topics.push_back(unknown);
    auto resp = kc_->Call<DeleteRecordsResponse>(req, v);
    ASSERT_TRUE(resp) << v;
    ASSERT_EQ(resp->topics.size(), 2u);
    ASSERT_EQ(resp->topics[0].partitions.size(), 2u);
    EXPECT_EQ(resp->topics[0].partitions[0].error_code, 0) << v;
    EXPECT_EQ(resp->topics[0].partitions[0].low_watermark, 2 + v) << v;
    EXPECT_EQ(resp->topics[0].partitions[1].error_code,
              static_cast<int16_t>(ErrorCode::kUnknownTopicOrPartition));
    EXPECT_EQ(resp->topics[1].partitions[0].error_code,
              static_cast<int16_t>(ErrorCode::kUnknownTopicOrPartition));
  }
  DeleteRecordsRequest req;
  DeleteRecordsRequest::DeleteRecordsTopic t;
  t.name = "dr";
  t.partitions.push_back({1, 11});  // past the end (10)
  t.partitions.push_back({1, -1});  // the high watermark
  req.topics.push_back(t);
  auto resp = kc_->Call<DeleteRecordsResponse>(req, 2);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->topics[0].partitions[0].error_code,
            static_cast<int16_t>(ErrorCode::kOffsetOutOfRange));
  EXPECT_EQ(resp->topics[0].partitions[1].error_code, 0);
  EXPECT_EQ(resp->topics[0].partitions[1].low_watermark, 10);
  // ListOffsets earliest returns the new starts.
  ListOffsetsRequest lo;
  lo.replica_id = -1;
  ListOffsetsRequest::ListOffsetsTopic lt;
  lt.name = "dr";
  lt.partitions.push_back({0, -1, -2});  // leader epoch -1, timestamp -2 (earliest)
  lt.partitions.push_back({1, -1, -2});
  lo.topics.push_back(lt);
  auto starts = kc_->Call<ListOffsetsResponse>(lo, 7);
  ASSERT_TRUE(starts);
  EXPECT_EQ(starts->topics[0].partitions[0].offset, 4);
  EXPECT_EQ(starts->topics[0].partitions[1].offset, 10);
}

// IncrementalAlterConfigs v0-1: SET, DELETE (back to the default), APPEND and
// SUBTRACT on cleanup.policy, validate_only, refusals per resource; the
// result as DescribeConfigs shows it.
TEST_F(KafkaProtocolTest, IncrementalAlterConfigsChangesATopicsSettings) {
  CreateTopic("alt", 1);
  auto describe = [&](const std::string& key) -> std::string {
    DescribeConfigsRequest d;
    d.resources.push_back({2, "alt", std::nullopt});
    auto resp = kc_->Call<DescribeConfigsResponse>(d, 4);
    EXPECT_TRUE(resp);
    if (!resp) return "";
    for (const auto& c : resp->results.at(0).configs) {
      if (c.name == key) return c.value.value_or("null");
    }
    return "absent";
  };
  auto alter = [&](int16_t v, std::vector<std::tuple<std::string, int8_t, std::optional<std::string>>> cfgs,
                   bool validate_only = false, int8_t type = 2, std::string name = "alt") {
    IncrementalAlterConfigsRequest req;
    req.validate_only = validate_only;
    IncrementalAlterConfigsRequest::AlterConfigsResource res;
    res.resource_type = type;
    res.resource_name = name;
    std::vector<std::string> keep;  // the request holds views
    keep.reserve(cfgs.size() * 2);
    for (auto& [k, op, val] : cfgs) {
      IncrementalAlterConfigsRequest::AlterableConfig c;
      keep.push_back(k);
      c.name = keep.back();
      c.config_operation = op;
      if (val) {
        keep.push_back(*val);
        c.value = keep.back();
      }
      res.configs.push_back(c);
    }
    req.resources.push_back(res);
    auto resp = kc_->Call<IncrementalAlterConfigsResponse>(req, v);
    EXPECT_TRUE(resp);
    return resp ? resp->responses.at(0).error_code : int16_t{-100};
  };
  for (int16_t v : {0, 1}) {
    EXPECT_EQ(alter(v, {{"retention.ms", 0, "1234"}}), 0);
    EXPECT_EQ(describe("retention.ms"), "1234");
    EXPECT_EQ(alter(v, {{"retention.ms", 1, std::nullopt}}), 0);
    EXPECT_EQ(describe("retention.ms"), "604800000");
  }
  EXPECT_EQ(alter(1, {{"cleanup.policy", 2, "compact"}}), 0);
  EXPECT_EQ(describe("cleanup.policy"), "compact,delete");
  EXPECT_EQ(alter(1, {{"cleanup.policy", 3, "delete"}}), 0);
  EXPECT_EQ(describe("cleanup.policy"), "compact");
  EXPECT_EQ(alter(1, {{"cleanup.policy", 3, "compact"}}),
            static_cast<int16_t>(ErrorCode::kInvalidConfig));  // would leave it empty
  EXPECT_EQ(alter(1, {{"retention.ms", 2, "5"}}), static_cast<int16_t>(ErrorCode::kInvalidConfig));
  EXPECT_EQ(alter(1, {{"segment.bytes", 0, "100"}}),  // below 1024
            static_cast<int16_t>(ErrorCode::kInvalidConfig));
  EXPECT_EQ(alter(1, {{"segment.bytes", 0, "4096"}}), 0);
  EXPECT_EQ(describe("segment.bytes"), "4096");
  EXPECT_EQ(alter(1, {{"retention.bytes", 0, "1000"}}, /*validate_only=*/true), 0);
  EXPECT_EQ(describe("retention.bytes"), "-1");
  EXPECT_EQ(alter(1, {{"log.retention.ms", 0, "1"}}, false, 4, "0"),
            static_cast<int16_t>(ErrorCode::kInvalidRequest));
  EXPECT_EQ(alter(1, {{"retention.ms", 0, "1"}}, false, 2, "missing"),
            static_cast<int16_t>(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_EQ(describe("cleanup.policy"), "compact");
}

TEST_F(KafkaProtocolTest, ProduceRefusals) {
  CreateTopic("refuse", 1);
  // A message set v1 (magic 1, before Kafka 0.11): refused, as Kafka 4.0.
  std::vector<uint8_t> v1 = Batch(1, "a");
  v1[16] = 1;
  EXPECT_EQ(Produce("refuse", 0, v1, 2).first, Code(ErrorCode::kUnsupportedVersion));
  // Two batches in one partition's records: Kafka requires exactly one (v3+).
  std::vector<uint8_t> two = Batch(1, "a");
  std::vector<uint8_t> second = Batch(1, "b");
  two.insert(two.end(), second.begin(), second.end());
  EXPECT_EQ(Produce("refuse", 0, two).first, Code(ErrorCode::kInvalidRecord));
  // A corrupt batch (CRC).
  std::vector<uint8_t> bad = Batch(2, "c");
  bad.back() ^= 0xFF;
  EXPECT_EQ(Produce("refuse", 0, bad).first, Code(ErrorCode::kCorruptMessage));
  EXPECT_EQ(Produce("nope", 0, Batch(1, "d")).first, Code(ErrorCode::kUnknownTopicOrPartition));
  EXPECT_EQ(Produce("refuse", 5, Batch(1, "d")).first,
            Code(ErrorCode::kUnknownTopicOrPartition));
  ProduceRequest acks = OneBatch("refuse", 0, Batch(1, "e"), /*acks=*/2);
  auto resp = kc_->Call<ProduceResponse>(acks, 9);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->responses[0].partition_responses[0].error_code,
            Code(ErrorCode::kInvalidRequiredAcks));
  // Nothing of the above was stored.
  EXPECT_EQ(EndOffset("refuse", 0), 0);
  EXPECT_EQ(Produce("refuse", 0, Batch(3, "ok")), Ok(0));
  EXPECT_EQ(EndOffset("refuse", 0), 3);
  // zstd before Produce v7 (KIP-110), as Kafka.
  std::vector<uint8_t> zstd = Batch(1, "z");
  PutI16(zstd.data() + batch_layout::kAttributes, 4);
  PutU32(zstd.data() + batch_layout::kCrc,
         Crc32c(zstd.data() + batch_layout::kCrcStart, zstd.size() - batch_layout::kCrcStart));
  EXPECT_EQ(Produce("refuse", 0, zstd, 6).first, Code(ErrorCode::kUnsupportedCompressionType));
  // Produce v0-v2 carrying a RecordBatch v2 are served (librdkafka needs
  // the range to start at v0 before it compresses with gzip/snappy/lz4).
  EXPECT_EQ(Produce("refuse", 0, Batch(2, "old"), 0), Ok(3));
  EXPECT_EQ(Produce("refuse", 0, Batch(2, "old"), 2), Ok(5));
}

TEST_F(KafkaProtocolTest, LogAppendTimeTopicsAreStampedByTheBroker) {
  CreateTopicsRequest req;
  CreateTopicsRequest::CreatableTopic t;
  t.name = "lat";
  t.num_partitions = 1;
  t.replication_factor = 1;
  t.configs.push_back({"message.timestamp.type", std::string_view("LogAppendTime")});
  req.topics.push_back(t);
  auto created = kc_->Call<CreateTopicsResponse>(req, 7);
  ASSERT_TRUE(created);
  ASSERT_EQ(created->topics.at(0).error_code, 0);
  const int64_t before = WallMillis();
  RecordBatchBuilder b(1000);  // the client says 1970
  b.Add(std::nullopt, "x", 1000);
  auto resp = kc_->Call<ProduceResponse>(OneBatch("lat", 0, b.Build()), 9);
  ASSERT_TRUE(resp);
  const auto& p = resp->responses.at(0).partition_responses.at(0);
  ASSERT_EQ(p.error_code, 0);
  EXPECT_GE(p.log_append_time_ms, before);
  EXPECT_LE(p.log_append_time_ms, WallMillis());
  FetchRequest f;
  FetchRequest::FetchTopic ft;
  ft.topic = "lat";
  ft.partitions.push_back({0, -1, 0, -1, -1, 1 << 20});
  f.topics.push_back(ft);
  auto fetched = kc_->Call<FetchResponse>(f, 12);
  ASSERT_TRUE(fetched);
  const auto& records = fetched->responses.at(0).partitions.at(0).records;
  ASSERT_TRUE(records && !records->data.empty());
  RecordBatchView view;
  ASSERT_TRUE(RecordBatchView::Parse(records->data.data(), records->data.size(), &view).ok());
  EXPECT_TRUE(view.log_append_time());
  EXPECT_EQ(view.max_timestamp(), p.log_append_time_ms);  // and the CRC still checks
  // Unknown values are refused.
  t.name = "lat2";
  t.configs = {{"message.timestamp.type", std::string_view("Tuesday")}};
  req.topics = {t};
  created = kc_->Call<CreateTopicsResponse>(req, 7);
  ASSERT_TRUE(created);
  EXPECT_EQ(created->topics.at(0).error_code, Code(ErrorCode::kInvalidConfig));
}

TEST_F(KafkaProtocolTest, IdempotentRetryIsStoredOnce) {
  CreateTopic("idem", 1);
  InitProducerIdRequest init;
  init.transaction_timeout_ms = 60000;
  auto pid = kc_->Call<InitProducerIdResponse>(init, 4);
  ASSERT_TRUE(pid);
  ASSERT_EQ(pid->error_code, 0);
  ASSERT_GE(pid->producer_id, 0);
  const auto b0 = Batch(5, "x", pid->producer_id, 0, 0);
  const auto b1 = Batch(5, "y", pid->producer_id, 0, 5);
  EXPECT_EQ(Produce("idem", 0, b0), Ok(0));
  // The answer was lost; the client retries the same batch: same offset.
  EXPECT_EQ(Produce("idem", 0, b0), Ok(0));
  EXPECT_EQ(Produce("idem", 0, b1), Ok(5));
  EXPECT_EQ(Produce("idem", 0, b0), Ok(0));
  EXPECT_EQ(EndOffset("idem", 0), 10);
  // A gap in the sequence, and an older epoch after a newer one.
  EXPECT_EQ(Produce("idem", 0, Batch(1, "z", pid->producer_id, 0, 42)).first,
            Code(ErrorCode::kOutOfOrderSequenceNumber));
  EXPECT_EQ(Produce("idem", 0, Batch(1, "z", pid->producer_id, 1, 3)).first,
            Code(ErrorCode::kOutOfOrderSequenceNumber));  // a new epoch starts at 0
  EXPECT_EQ(Produce("idem", 0, Batch(1, "z", pid->producer_id, 1, 0)).first, 0);
  EXPECT_EQ(Produce("idem", 0, Batch(1, "z", pid->producer_id, 0, 10)).first,
            Code(ErrorCode::kInvalidProducerEpoch));
  EXPECT_EQ(EndOffset("idem", 0), 11);
  // A second InitProducerId hands out a different id.
  auto pid2 = kc_->Call<InitProducerIdResponse>(init, 4);
  ASSERT_TRUE(pid2);
  EXPECT_NE(pid2->producer_id, pid->producer_id);
}

TEST_F(KafkaProtocolTest, RetryAfterADroppedConnectionIsStoredOnce) {
  CreateTopic("drop", 1);
  auto pid = kc_->Call<InitProducerIdResponse>(InitProducerIdRequest{}, 4);
  ASSERT_TRUE(pid && pid->error_code == 0);
  const auto batch = Batch(4, "d", pid->producer_id, 0, 0);
  {
    // The producer sends, and its connection dies before it reads the answer.
    KafkaTestClient lost(broker_->kafka_port());
    lost.Send(OneBatch("drop", 0, batch), 9);
    lost.Close();
  }
  // Whether or not the broker appended it before noticing, the retry on a
  // new connection leaves exactly one copy, at offset 0.
  KafkaTestClient retry(broker_->kafka_port());
  auto resp = retry.Call<ProduceResponse>(OneBatch("drop", 0, batch), 9);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->responses.at(0).partition_responses.at(0).error_code, 0);
  EXPECT_EQ(resp->responses.at(0).partition_responses.at(0).base_offset, 0);
  EXPECT_EQ(EndOffset("drop", 0), 4);
}

TEST_F(KafkaProtocolTest, IdempotenceSurvivesCleanRestartAndKill) {
  CreateTopic("idem2", 1);
  auto pid = kc_->Call<InitProducerIdResponse>(InitProducerIdRequest{}, 4);
  ASSERT_TRUE(pid && pid->error_code == 0);
  const int64_t id = pid->producer_id;
  int32_t seq = 0;
  std::vector<std::vector<uint8_t>> sent;
  auto send_next = [&] {
    sent.push_back(Batch(3, "s" + std::to_string(seq), id, 0, seq));
    auto r = Produce("idem2", 0, sent.back());
    seq += 3;
    return r;
  };
  for (int i = 0; i < 4; i++) ASSERT_EQ(send_next().first, 0);
  ASSERT_EQ(broker_->Stop(), 0);  // clean: the snapshot carries the state
  ASSERT_TRUE(broker_->Start());
  kc_ = std::make_unique<KafkaTestClient>(broker_->kafka_port());
  EXPECT_EQ(Produce("idem2", 0, sent.back()), Ok(9));
  for (int i = 0; i < 3; i++) ASSERT_EQ(send_next().first, 0);
  broker_->Kill();  // acks=-1 answers were durable; the state is rebuilt from the log
  ASSERT_TRUE(broker_->Start());
  kc_ = std::make_unique<KafkaTestClient>(broker_->kafka_port());
  EXPECT_EQ(Produce("idem2", 0, sent.back()), Ok(18));
  EXPECT_EQ(Produce("idem2", 0, sent[sent.size() - 2]),
            Ok(15));
  EXPECT_EQ(EndOffset("idem2", 0), 21);
  ASSERT_EQ(send_next(), Ok(21));
}

TEST_F(KafkaProtocolTest, FetchLongPollWakesOnAnyPartition) {
  CreateTopic("poll", 2);
  FetchRequest req;
  req.max_wait_ms = 10000;
  req.min_bytes = 1;
  req.max_bytes = 1 << 20;
  FetchRequest::FetchTopic t;
  t.topic = "poll";
  t.partitions.push_back({0, -1, 0, -1, -1, 1 << 20});
  t.partitions.push_back({1, -1, 0, -1, -1, 1 << 20});
  req.topics.push_back(t);
  const int32_t corr = kc_->Send(req, 11);
  ASSERT_TRUE(kc_->NothingWithin(200));  // parked: no data anywhere yet
  KafkaTestClient producer(broker_->kafka_port());
  auto pr = producer.Call<ProduceResponse>(OneBatch("poll", 1, Batch(2, "w"), 1), 9);
  ASSERT_TRUE(pr);
  const auto start = std::chrono::steady_clock::now();
  auto resp = kc_->Receive<FetchResponse>(11, corr, false);
  ASSERT_TRUE(resp);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  ASSERT_EQ(resp->responses.size(), 1u);
  const auto& parts = resp->responses[0].partitions;
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].high_watermark, 0);
  EXPECT_EQ(parts[1].high_watermark, 2);
  ASSERT_TRUE(parts[1].records);
  BatchSetSummary s;
  ASSERT_TRUE(ValidateBatches(parts[1].records->data, &s).ok());
  EXPECT_EQ(s.record_count, 2);
}

TEST_F(KafkaProtocolTest, FetchPastTheEndIsOffsetOutOfRange) {
  CreateTopic("range", 1);
  ASSERT_EQ(Produce("range", 0, Batch(2, "r")).first, 0);
  FetchRequest req;
  req.max_wait_ms = 0;
  FetchRequest::FetchTopic t;
  t.topic = "range";
  t.partitions.push_back({0, -1, 50, -1, -1, 1 << 20});
  req.topics.push_back(t);
  auto resp = kc_->Call<FetchResponse>(req, 12);
  ASSERT_TRUE(resp);
  const auto& p = resp->responses.at(0).partitions.at(0);
  EXPECT_EQ(p.error_code, Code(ErrorCode::kOffsetOutOfRange));
  EXPECT_EQ(p.log_start_offset, 0);
  EXPECT_EQ(p.high_watermark, 2);
  // Empty, never null: librdkafka drops a whole response over a null one.
  ASSERT_TRUE(p.records.has_value());
  EXPECT_TRUE(p.records->data.empty());
}

TEST_F(KafkaProtocolTest, ListOffsetsByTimestampFindsTheRecordNotTheBatch) {
  CreateTopic("times", 1);
  const int64_t t = 1700000000000;
  RecordBatchBuilder b(t);
  b.Add(std::nullopt, "a", t);
  b.Add(std::nullopt, "b", t + 10);
  b.Add(std::nullopt, "c", t + 20);
  ASSERT_EQ(Produce("times", 0, b.Build()).first, 0);
  auto lookup = [&](int64_t ts) {
    ListOffsetsRequest req;
    req.replica_id = -1;
    ListOffsetsRequest::ListOffsetsTopic topic;
    topic.name = "times";
    topic.partitions.push_back({0, -1, ts});
    req.topics.push_back(topic);
    auto resp = kc_->Call<ListOffsetsResponse>(req, 7);
    EXPECT_TRUE(resp);
    const auto& p = resp->topics.at(0).partitions.at(0);
    EXPECT_EQ(p.error_code, 0);
    return std::make_pair(p.offset, p.timestamp);
  };
  EXPECT_EQ(lookup(t), std::make_pair(int64_t{0}, t));
  EXPECT_EQ(lookup(t + 5), std::make_pair(int64_t{1}, t + 10));
  EXPECT_EQ(lookup(t + 20), std::make_pair(int64_t{2}, t + 20));
  // Nothing that new: -1 and -1 (not the log end), as Kafka.
  EXPECT_EQ(lookup(t + 21), std::make_pair(int64_t{-1}, int64_t{-1}));
  // -3: the newest record's batch (its last offset).
  EXPECT_EQ(lookup(-3), std::make_pair(int64_t{2}, t + 20));
}

TEST_F(KafkaProtocolTest, CreateTopicsValidateOnlyAndRefusals) {
  CreateTopicsRequest req;
  req.validate_only = true;
  CreateTopicsRequest::CreatableTopic ok;
  ok.name = "vo";
  ok.num_partitions = 2;
  ok.replication_factor = -1;
  CreateTopicsRequest::CreatableTopic rf = ok;
  rf.name = "rf3";
  rf.replication_factor = 3;
  CreateTopicsRequest::CreatableTopic cfg = ok;
  cfg.name = "cfg";
  cfg.configs.push_back({"no.such.config", std::string_view("1")});
  CreateTopicsRequest::CreatableTopic bad = ok;
  bad.name = "bad/name";
  req.topics = {ok, rf, cfg, bad};
  auto resp = kc_->Call<CreateTopicsResponse>(req, 7);
  ASSERT_TRUE(resp);
  ASSERT_EQ(resp->topics.size(), 4u);
  EXPECT_EQ(resp->topics[0].error_code, 0);
  EXPECT_EQ(resp->topics[0].num_partitions, 2);
  EXPECT_EQ(resp->topics[1].error_code, Code(ErrorCode::kInvalidReplicationFactor));
  EXPECT_EQ(resp->topics[2].error_code, Code(ErrorCode::kInvalidConfig));
  EXPECT_EQ(resp->topics[3].error_code, Code(ErrorCode::kInvalidTopicException));
  // validate_only created nothing.
  auto meta = kc_->Call<MetadataResponse>(MetadataRequest{}, 12);
  ASSERT_TRUE(meta);
  EXPECT_TRUE(meta->topics.empty());
  CreateTopic("vo", 2);
  req.validate_only = false;
  req.topics = {ok};
  resp = kc_->Call<CreateTopicsResponse>(req, 7);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->topics[0].error_code, Code(ErrorCode::kTopicAlreadyExists));
}

TEST_F(KafkaProtocolTest, OffsetCommitAndFetchStandalone) {
  CreateTopic("commits", 2);
  OffsetCommitRequest req;
  req.group_id = "g";
  req.generation_id_or_member_epoch = -1;
  OffsetCommitRequest::OffsetCommitRequestTopic t;
  t.name = "commits";
  t.partitions.push_back({0, 7, -1, -1, std::string_view("meta")});
  t.partitions.push_back({1, 9, -1, -1, std::nullopt});
  req.topics.push_back(t);
  auto resp = kc_->Call<OffsetCommitResponse>(req, 8);
  ASSERT_TRUE(resp);
  ASSERT_EQ(resp->topics.at(0).partitions.size(), 2u);
  EXPECT_EQ(resp->topics[0].partitions[0].error_code, 0);
  EXPECT_EQ(resp->topics[0].partitions[1].error_code, 0);
  // A generation of a group that never formed: the (now Empty) group knows
  // no such member, as Kafka answers; of a group never heard of: stale.
  req.generation_id_or_member_epoch = 3;
  resp = kc_->Call<OffsetCommitResponse>(req, 8);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->topics[0].partitions[0].error_code, Code(ErrorCode::kUnknownMemberId));
  req.group_id = "never-seen";
  resp = kc_->Call<OffsetCommitResponse>(req, 8);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->topics[0].partitions[0].error_code, Code(ErrorCode::kIllegalGeneration));
  req.group_id = "g";

  OffsetFetchRequest f;
  f.group_id = "g";  // v1-v7: null topics (v2+) means all of the group's
  auto all = kc_->Call<OffsetFetchResponse>(f, 7);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->topics.size(), 1u);
  ASSERT_EQ(all->topics[0].partitions.size(), 2u);
  EXPECT_EQ(all->topics[0].partitions[0].committed_offset, 7);
  EXPECT_EQ(all->topics[0].partitions[0].metadata, "meta");
  EXPECT_EQ(all->topics[0].partitions[1].committed_offset, 9);
  OffsetFetchRequest v8;
  OffsetFetchRequest::OffsetFetchRequestGroup g;
  g.group_id = "g";
  g.topics.emplace();
  g.topics->push_back({"commits", {1}});
  v8.groups.push_back(g);
  auto one = kc_->Call<OffsetFetchResponse>(v8, 8);
  ASSERT_TRUE(one);
  EXPECT_EQ(one->groups.at(0).topics.at(0).partitions.at(0).committed_offset, 9);
}

TEST_F(KafkaProtocolTest, DescribeConfigsOfTopicAndBroker) {
  CreateTopicsRequest req;
  CreateTopicsRequest::CreatableTopic t;
  t.name = "described";
  t.num_partitions = 1;
  t.replication_factor = 1;
  t.configs.push_back({"retention.ms", std::string_view("1234")});
  req.topics.push_back(t);
  ASSERT_TRUE(kc_->Call<CreateTopicsResponse>(req, 7));
  DescribeConfigsRequest d;
  d.resources.push_back({2, "described", std::nullopt});
  d.resources.push_back({4, "0", std::vector<std::string_view>{"kafka.port"}});
  auto resp = kc_->Call<DescribeConfigsResponse>(d, 4);
  ASSERT_TRUE(resp);
  ASSERT_EQ(resp->results.size(), 2u);
  bool found = false;
  for (const auto& c : resp->results[0].configs) {
    if (c.name == "retention.ms") {
      found = true;
      EXPECT_EQ(c.value, "1234");
      EXPECT_EQ(c.config_source, 1);  // the topic's own setting
    }
  }
  EXPECT_TRUE(found);
  ASSERT_EQ(resp->results[1].configs.size(), 1u);
  EXPECT_EQ(resp->results[1].configs[0].value, "0");  // the test broker asked for port 0
}

}  // namespace
}  // namespace sentry::testing

namespace sentry::testing {
namespace {

class KafkaAutoCreateTest : public KafkaProtocolTest {
 protected:
  std::vector<std::string> ExtraArgs() override {
    return {"--auto.create.topics.enable", "true", "--num.partitions", "3"};
  }
};

TEST_F(KafkaAutoCreateTest, MetadataCreatesUnknownTopicsWhenAllowed) {
  MetadataRequest req;
  req.topics.emplace();
  MetadataRequest::MetadataRequestTopic t;
  t.name = "auto";
  req.topics->push_back(t);
  req.allow_auto_topic_creation = false;
  auto resp = kc_->Call<MetadataResponse>(req, 9);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->topics.at(0).error_code, Code(ErrorCode::kUnknownTopicOrPartition));
  req.allow_auto_topic_creation = true;
  resp = kc_->Call<MetadataResponse>(req, 9);  // answered once the topic exists
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->topics.at(0).error_code, 0);
  EXPECT_EQ(resp->topics.at(0).partitions.size(), 3u);
  EXPECT_EQ(Produce("auto", 2, Batch(1, "a")), Ok(0));
}

}  // namespace
}  // namespace sentry::testing
