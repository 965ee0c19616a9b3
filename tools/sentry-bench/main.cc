// sentry-bench: load generator for sentryd (produce | consume | e2e).
//
// One thread per connection. Producers prebuild one PRODUCE frame per
// partition (a RecordBatch of --batch records of --record-size bytes) and
// copy it into the socket's output buffer for every request, keeping up to
// --in-flight requests outstanding: the broker overwrites base_offset, so the
// same bytes can be sent again and again. With --rate, request k of a
// connection is due at start + k * interval and its latency is measured from
// that intended time, so a stalled broker shows up as latency instead of
// silently lowering the send rate (no coordinated omission).
#include <CLI/CLI.hpp>
#include <sys/prctl.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/admin.h"
#include "client/client.h"
#include "common/crc32c.h"
#include "protocol/errors.h"
#include "protocol/messages.h"
#include "sentry-bench/bench_io.h"
#include "sentry-bench/histogram.h"
#include "storage/record_batch.h"
#include "storage/record_batch_builder.h"

namespace sentry::bench {
namespace {

constexpr int64_t kMaxWaitNs = 100'000'000;  // re-check for failures at least this often

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct Options {
  std::string mode;
  std::string broker = "127.0.0.1:7070";
  std::string topic = "sentry-bench";
  int64_t records = 1000000;
  int record_size = 100;
  int batch = 100;
  int connections = 1;
  int partitions = 0;  // 0: as many as connections
  int acks = 1;
  double rate = 0;     // records/s over all connections; 0 = as fast as possible
  int in_flight = 64;
  int fetch_bytes = 1 << 20;
  bool json = false;
  bool ping = false;  // produce: send API_VERSIONS instead (network round trip only)
  int64_t keys = 0;   // > 0: each record gets a key drawn at random from this many
  std::string tls_ca;  // set: TLS to the broker's native.tls.port
  std::string tls_cert, tls_key;  // mutual TLS
  std::string host;
  int port = 0;
  std::string user, password, password_file, sasl_mechanism = "SCRAM-SHA-512";  // native.sasl
  client::Security security;
};

// Shared counters for the progress line and the summary.
struct Totals {
  std::atomic<int64_t> records{0};
  std::atomic<int64_t> bytes{0};
  std::atomic<int64_t> errors{0};
  std::atomic<int16_t> first_error{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::string failure;  // transport failure of a worker
  Histogram latency;    // merged when workers finish (ns)
  void Fail(const std::string& why) {
    std::lock_guard<std::mutex> l(mu);
    if (failure.empty()) failure = why;
    failed = true;
  }
};

std::vector<int32_t> PartitionsOf(int conn, const Options& o) {
  std::vector<int32_t> ps;
  for (int p = conn % o.partitions; p < o.partitions; p += o.connections) ps.push_back(p);
  if (ps.empty()) ps.push_back(conn % o.partitions);
  return ps;
}

// The batch every produce request carries. Its first record's value starts
// with 8 marker bytes (0xA5: never the last byte of the varint before it), where
// e2e mode writes the intended send time.
std::vector<uint8_t> BenchBatch(const Options& o) {
  RecordBatchBuilder b;
  std::string value(static_cast<size_t>(o.record_size), 'x');
  value.replace(0, std::min<size_t>(8, value.size()), std::min<size_t>(8, value.size()),
                static_cast<char>(0xA5));
  for (int i = 0; i < o.batch; i++) {
    // With --keys, fixed-width placeholders that KeyPositions finds and each
    // request overwrites with random keys.
    const std::string key = fmt::format("K{:010d}", i);
    if (o.keys > 0) {
      b.Add(key, value);
    } else {
      b.Add(std::nullopt, value);
    }
  }
  return b.Build();
}

// Byte positions of the key digits of each record in a --keys BenchBatch.
std::vector<size_t> KeyPositions(const std::vector<uint8_t>& batch, int records) {
  std::vector<size_t> at;
  for (int i = 0; i < records; i++) {
    const std::string key = fmt::format("K{:010d}", i);
    auto it = std::search(batch.begin(), batch.end(), key.begin(), key.end());
    at.push_back(static_cast<size_t>(it - batch.begin()) + 1);
  }
  return at;
}

// Writes a random key of [0, keys) into every placeholder (xorshift: cheap,
// deterministic per connection).
void RandomizeKeys(uint8_t* batch, const std::vector<size_t>& at, int64_t keys, uint64_t* rng) {
  for (size_t pos : at) {
    uint64_t x = *rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *rng = x;
    uint64_t k = x % static_cast<uint64_t>(keys);
    for (int d = 9; d >= 0; d--) {
      batch[pos + static_cast<size_t>(d)] = static_cast<uint8_t>('0' + k % 10);
      k /= 10;
    }
  }
}

// Where e2e's send time sits in a BenchBatch (the first record's value).
size_t StampOffset(const std::vector<uint8_t>& batch) {
  const uint8_t marker[8] = {0xA5, 0xA5, 0xA5, 0xA5, 0xA5, 0xA5, 0xA5, 0xA5};
  auto it = std::search(batch.begin(), batch.end(), marker, marker + 8);
  return static_cast<size_t>(it - batch.begin());
}

// The producing side of produce and e2e. In e2e mode each copied frame gets
// its intended send time in its first record's value (and a recomputed CRC)
// so the consumer can measure end-to-end latency from the batch alone. (It
// used producer_id until the broker learned idempotence: a batch with a
// producer id is then checked against that producer's sequence.)
void ProduceWorker(int conn, const Options& o, int64_t requests, bool e2e, Totals* t) {
  auto c = client::Connection::Connect(o.host, o.port, 5000, o.security);
  if (!c.ok()) return t->Fail(c.status().ToString());
  const std::vector<int32_t> parts = PartitionsOf(conn, o);
  const std::vector<uint8_t> batch = BenchBatch(o);
  const size_t stamp_at = StampOffset(batch);
  const std::vector<size_t> key_at = o.keys > 0 ? KeyPositions(batch, o.batch)
                                                : std::vector<size_t>{};
  uint64_t key_rng = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(conn + 1);
  std::vector<std::vector<uint8_t>> frames;  // one per partition, correlation id = index
  for (size_t i = 0; i < parts.size(); i++) {
    std::vector<uint8_t> f;
    protocol::ByteWriter w(&f);
    const auto api = o.ping ? protocol::ApiKey::kApiVersions : protocol::ApiKey::kProduce;
    size_t start = protocol::BeginRequest(
        &w, {static_cast<uint16_t>(api), protocol::kApiVersion, static_cast<uint32_t>(i)});
    if (!o.ping) {
      protocol::Encode(&w, protocol::ProduceRequest{o.topic, parts[i],
                                                    static_cast<int16_t>(o.acks), 30000, batch});
    }
    protocol::FinishFrame(&w, start);
    frames.push_back(std::move(f));
  }
  const size_t frame_bytes = frames[0].size() + 64;
  const size_t batch_at = frames[0].size() - batch.size();  // same for every partition
  BenchSocket sock(c.value().get(), frame_bytes * static_cast<size_t>(o.in_flight) * 2,
                   1 << 20);
  // Send (or intended) times of requests in flight, per partition: answers of
  // one partition come back in the order sent.
  std::vector<std::deque<int64_t>> sent(parts.size());
  Histogram h;
  const int64_t interval_ns =
      o.rate > 0 ? static_cast<int64_t>(1e9 * o.batch * o.connections / o.rate) : 0;
  const int64_t start = NowNs();
  int64_t issued = 0;
  int64_t in_flight = 0;
  size_t next_part = 0;
  const int64_t record_bytes = static_cast<int64_t>(batch.size());  // MB/s counts batch bytes
  while (issued < requests || in_flight > 0 || sock.HasOutput()) {
    if (t->failed) break;
    int64_t now = NowNs();
    while (issued < requests && in_flight < o.in_flight && sock.HasRoom(frame_bytes)) {
      const int64_t due = start + issued * interval_ns;
      if (interval_ns > 0 && due > now) break;
      const size_t i = next_part;
      next_part = (next_part + 1) % parts.size();
      uint8_t* f = sock.Append(frames[i].data(), frames[i].size());
      const int64_t stamp = interval_ns > 0 ? due : now;
      if (e2e || o.keys > 0) {
        uint8_t* bb = f + batch_at;
        if (e2e) PutI64(bb + stamp_at, stamp);
        if (o.keys > 0) RandomizeKeys(bb, key_at, o.keys, &key_rng);
        PutU32(bb + batch_layout::kCrc, Crc32c(bb + batch_layout::kCrcStart,
                                               batch.size() - batch_layout::kCrcStart));
      }
      issued++;
      if (o.acks == 0) {
        t->records += o.batch;
        t->bytes += record_bytes;
      } else {
        sent[i].push_back(stamp);
        in_flight++;
      }
    }
    Status s = sock.Flush();
    if (!s.ok()) return t->Fail(s.ToString());
    if (in_flight == 0 && !sock.HasOutput()) {
      if (issued >= requests) break;
      // Rate mode, ahead of schedule: sleep until the next request is due.
      const int64_t due = start + issued * interval_ns;
      if (due > now) std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
      continue;
    }
    int64_t wait_ns = kMaxWaitNs;
    if (interval_ns > 0 && issued < requests && in_flight < o.in_flight) {
      wait_ns = std::clamp<int64_t>(start + issued * interval_ns - NowNs(), 0, kMaxWaitNs);
    }
    sock.Wait(wait_ns);
    s = sock.Read([&](uint32_t corr, int16_t err, const uint8_t*, size_t) {
      if (corr >= sent.size() || sent[corr].empty()) return;
      const int64_t when = sent[corr].front();
      sent[corr].pop_front();
      in_flight--;
      if (err != 0) {
        int16_t zero = 0;
        t->first_error.compare_exchange_strong(zero, err);
        t->errors++;
        return;
      }
      h.Record(static_cast<uint64_t>(std::max<int64_t>(0, NowNs() - when)));
      if (!e2e) {  // e2e counts what the consumer receives
        t->records += o.batch;
        t->bytes += record_bytes;
      }
    });
    if (!s.ok()) return t->Fail(s.ToString());
  }
  if (!e2e) {
    std::lock_guard<std::mutex> l(t->mu);
    t->latency.Merge(h);
  }
}

// Fetches `parts` from `from` (per partition) until `target` records in
// total were seen (or, when stop_at_end, every partition reached `end`).
// Latency: fetch round trip, or end to end from the stamp in e2e mode.
void ConsumeWorker(const Options& o, std::vector<int32_t> parts, std::vector<int64_t> from,
                   std::vector<int64_t> end, int64_t target, bool e2e,
                   const std::atomic<bool>* producers_done, Totals* t) {
  auto c = client::Connection::Connect(o.host, o.port, 5000, o.security);
  if (!c.ok()) return t->Fail(c.status().ToString());
  BenchSocket sock(c.value().get(), 64 * 1024, static_cast<size_t>(o.fetch_bytes) * 4 + 65536);
  std::vector<int64_t> sent_at(parts.size(), 0);
  std::vector<char> busy(parts.size(), 0);
  const size_t stamp_at = StampOffset(BenchBatch(o));
  std::vector<uint8_t> req;
  Histogram h;
  int64_t seen = 0;
  int64_t idle_since = 0;
  auto caught_up = [&] {
    for (size_t i = 0; i < parts.size(); i++) {
      if (from[i] < end[i]) return false;
    }
    return true;
  };
  while (seen < target && !t->failed) {
    if (!e2e && caught_up()) break;
    for (size_t i = 0; i < parts.size(); i++) {
      if (busy[i]) continue;
      req.clear();
      protocol::ByteWriter w(&req);
      size_t st = protocol::BeginRequest(
          &w, {static_cast<uint16_t>(protocol::ApiKey::kFetch), protocol::kApiVersion,
               static_cast<uint32_t>(i)});
      protocol::Encode(&w, protocol::FetchRequest{o.topic, parts[i], from[i], o.fetch_bytes, 1,
                                                  e2e ? 100 : 500});
      protocol::FinishFrame(&w, st);
      sock.Append(req.data(), req.size());
      busy[i] = 1;
      sent_at[i] = NowNs();
    }
    Status s = sock.Flush();
    if (!s.ok()) return t->Fail(s.ToString());
    sock.Wait(kMaxWaitNs);
    s = sock.Read([&](uint32_t corr, int16_t err, const uint8_t* body, size_t n) {
      if (corr >= parts.size()) return;
      busy[corr] = 0;
      if (err != 0) {
        int16_t zero = 0;
        t->first_error.compare_exchange_strong(zero, err);
        t->errors++;
        t->Fail(std::string("fetch: ") + protocol::ErrorName(err));
        return;
      }
      protocol::ByteReader rd(body, n);
      protocol::FetchResponse fr;
      if (!protocol::Decode(&rd, &fr) || !fr.records) return;
      const int64_t now = NowNs();
      int64_t got = 0;
      size_t pos = 0;
      const auto& recs = *fr.records;
      while (pos + batch_layout::kHeaderSize <= recs.size()) {
        RecordBatchView v(recs.data() + pos);
        if (v.TotalSize() > recs.size() - pos) break;
        const int64_t first = std::max(v.base_offset(), from[corr]);
        const int64_t count = v.last_offset() + 1 - first;
        if (count > 0) {
          got += count;
          t->bytes += static_cast<int64_t>(v.TotalSize()) * count / v.records_count();
          if (e2e) {
            const int64_t stamp = GetI64(v.data() + stamp_at);
            if (stamp > 0) h.Record(static_cast<uint64_t>(std::max<int64_t>(0, now - stamp)));
          }
        }
        from[corr] = std::max(from[corr], v.last_offset() + 1);
        pos += v.TotalSize();
      }
      if (!e2e && got > 0) h.Record(static_cast<uint64_t>(now - sent_at[corr]));
      seen += got;
      t->records += got;
    });
    if (!s.ok()) return t->Fail(s.ToString());
    // e2e: stop 10 s after the producers finished even if records are missing.
    if (e2e && producers_done->load()) {
      if (idle_since == 0) idle_since = NowNs();
      if (NowNs() - idle_since > 10'000'000'000) break;
    }
  }
  std::lock_guard<std::mutex> l(t->mu);
  t->latency.Merge(h);
}

double Ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

int Run(const Options& o) {
  auto client = client::Client::Connect(o.host, o.port, 5000, o.security);
  if (!client.ok()) {
    std::fprintf(stderr, "sentry-bench: %s\n", client.status().message().c_str());
    return 1;
  }
  client::Admin admin(client->get());
  auto n = admin.EnsureTopic(o.topic, o.partitions);
  if (!n.ok()) {
    std::fprintf(stderr, "sentry-bench: %s\n", n.status().message().c_str());
    return 1;
  }
  Options opt = o;
  opt.partitions = n.value();
  if (opt.partitions != o.partitions && !o.json) {
    std::fprintf(stderr, "sentry-bench: topic %s exists with %d partitions; using them\n",
                 o.topic.c_str(), opt.partitions);
  }
  Totals t;
  std::vector<int64_t> starts(opt.partitions), ends(opt.partitions);
  for (int p = 0; p < opt.partitions; p++) {
    auto s = admin.ListOffset(o.topic, p, o.mode == "consume" ? -2 : -1);
    auto e = admin.ListOffset(o.topic, p, -1);
    if (!s.ok() || !e.ok()) {
      std::fprintf(stderr, "sentry-bench: %s\n",
                   (!s.ok() ? s.status() : e.status()).message().c_str());
      return 1;
    }
    starts[p] = s.value();
    ends[p] = e.value();
  }
  const int64_t total_requests = (o.records + o.batch - 1) / o.batch;
  const int64_t target = total_requests * o.batch;
  std::atomic<bool> producers_done{false};
  std::vector<std::thread> producers, consumers;
  const int64_t t0 = NowNs();
  if (o.mode == "produce" || o.mode == "e2e") {
    for (int c = 0; c < opt.connections; c++) {
      int64_t reqs = total_requests / opt.connections + (c < total_requests % opt.connections);
      producers.emplace_back(ProduceWorker, c, std::cref(opt), reqs, o.mode == "e2e", &t);
    }
  }
  if (o.mode == "consume" || o.mode == "e2e") {
    int64_t available = 0;
    for (int p = 0; p < opt.partitions; p++) available += ends[p] - starts[p];
    const bool e2e = o.mode == "e2e";
    const int64_t want = e2e ? target : std::min(target, available);
    if (!e2e && available == 0) {
      std::fprintf(stderr, "sentry-bench: topic %s is empty; run `sentry-bench produce` first\n",
                   o.topic.c_str());
      return 1;
    }
    // consume: partitions spread over the connections, each reading its share.
    // e2e: one consumer reads every partition.
    const int nc = e2e ? 1 : std::min(opt.connections, opt.partitions);
    std::vector<std::vector<int32_t>> ps(nc);
    for (int p = 0; p < opt.partitions; p++) ps[p % nc].push_back(p);
    for (int c = 0; c < nc; c++) {
      std::vector<int64_t> from, end;
      int64_t share = 0;
      for (int32_t p : ps[c]) {
        from.push_back(starts[p]);
        end.push_back(ends[p]);
        share += ends[p] - starts[p];
      }
      consumers.emplace_back(ConsumeWorker, std::cref(opt), ps[c], from, end,
                             e2e ? want : std::min(share, want), e2e, &producers_done, &t);
    }
  }
  // Progress line every second until the workers are done.
  std::atomic<bool> done{false};
  std::thread progress([&] {
    int64_t last_records = 0, last_bytes = 0;
    int64_t tick = t0;
    while (!done) {
      tick += 1'000'000'000;
      while (!done && NowNs() < tick) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (done) break;
      const int64_t r = t.records, b = t.bytes;
      std::fprintf(stderr, "[%5.1fs] %10.0f records/s %8.1f MB/s  total %" PRId64 " records%s\n",
                   (NowNs() - t0) / 1e9, static_cast<double>(r - last_records),
                   static_cast<double>(b - last_bytes) / 1e6, r,
                   t.errors ? "  (errors)" : "");
      last_records = r;
      last_bytes = b;
    }
  });
  for (auto& th : producers) th.join();
  const int64_t produce_end = NowNs();
  producers_done = true;
  for (auto& th : consumers) th.join();
  const int64_t t1 = o.mode == "produce" ? produce_end : NowNs();
  done = true;
  progress.join();

  const double secs = std::max(1e-9, (t1 - t0) / 1e9);
  const double rps = static_cast<double>(t.records) / secs;
  const double mbps = static_cast<double>(t.bytes) / secs / 1e6;
  const Histogram& h = t.latency;
  const char* what = o.mode == "consume" ? "fetch round trip"
                     : o.mode == "e2e"   ? "end to end"
                                         : "produce request";
  if (o.json) {
    std::printf(
        "{\"mode\":\"%s\",\"tls\":%s,\"topic\":\"%s\",\"acks\":%d,\"connections\":%d,\"partitions\":%d,"
        "\"batch\":%d,\"record_size\":%d,\"rate\":%.0f,\"records\":%" PRId64
        ",\"seconds\":%.3f,\"records_per_sec\":%.0f,\"mb_per_sec\":%.2f,"
        "\"latency_ms\":{\"count\":%" PRIu64 ",\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f,"
        "\"max\":%.3f},\"errors\":%" PRId64 "}\n",
        o.mode.c_str(), o.security.tls ? "true" : "false", o.topic.c_str(), o.acks, opt.connections, opt.partitions, o.batch,
        o.record_size, o.rate, t.records.load(), secs, rps, mbps, h.count(),
        Ms(h.Percentile(50)), Ms(h.Percentile(99)), Ms(h.Percentile(99.9)), Ms(h.max()),
        t.errors.load());
  } else {
    std::printf("%s: %" PRId64 " records in %.2f s: %.0f records/s, %.1f MB/s\n", o.mode.c_str(),
                t.records.load(), secs, rps, mbps);
    if (h.count() > 0) {
      std::printf("latency (%s, %" PRIu64 " samples): p50 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  "
                  "max %.3f ms\n",
                  what, h.count(), Ms(h.Percentile(50)), Ms(h.Percentile(99)),
                  Ms(h.Percentile(99.9)), Ms(h.max()));
    } else if (o.mode == "produce" && o.acks == 0) {
      std::printf("latency: not measured with acks=0 (the broker does not answer)\n");
    }
  }
  if (!t.failure.empty()) {
    std::fprintf(stderr, "sentry-bench: %s\n", t.failure.c_str());
    return 1;
  }
  if (t.errors > 0) {
    const int16_t e = t.first_error;
    std::fprintf(stderr, "sentry-bench: %" PRId64 " requests failed, first with %s: %s\n",
                 t.errors.load(), protocol::ErrorName(e), protocol::ErrorAdvice(e));
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace sentry::bench

int main(int argc, char** argv) {
  using sentry::bench::Options;
  // Timers of this process fire within 1 ns of when asked (default slack is
  // 50 us): with --rate, a late wake-up would be counted as broker latency.
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  // TLS writes with write(2): a broker that closes is an error, not a signal.
  std::signal(SIGPIPE, SIG_IGN);
  Options o;
  CLI::App app{"sentry-bench: load generator for sentryd"};
  app.require_subcommand(1);
  auto add_common = [&](CLI::App* sub) {
    sub->add_option("--broker", o.broker, "broker HOST:PORT")->capture_default_str();
    sub->add_option("--tls-ca", o.tls_ca,
                    "speak TLS (the broker's native.tls.port), trusting the CAs in this PEM file");
    sub->add_option("--tls-cert", o.tls_cert, "with --tls-ca: present this client certificate");
    sub->add_option("--tls-key", o.tls_key, "the private key of --tls-cert");
    sub->add_option("--user", o.user, "authenticate (SASL, the broker's native.sasl) as this user");
    sub->add_option("--password", o.password, "with --user: the password (visible to ps)");
    sub->add_option("--password-file", o.password_file,
                    "with --user: a file whose first line is the password");
    sub->add_option("--sasl-mechanism", o.sasl_mechanism, "SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN")
        ->capture_default_str();
    sub->add_option("--topic", o.topic, "topic (created when missing)")->capture_default_str();
    sub->add_option("--records", o.records, "records to send or read")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    sub->add_option("--record-size", o.record_size, "value bytes per record")
        ->capture_default_str()
        ->check(CLI::Range(0, 1 << 24));
    sub->add_option("--batch", o.batch, "records per RecordBatch (one batch per request)")
        ->capture_default_str()
        ->check(CLI::Range(1, 1 << 20));
    sub->add_option("--connections", o.connections, "connections, one thread each")
        ->capture_default_str()
        ->check(CLI::Range(1, 1024));
    sub->add_option("--partitions", o.partitions,
                    "partitions when creating the topic (default: --connections)")
        ->check(CLI::Range(1, 100000));
    sub->add_option("--acks", o.acks, "-1 durable, 1 in the log, 0 no answer")
        ->capture_default_str()
        ->check(CLI::IsMember({-1, 0, 1}));
    sub->add_option("--rate", o.rate,
                    "records/s over all connections (0 = unlimited); latency is measured from "
                    "each request's intended send time")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--in-flight", o.in_flight, "requests in flight per connection")
        ->capture_default_str()
        ->check(CLI::Range(1, 4096));
    sub->add_option("--fetch-bytes", o.fetch_bytes, "max_bytes of each FETCH")
        ->capture_default_str()
        ->check(CLI::Range(1024, 1 << 30));
    sub->add_flag("--json", o.json, "print the summary as one JSON object");
    sub->add_option("--keys", o.keys,
                    "give each record a key drawn at random from this many (0 = no keys); "
                    "for compacted topics")
        ->capture_default_str()
        ->check(CLI::Range(int64_t{0}, int64_t{9999999999}));
  };
  for (const char* m : {"produce", "consume", "e2e"}) {
    const char* help = std::string(m) == "produce"   ? "write records as fast as possible (or --rate)"
                       : std::string(m) == "consume" ? "read the topic from the earliest offset"
                                                     : "produce and consume at once; latency "
                                                       "from send to receipt";
    auto* sub = app.add_subcommand(m, help);
    add_common(sub);
    if (std::string(m) == "produce") {
      sub->add_flag("--ping", o.ping,
                    "send API_VERSIONS instead of PRODUCE, paced and timed the same way: the "
                    "broker's network round trip without the write path");
    }
    sub->callback([&o, m] { o.mode = m; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  auto hp = sentry::client::ParseHostPort(o.broker);
  if (!hp.ok()) {
    std::fprintf(stderr, "sentry-bench: --broker: %s\n", hp.status().message().c_str());
    return 2;
  }
  o.host = hp->first;
  o.port = hp->second;
  if (o.tls_cert.empty() != o.tls_key.empty() || (!o.tls_cert.empty() && o.tls_ca.empty())) {
    std::fprintf(stderr, "sentry-bench: --tls-cert and --tls-key go together, with --tls-ca\n");
    return 2;
  }
  if (!o.tls_ca.empty()) {
    o.security.tls = sentry::client::TlsOptions{o.tls_ca, o.tls_cert, o.tls_key};
  }
  auto sasl = sentry::client::SaslFromFlags(o.user, o.password, o.password_file, o.sasl_mechanism);
  if (!sasl.ok()) {
    std::fprintf(stderr, "sentry-bench: %s\n", sasl.status().message().c_str());
    return 2;
  }
  o.security.sasl = *sasl;
  if (o.partitions == 0) o.partitions = o.connections;
  if (o.mode == "e2e" && o.record_size < 8) {
    std::fprintf(stderr, "sentry-bench: e2e needs --record-size >= 8 (the send time rides in it)\n");
    return 2;
  }
  if (o.ping) o.batch = 1;  // one "record" per answered API_VERSIONS request
  return sentry::bench::Run(o);
}
