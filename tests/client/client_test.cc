// client::Producer / Consumer against a real sentryd, and the producer's
// retry path against a scripted fake broker (a real one cannot be made to
// fail on cue).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <thread>

#include "client/admin.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "common/endian.h"
#include "integration/broker_fixture.h"
#include "protocol/errors.h"
#include "protocol/messages.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"
#include "test_util.h"

namespace sentry::client {
namespace {

using testing::BrokerProcess;

class ClientTest : public testing::BrokerFixture {
 protected:
  ProducerOptions PO() {
    ProducerOptions o;
    o.port = broker_->port();
    return o;
  }
  ConsumerOptions CO() {
    ConsumerOptions o;
    o.port = broker_->port();
    return o;
  }
  // Everything in the topic, via Consumer.
  std::vector<ConsumerRecord> ReadAll(const std::string& topic, size_t expected) {
    auto c = Consumer::Create(CO(), topic, {}, StartPosition{});
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    std::vector<ConsumerRecord> all;
    while (all.size() < expected) {
      auto r = c.value()->Poll(5000);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok() || r->empty()) break;
      all.insert(all.end(), r->begin(), r->end());
    }
    return all;
  }

};

TEST_F(ClientTest, ProducerKeepsPerPartitionOrderAcrossManyBatches) {
  Admin admin(client_.get());
  ASSERT_TRUE(admin.CreateTopic("ordered", 3).ok());
  ProducerOptions o = PO();
  o.acks = 1;
  o.batch_size = 512;  // many small batches, many requests
  auto p = Producer::Create(o, "ordered");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  int64_t reported = 0;
  p.value()->set_delivery_callback([&](const DeliveryReport& r) {
    EXPECT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_GE(r.base_offset, 0);
    reported += r.records;
  });
  constexpr int kRecords = 20000;
  for (int i = 0; i < kRecords; i++) {
    ASSERT_TRUE(p.value()->Send(std::nullopt, std::to_string(i)).ok());
  }
  ASSERT_TRUE(p.value()->Flush().ok());
  EXPECT_EQ(reported, kRecords);
  EXPECT_EQ(p.value()->records_delivered(), kRecords);
  auto all = ReadAll("ordered", kRecords);
  ASSERT_EQ(all.size(), static_cast<size_t>(kRecords));
  std::map<int32_t, int> last;
  for (auto& r : all) {
    const int v = std::stoi(*r.value);
    EXPECT_EQ(v % 3, r.partition) << "round-robin over 3 partitions";
    auto it = last.find(r.partition);
    if (it != last.end()) {
      EXPECT_GT(v, it->second) << "reordered in partition " << r.partition;
    }
    last[r.partition] = v;
  }
}

TEST_F(ClientTest, KeyedRecordLandsWhereTheBrokerPartitionerPutsIt) {
  Admin admin(client_.get());
  ASSERT_TRUE(admin.CreateTopic("keys", 5).ok());
  auto p = Producer::Create(PO(), "keys");
  ASSERT_TRUE(p.ok());
  std::map<std::string, int32_t> producer_choice;
  int32_t last_partition = -1;
  p.value()->set_delivery_callback([&](const DeliveryReport& r) { last_partition = r.partition; });
  for (std::string key : {"alpha", "beta", "gamma", "delta", "k-1234"}) {
    ASSERT_TRUE(p.value()->Send(key, "from-producer").ok());
    ASSERT_TRUE(p.value()->Flush().ok());
    producer_choice[key] = last_partition;
    // The same key with partition -1: the broker chooses.
    RecordBatchBuilder b;
    b.Add(key, "from-broker");
    auto r = client_->Produce("keys", -1, 1, b.Build());
    ASSERT_TRUE(r.ok() && r->ok());
    EXPECT_EQ(r->body.partition, producer_choice[key]) << key;
  }
}

TEST_F(ClientTest, AcksZeroAndMinusOneDeliver) {
  Admin admin(client_.get());
  ASSERT_TRUE(admin.CreateTopic("acks", 1).ok());
  for (int16_t acks : {int16_t{0}, int16_t{-1}}) {
    ProducerOptions o = PO();
    o.acks = acks;
    auto p = Producer::Create(o, "acks");
    ASSERT_TRUE(p.ok());
    for (int i = 0; i < 100; i++) ASSERT_TRUE(p.value()->Send(std::nullopt, "x").ok());
    ASSERT_TRUE(p.value()->Flush().ok());
  }
  // acks=0 gets no answer, but a later acks=-1 request on the same partition is
  // appended after it, so both sets are in the log.
  EXPECT_EQ(admin.ListOffset("acks", 0, -1).value(), 200);
}

TEST_F(ClientTest, ProducerToUnknownTopicFailsWithItsName) {
  auto p = Producer::Create(PO(), "missing");
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(p.status().IsNotFound());
  EXPECT_NE(p.status().message().find("UNKNOWN_TOPIC_OR_PARTITION"), std::string::npos);
}

TEST_F(ClientTest, ConsumerStartsAtOffsetTimestampAndCommittedOffset) {
  Admin admin(client_.get());
  ASSERT_TRUE(admin.CreateTopic("pos", 1).ok());
  for (int i = 0; i < 4; i++) {  // one batch per request: 3 records, timestamps 1000*(i+1)
    auto r = client_->Produce("pos", 0, 1, testing::MakeBatch(3, 4, 1000 * (i + 1), 3 * i));
    ASSERT_TRUE(r.ok() && r->ok());
  }
  // Offset 4 is inside the second batch (3-5): records 3 must be skipped.
  auto c = Consumer::Create(CO(), "pos", {0}, StartPosition{StartPosition::Kind::kOffset, 4});
  ASSERT_TRUE(c.ok());
  auto r = c.value()->Poll(5000);
  ASSERT_TRUE(r.ok());
  ASSERT_FALSE(r->empty());
  EXPECT_EQ(r->front().offset, 4);
  // Timestamp 2500: first batch whose max timestamp >= 2500 is the third (offset 6).
  c = Consumer::Create(CO(), "pos", {0}, StartPosition{StartPosition::Kind::kTimestamp, 2500});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.value()->position(0), 6);
  // Latest, then a long poll that times out empty.
  c = Consumer::Create(CO(), "pos", {0}, StartPosition{StartPosition::Kind::kLatest, 0});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.value()->position(0), 12);
  r = c.value()->Poll(100);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  // A group resumes where it committed.
  ConsumerOptions g = CO();
  g.group = "grp";
  c = Consumer::Create(g, "pos", {}, StartPosition{});
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(c.value()->Seek(0, 7).ok());
  ASSERT_TRUE(c.value()->Commit().ok());
  c = Consumer::Create(g, "pos", {}, StartPosition{});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c.value()->position(0), 7);
}

TEST_F(ClientTest, ConsumerOffsetOutOfRangeNamesTheError) {
  Admin admin(client_.get());
  ASSERT_TRUE(admin.CreateTopic("oor", 1).ok());
  auto c = Consumer::Create(CO(), "oor", {0}, StartPosition{StartPosition::Kind::kOffset, 50});
  ASSERT_TRUE(c.ok());
  auto r = c.value()->Poll(1000);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("OFFSET_OUT_OF_RANGE"), std::string::npos)
      << r.status().ToString();
}

TEST_F(ClientTest, ProducerGivesUpAfterRetriesWhenTheBrokerIsGone) {
  Admin admin(client_.get());
  ASSERT_TRUE(admin.CreateTopic("gone", 1).ok());
  ProducerOptions o = PO();
  o.retries = 2;
  o.retry_backoff_ms = 1;
  auto p = Producer::Create(o, "gone");
  ASSERT_TRUE(p.ok());
  client_.reset();
  ASSERT_EQ(broker_->Stop(), 0);
  for (int i = 0; i < 10; i++) {
    Status s = p.value()->Send(std::nullopt, "x");
    (void)s;  // may already report the failure
  }
  Status s = p.value()->Flush(20000);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot connect"), std::string::npos) << s.ToString();
  EXPECT_EQ(p.value()->records_failed(), 10);
}

TEST_F(ClientTest, IdempotentBatchResentAfterALostAnswerIsStoredOnce) {
  Admin admin(client_.get());
  ASSERT_TRUE(admin.CreateTopic("idem", 1).ok());
  auto id = client_->InitProducerId();
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  ASSERT_EQ(id->error, 0);
  EXPECT_GE(id->body.producer_id, 0);
  auto again = client_->InitProducerId();
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->body.producer_id, id->body.producer_id);  // always a new id
  auto batch = [&](int32_t sequence, const std::string& v) {
    RecordBatchBuilder b;
    b.Add(std::nullopt, v);
    b.Add(std::nullopt, v + "'");
    b.SetProducer(id->body.producer_id, id->body.producer_epoch, sequence);
    return b.Build();
  };
  const auto first = batch(0, "a");
  auto r1 = client_->Produce("idem", 0, -1, first);
  ASSERT_TRUE(r1.ok());
  ASSERT_EQ(r1->error, 0);
  // The answer was "lost": the same batch again is the same two records.
  auto r2 = client_->Produce("idem", 0, -1, first);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->error, 0);
  EXPECT_EQ(r2->body.base_offset, r1->body.base_offset);
  // A gap in the sequence is refused with its own code, nothing stored.
  auto gap = client_->Produce("idem", 0, -1, batch(5, "c"));
  ASSERT_TRUE(gap.ok());
  EXPECT_EQ(gap->error, static_cast<int16_t>(protocol::ErrorCode::kOutOfOrderSequence));
  auto next = client_->Produce("idem", 0, -1, batch(2, "b"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->error, 0);
  auto all = ReadAll("idem", 4);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(*all[0].value, "a");
  EXPECT_EQ(*all[2].value, "b");
}

TEST_F(ClientTest, IdempotentProducerNumbersItsBatches) {
  Admin admin(client_.get());
  ASSERT_TRUE(admin.CreateTopic("idem2", 2).ok());
  ProducerOptions o = PO();
  o.enable_idempotence = true;
  o.batch_size = 200;  // many batches per partition
  auto p = Producer::Create(o, "idem2");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  for (int i = 0; i < 200; i++) {
    ASSERT_TRUE(p.value()->Send(std::nullopt, "v" + std::to_string(i), i % 2).ok());
  }
  ASSERT_TRUE(p.value()->Flush().ok());
  EXPECT_EQ(p.value()->records_delivered(), 200);
  EXPECT_EQ(ReadAll("idem2", 200).size(), 200u);
  // Stored with the producer's id and sequences that count the partition's
  // records from 0 (a gap would have been refused).
  auto f = client_->Fetch("idem2", 0, 0);
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->error, 0);
  const auto& bytes = f->body.records;
  int32_t expected_sequence = 0;
  int batches = 0;
  for (size_t pos = 0; pos < bytes.size();) {
    RecordBatchView v;
    ASSERT_TRUE(RecordBatchView::Parse(bytes.data() + pos, bytes.size() - pos, &v).ok());
    EXPECT_GE(v.producer_id(), 0);
    EXPECT_EQ(v.base_sequence(), expected_sequence);
    expected_sequence += v.records_count();
    pos += v.TotalSize();
    batches++;
  }
  EXPECT_EQ(expected_sequence, 100);
  EXPECT_GT(batches, 1);
}

// A broker that answers METADATA with one partition and plays a script for
// PRODUCE: drop the connection on the first request, KAFKA_STORAGE_ERROR on
// the second, then append. It records the values it appended, in order.
class ScriptedBroker {
 public:
  ScriptedBroker() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::listen(fd_, 8);
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedBroker() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<std::string> appended;  // read after the producer flushed
  int produce_requests = 0;

 private:
  static bool ReadN(int fd, uint8_t* p, size_t n) {
    while (n > 0) {
      ssize_t r = ::recv(fd, p, n, 0);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }
  void Serve() {
    while (true) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      ServeConnection(c);
      ::close(c);
    }
  }
  void ServeConnection(int c) {
    while (true) {
      uint8_t len_buf[4];
      if (!ReadN(c, len_buf, 4)) return;
      std::vector<uint8_t> frame(GetU32(len_buf));
      if (!ReadN(c, frame.data(), frame.size())) return;
      protocol::RequestHeader h{GetU16(frame.data()), GetU16(frame.data() + 2),
                                GetU32(frame.data() + 4)};
      protocol::ByteReader rd(frame.data() + 8, frame.size() - 8);
      std::vector<uint8_t> out;
      protocol::ByteWriter w(&out);
      if (h.api_key == static_cast<uint16_t>(protocol::ApiKey::kDescribeCluster)) {
        // A single-node broker leading partition 0 of "t".
        size_t s = protocol::BeginResponse(&w, h, 0);
        protocol::DescribeClusterResponse m{0, 0, {{0, "127.0.0.1", port_, -1}},
                                            {{"t", 0, {{0, 0, 0, {0}, {0}}}}}};
        protocol::Encode(&w, m);
        protocol::FinishFrame(&w, s);
      } else if (h.api_key == static_cast<uint16_t>(protocol::ApiKey::kProduce)) {
        protocol::ProduceRequest req;
        EXPECT_TRUE(protocol::Decode(&rd, &req));
        const int n = produce_requests++;
        if (n == 0) return;  // connection lost with the request unanswered
        if (n == 1) {
          size_t s = protocol::BeginResponse(&w, h, 56);  // KAFKA_STORAGE_ERROR
          protocol::FinishFrame(&w, s);
        } else {
          const int64_t base = static_cast<int64_t>(appended.size());
          size_t pos = 0;
          while (pos < req.records->size()) {
            RecordBatchView v;
            EXPECT_TRUE(RecordBatchView::Parse(req.records->data() + pos,
                                               req.records->size() - pos, &v).ok());
            std::vector<DecodedRecord> recs;
            EXPECT_TRUE(DecodeRecords(v.data(), v.TotalSize(), &recs).ok());
            for (auto& r : recs) appended.emplace_back(*r.value);
            pos += v.TotalSize();
          }
          size_t s = protocol::BeginResponse(&w, h, 0);
          protocol::Encode(&w, protocol::ProduceResponse{0, base, -1, 0});
          protocol::FinishFrame(&w, s);
        }
      } else {
        size_t s = protocol::BeginResponse(&w, h, 42);
        protocol::FinishFrame(&w, s);
      }
      ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
    }
  }
  int fd_;
  int port_ = 0;
  std::thread thread_;
};

TEST(ProducerRetryTest, ConnectionLossAndStorageErrorAreRetriedInOrder) {
  ScriptedBroker fake;
  ProducerOptions o;
  o.port = fake.port();
  o.acks = 1;
  o.batch_size = 200;  // several batches
  o.retry_backoff_ms = 1;
  auto p = Producer::Create(o, "t");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  std::vector<int64_t> offsets;
  p.value()->set_delivery_callback([&](const DeliveryReport& r) {
    EXPECT_TRUE(r.status.ok()) << r.status.ToString();
    offsets.push_back(r.base_offset);
  });
  std::vector<std::string> sent;
  for (int i = 0; i < 50; i++) {
    sent.push_back("record-" + std::to_string(i));
    ASSERT_TRUE(p.value()->Send(std::nullopt, sent.back()).ok());
  }
  Status s = p.value()->Flush(20000);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_GE(fake.produce_requests, 3);
  EXPECT_EQ(fake.appended, sent);  // every record once, in order, despite two failures
  EXPECT_TRUE(std::is_sorted(offsets.begin(), offsets.end()));
}

}  // namespace
}  // namespace sentry::client
