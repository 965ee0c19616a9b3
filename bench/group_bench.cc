// Consumer-group measurements against a running sentryd (bench/groups.sh):
//
//   group_bench rebalance HOST:PORT [MEMBERS] [PARTITIONS] [ROUNDS]
//     Native groups: MEMBERS GroupConsumers share a topic of PARTITIONS; each
//     round one member leaves (epoch -1) and the time until the others own
//     every partition again (disjointly) is measured. Prints the median.
//
//   group_bench commits HOST:PORT [GROUPS] [SECONDS]
//     Produce throughput (acks=1, 100-byte records in batches of 100) alone,
//     then while one connection commits offsets round-robin for GROUPS groups
//     (pipelined, 64 in flight). Prints both rates, their ratio and commits/s.
//
//   group_bench fill HOST:PORT GROUPS PARTITIONS COUNT
//     COUNT offset commits (pipelined, 64 in flight) spread round-robin over
//     GROUPS groups x PARTITIONS partitions of a new topic: fills the offsets
//     log for bench/offsets_restart.sh. Prints commits/s.
//
// One JSON line at the end of each mode.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "client/admin.h"
#include "client/client.h"
#include "client/group_consumer.h"
#include "common/clock.h"
#include "protocol/messages.h"
#include "storage/record_batch_builder.h"

namespace {

using namespace sentry;

bool Covered(const std::vector<std::unique_ptr<client::GroupConsumer>>& ms, int partitions) {
  std::set<int32_t> owned;
  for (const auto& m : ms) {
    for (int32_t p : m->assignment()) {
      if (!owned.insert(p).second) return false;
    }
  }
  return static_cast<int>(owned.size()) == partitions;
}

int Rebalance(const std::string& host, int port, int members, int partitions, int rounds) {
  auto c = client::Client::Connect(host, port);
  if (!c.ok()) return fmt::print(stderr, "{}\n", c.status().ToString()), 1;
  client::Admin admin(c->get());
  const std::string topic = fmt::format("rebalance-{}", SteadyMillis());
  if (Status s = admin.CreateTopic(topic, partitions); !s.ok()) {
    return fmt::print(stderr, "{}\n", s.ToString()), 1;
  }
  client::GroupConsumerOptions o;
  o.consumer.host = host;
  o.consumer.port = port;
  o.consumer.group = topic;
  o.consumer.max_wait_ms = 5;
  std::vector<std::unique_ptr<client::GroupConsumer>> ms;
  auto add = [&] {
    auto m = client::GroupConsumer::Create(o, topic);
    if (!m.ok()) {
      fmt::print(stderr, "{}\n", m.status().ToString());
      std::exit(1);
    }
    ms.push_back(std::move(m.value()));
  };
  auto settle = [&](int64_t timeout_ms) {
    const int64_t deadline = SteadyMillis() + timeout_ms;
    while (SteadyMillis() < deadline) {
      for (auto& m : ms) {
        if (auto r = m->Poll(0); !r.ok()) {
          fmt::print(stderr, "{}\n", r.status().ToString());
          std::exit(1);
        }
      }
      if (Covered(ms, partitions)) return true;
    }
    return false;
  };
  for (int i = 0; i < members; i++) add();
  if (!settle(30000)) return fmt::print(stderr, "the group never settled\n"), 1;
  std::vector<double> ms_taken;
  for (int r = 0; r < rounds; r++) {
    const int64_t t0 = SteadyMicros();
    if (Status s = ms.front()->Close(); !s.ok()) return fmt::print(stderr, "{}\n", s.ToString()), 1;
    ms.erase(ms.begin());
    if (!settle(30000)) return fmt::print(stderr, "no stable assignment after a leave\n"), 1;
    ms_taken.push_back((SteadyMicros() - t0) / 1000.0);
    add();
    if (!settle(30000)) return fmt::print(stderr, "the group never settled\n"), 1;
  }
  std::sort(ms_taken.begin(), ms_taken.end());
  const double median = ms_taken[ms_taken.size() / 2];
  fmt::print(
      "native leave -> stable, {} members, {} partitions: median {:.1f} ms (min {:.1f}, "
      "max {:.1f}, {} rounds)\n",
      members, partitions, median, ms_taken.front(), ms_taken.back(), rounds);
  fmt::print(
      "{{\"mode\":\"rebalance\",\"members\":{},\"partitions\":{},\"median_ms\":{:.2f},"
      "\"min_ms\":{:.2f},\"max_ms\":{:.2f}}}\n",
      members, partitions, median, ms_taken.front(), ms_taken.back());
  for (auto& m : ms) (void)m->Close();
  return 0;
}

// Produces for `seconds`; returns records/s.
double ProduceFor(const std::string& host, int port, const std::string& topic, double seconds) {
  auto c = client::Client::Connect(host, port);
  if (!c.ok()) return 0;
  RecordBatchBuilder b;
  const std::string value(100, 'x');
  for (int i = 0; i < 100; i++) b.Add(std::nullopt, value);
  const std::vector<uint8_t> batch = b.Build();
  const auto body = client::Client::EncodeProduce(topic, 0, 1, batch, 30000);
  auto& conn = c.value()->connection();
  const int64_t end = SteadyMicros() + static_cast<int64_t>(seconds * 1e6);
  int64_t records = 0;
  int inflight = 0;
  const int64_t t0 = SteadyMicros();
  while (SteadyMicros() < end || inflight > 0) {
    while (inflight < 32 && SteadyMicros() < end) {
      if (!conn.Send(static_cast<uint16_t>(protocol::ApiKey::kProduce), body).ok()) return 0;
      inflight++;
    }
    auto r = conn.Receive(30000);
    if (!r.ok() || r->error_code != 0) return 0;
    inflight--;
    records += 100;
  }
  return records / ((SteadyMicros() - t0) / 1e6);
}

int Commits(const std::string& host, int port, int groups, double seconds) {
  auto c = client::Client::Connect(host, port);
  if (!c.ok()) return fmt::print(stderr, "{}\n", c.status().ToString()), 1;
  client::Admin admin(c->get());
  const std::string topic = fmt::format("commits-{}", SteadyMillis());
  if (Status s = admin.CreateTopic(topic, 1); !s.ok())
    return fmt::print(stderr, "{}\n", s.ToString()), 1;
  const double alone = ProduceFor(host, port, topic, seconds);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> commits{0};
  std::thread committer([&] {
    auto cc = client::Client::Connect(host, port);
    if (!cc.ok()) return;
    auto& conn = cc.value()->connection();
    int inflight = 0;
    int64_t i = 0;
    while (!stop || inflight > 0) {
      while (!stop && inflight < 64) {
        std::vector<uint8_t> body;
        protocol::ByteWriter w(&body);
        const std::string group = fmt::format("g{}", i % groups);
        protocol::Encode(&w, protocol::OffsetCommitRequest{group, topic, 0, i, ""});
        if (!conn.Send(static_cast<uint16_t>(protocol::ApiKey::kOffsetCommit), body).ok()) return;
        inflight++;
        i++;
      }
      auto r = conn.Receive(30000);
      if (!r.ok()) return;
      inflight--;
      if (r->error_code == 0) commits++;
    }
  });
  const int64_t t0 = SteadyMicros();
  const double with = ProduceFor(host, port, topic, seconds);
  const double elapsed = (SteadyMicros() - t0) / 1e6;
  stop = true;
  committer.join();
  const double commit_rate = commits.load() / elapsed;
  fmt::print(
      "produce alone {:.0f} rec/s; with {} groups committing {:.0f} rec/s (ratio {:.3f}); "
      "{:.0f} commits/s\n",
      alone, groups, with, alone > 0 ? with / alone : 0, commit_rate);
  fmt::print(
      "{{\"mode\":\"commits\",\"groups\":{},\"produce_alone\":{:.0f},\"produce_with\":{:.0f},"
      "\"ratio\":{:.4f},\"commits_per_s\":{:.0f}}}\n",
      groups, alone, with, alone > 0 ? with / alone : 0, commit_rate);
  return 0;
}

int Fill(const std::string& host, int port, int groups, int partitions, int64_t count) {
  auto c = client::Client::Connect(host, port);
  if (!c.ok()) return fmt::print(stderr, "{}\n", c.status().ToString()), 1;
  client::Admin admin(c->get());
  const std::string topic = fmt::format("fill-{}", SteadyMillis());
  if (Status s = admin.CreateTopic(topic, partitions); !s.ok())
    return fmt::print(stderr, "{}\n", s.ToString()), 1;
  auto& conn = c.value()->connection();
  int inflight = 0;
  int64_t sent = 0, ok = 0, failed = 0;
  const int64_t t0 = SteadyMicros();
  while (sent < count || inflight > 0) {
    while (sent < count && inflight < 64) {
      std::vector<uint8_t> body;
      protocol::ByteWriter w(&body);
      const std::string group = fmt::format("g{}", sent % groups);
      const int32_t p = static_cast<int32_t>((sent / groups) % partitions);
      protocol::Encode(&w, protocol::OffsetCommitRequest{group, topic, p, sent, ""});
      if (!conn.Send(static_cast<uint16_t>(protocol::ApiKey::kOffsetCommit), body).ok()) {
        return fmt::print(stderr, "send failed\n"), 1;
      }
      inflight++;
      sent++;
    }
    auto r = conn.Receive(30000);
    if (!r.ok()) return fmt::print(stderr, "{}\n", r.status().ToString()), 1;
    inflight--;
    (r->error_code == 0 ? ok : failed)++;
  }
  const double secs = (SteadyMicros() - t0) / 1e6;
  fmt::print("{} commits ({} failed) of {} groups x {} partitions in {:.1f} s: {:.0f} commits/s\n",
             ok, failed, groups, partitions, secs, ok / secs);
  fmt::print("{{\"mode\":\"fill\",\"commits\":{},\"failed\":{},\"commits_per_s\":{:.0f}}}\n", ok,
             failed, ok / secs);
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: group_bench rebalance HOST:PORT [MEMBERS] [PARTITIONS] [ROUNDS]\n"
                 "       group_bench commits HOST:PORT [GROUPS] [SECONDS]\n"
                 "       group_bench fill HOST:PORT GROUPS PARTITIONS COUNT\n");
    return 2;
  }
  const std::string mode = argv[1];
  auto hp = sentry::client::ParseHostPort(argv[2]);
  if (!hp.ok()) return std::fprintf(stderr, "bad HOST:PORT\n"), 2;
  auto arg = [&](int i, int def) { return argc > i ? std::atoi(argv[i]) : def; };
  if (mode == "rebalance") {
    return Rebalance(hp->first, hp->second, arg(3, 10), arg(4, 100), arg(5, 9));
  }
  if (mode == "commits") return Commits(hp->first, hp->second, arg(3, 1000), arg(4, 5));
  if (mode == "fill") {
    return Fill(hp->first, hp->second, arg(3, 100), arg(4, 10),
                argc > 5 ? std::atoll(argv[5]) : 1000000);
  }
  std::fprintf(stderr, "unknown mode '%s'\n", mode.c_str());
  return 2;
}
