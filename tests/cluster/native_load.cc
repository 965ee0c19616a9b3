// The native C++ client under a failover loop (tests/cluster/failover_test.py):
//
//   native_load produce HOST:PORT TOPIC PREFIX
//       acks=-1 records "PREFIX%08d" to partition 0 until SIGTERM (an
//       idempotent producer: a resent batch is stored once), then
//       flushes; prints "ack OFFSET VALUE" for each acknowledged record,
//       "fail VALUE REASON" for each failed one and, every 2 s, "state ..."
//       (Producer::State(): leaders, last metadata answer, last retry).
//   native_load consume HOST:PORT TOPIC
//       reads partition 0 from offset 0 until SIGTERM; prints
//       "seen OFFSET VALUE" for each record.
//
// HOST:PORT is only where it starts: both follow the partition's leader
// (client::BrokerPool) when that broker dies. Exit status 0 unless the
// client itself gave up (a delivery failure is printed, not fatal).
#include <chrono>
#include <csignal>
#include <cstdio>
#include <deque>
#include <string>
#include <thread>

#include "client/consumer.h"
#include "client/producer.h"
#include "common/clock.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnTerm(int) { g_stop = 1; }

int Produce(const std::string& host, int port, const std::string& topic,
            const std::string& prefix) {
  using namespace sentry::client;
  ProducerOptions o;
  o.host = host;
  o.port = port;
  o.acks = -1;
  o.linger_ms = 5;
  o.request_timeout_ms = 10000;
  o.enable_idempotence = true;
  auto p = Producer::Create(o, topic);
  if (!p.ok()) {
    std::fprintf(stderr, "native_load: %s\n", p.status().ToString().c_str());
    return 1;
  }
  // One partition, delivered in order: the reports pop values in send order.
  std::deque<std::string> unreported;
  p.value()->set_delivery_callback([&](const DeliveryReport& r) {
    for (int32_t i = 0; i < r.records; i++) {
      if (r.status.ok()) {
        std::printf("ack %lld %s\n", static_cast<long long>(r.base_offset + i),
                    unreported.front().c_str());
      } else {
        std::printf("fail %s %s\n", unreported.front().c_str(), r.status.ToString().c_str());
      }
      unreported.pop_front();
    }
    std::fflush(stdout);
  });
  char value[32];
  int64_t next_state_ms = 0;
  for (int i = 0; !g_stop; i++) {
    if (const int64_t now = sentry::SteadyMillis(); now >= next_state_ms) {
      std::printf("state %s\n", p.value()->State().c_str());
      std::fflush(stdout);
      next_state_ms = now + 2000;
    }
    std::snprintf(value, sizeof value, "%s%08d", prefix.c_str(), i);
    unreported.emplace_back(value);
    (void)p.value()->Send(std::nullopt, std::string_view(value), 0);
    // About 1,000 records a second: enough to be caught by every kill.
    (void)p.value()->Poll(1);
  }
  sentry::Status s = p.value()->Flush(120000);
  if (!s.ok()) std::fprintf(stderr, "native_load: flush: %s\n", s.ToString().c_str());
  return unreported.empty() ? 0 : 1;
}

int Consume(const std::string& host, int port, const std::string& topic) {
  using namespace sentry::client;
  ConsumerOptions o;
  o.host = host;
  o.port = port;
  o.max_wait_ms = 200;
  // The topic was created through another broker: this one learns of it
  // within cluster.poll.ms. NotFound is retried for a while, not fatal.
  auto c = Consumer::Create(o, topic, {0}, StartPosition{StartPosition::Kind::kOffset, 0});
  for (int i = 0; i < 300 && !c.ok() && c.status().code() == sentry::Status::Code::kNotFound &&
                  !g_stop;
       i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    c = Consumer::Create(o, topic, {0}, StartPosition{StartPosition::Kind::kOffset, 0});
  }
  if (!c.ok()) {
    std::fprintf(stderr, "native_load: %s\n", c.status().ToString().c_str());
    return 1;
  }
  while (!g_stop) {
    auto records = c.value()->Poll(200);
    if (!records.ok()) {
      std::fprintf(stderr, "native_load: poll: %s\n", records.status().ToString().c_str());
      return 1;
    }
    for (const auto& r : records.value()) {
      std::printf("seen %lld %s\n", static_cast<long long>(r.offset),
                  r.value ? r.value->c_str() : "");
    }
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGTERM, OnTerm);
  std::signal(SIGINT, OnTerm);
  const std::string mode = argc > 1 ? argv[1] : "";
  if (argc < 4 || (mode == "produce" && argc < 5) || (mode != "produce" && mode != "consume")) {
    std::fprintf(stderr, "usage: native_load produce HOST:PORT TOPIC PREFIX | consume HOST:PORT TOPIC\n");
    return 2;
  }
  auto hp = sentry::client::ParseHostPort(argv[2]);
  if (!hp.ok()) {
    std::fprintf(stderr, "native_load: %s\n", hp.status().ToString().c_str());
    return 2;
  }
  const auto& [host, port] = hp.value();
  return mode == "produce" ? Produce(host, port, argv[3], argv[4]) : Consume(host, port, argv[3]);
}
