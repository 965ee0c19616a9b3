// A minimal blocking Kafka protocol client for tests: one TCP connection,
// requests encoded with the broker's own generated codecs (so a test can
// send exactly the version and bytes it wants), responses decoded likewise.
// Real clients (kcat, kafka-python, confluent-kafka) are tested separately;
// this one exists to reach corners they never send.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/endian.h"
#include "kafka/header.h"
#include "kafka/messages.h"
#include "storage/record_batch_builder.h"

namespace sentry::kafka::test {

class KafkaTestClient {
 public:
  explicit KafkaTestClient(int port, int timeout_ms = 10000) : timeout_ms_(timeout_ms) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    int one = 1;
    if (fd_ >= 0) ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~KafkaTestClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return fd_ >= 0; }

  // Encodes and sends `req` at `version` with a fresh correlation id; returns it.
  template <typename Req>
  int32_t Send(const Req& req, int16_t version) {
    std::vector<uint8_t> body;
    Writer w(&body);
    w.Int16(Req::kApiKey);
    w.Int16(version);
    const int32_t corr = next_corr_++;
    w.Int32(corr);
    w.NullableString(false, std::optional<std::string_view>("sentry-test"));
    if (version >= Req::kFirstFlexibleVersion) w.EmptyTaggedFields();
    Encode(w, version, req);
    SendFrame(body);
    return corr;
  }

  // Sends raw frame body bytes (the 4-byte length is added).
  bool SendFrame(const std::vector<uint8_t>& body) {
    std::vector<uint8_t> frame(4);
    PutU32(frame.data(), static_cast<uint32_t>(body.size()));
    frame.insert(frame.end(), body.begin(), body.end());
    return ::send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(frame.size());
  }

  // Reads one response frame body; nullopt on timeout or a closed connection.
  std::optional<std::vector<uint8_t>> ReadFrame() {
    uint8_t len[4];
    if (!ReadExact(len, 4)) return std::nullopt;
    std::vector<uint8_t> body(GetU32(len));
    if (!ReadExact(body.data(), body.size())) return std::nullopt;
    return body;
  }

  // Reads a response to `Req`-at-`version`; checks the correlation id.
  // Records fields of the answer view its frame, kept until the next Receive.
  template <typename Resp>
  std::optional<Resp> Receive(int16_t version, int32_t corr, bool flexible_header) {
    auto frame = ReadFrame();
    if (!frame) return std::nullopt;
    last_frame_ = std::move(*frame);
    Reader r(last_frame_);
    int32_t got = 0;
    if (!r.Int32(&got) || got != corr) return std::nullopt;
    if (flexible_header && !r.SkipTaggedFields()) return std::nullopt;
    Resp resp;
    if (!Decode(r, version, &resp) || !r.Done()) return std::nullopt;
    return resp;
  }

  template <typename Resp, typename Req>
  std::optional<Resp> Call(const Req& req, int16_t version) {
    const int32_t corr = Send(req, version);
    const bool flex = Req::kApiKey != kApiVersionsKey && version >= Req::kFirstFlexibleVersion;
    return Receive<Resp>(version, corr, flex);
  }

  // True when the broker closed the connection (EOF within the timeout).
  bool WaitClosed() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms_) <= 0) return false;
    char c;
    return ::recv(fd_, &c, 1, 0) == 0;
  }

  // True when nothing arrives within `ms` (e.g. a fetch is parked).
  bool NothingWithin(int ms) {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, ms) == 0;
  }

  // Half of a test's "drop the connection": closes the socket now.
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  bool ReadExact(uint8_t* p, size_t n) {
    while (n > 0) {
      pollfd pf{fd_, POLLIN, 0};
      if (::poll(&pf, 1, timeout_ms_) <= 0) return false;
      ssize_t r = ::recv(fd_, p, n, 0);
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }

  int fd_ = -1;
  int timeout_ms_;
  std::vector<uint8_t> last_frame_;
  int32_t next_corr_ = 1;
};

// One produce request for one partition holding (a copy of) `batch`.
inline ProduceRequest OneBatch(std::string_view topic, int32_t partition,
                               const std::vector<uint8_t>& batch, int16_t acks = -1) {
  auto copy = std::make_shared<std::vector<uint8_t>>(batch);
  ProduceRequest req;
  req.acks = acks;
  req.timeout_ms = 10000;
  ProduceRequest::TopicProduceData t;
  t.name = topic;
  ProduceRequest::PartitionProduceData p;
  p.index = partition;
  p.records = Records{*copy, copy};
  t.partition_data.push_back(p);
  req.topic_data.push_back(t);
  return req;
}

}  // namespace sentry::kafka::test
