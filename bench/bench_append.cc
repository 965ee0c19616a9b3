// Microbenchmarks of the append path. Shows, in one run, the writer's append
// (copy into the mapping + patch base_offset + index slots + publish), the
// same with an msync per batch, the CRC the network thread pays, reads by
// offset, and memcpy of the same sizes (the memory-bandwidth ceiling).
//
// BM_Append/<record_bytes>/<records_per_batch>: items = records, bytes = batch
// bytes. Appends always go into fresh segment space: segments roll, and every
// ~1 GiB the partition is closed and deleted (outside the timed region) so the
// disk does not fill. Flush never runs in BM_Append.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>
#include <vector>

#include "common/crc32c.h"
#include "storage/partition_log.h"
#include "storage/prefaulter.h"
#include "storage/record_batch_builder.h"

namespace sentry {
namespace {

std::vector<uint8_t> BuildBatch(size_t record_bytes, int records) {
  RecordBatchBuilder b(1700000000000);
  std::string value(record_bytes, 'x');
  for (int i = 0; i < records; i++) b.Add(std::nullopt, value);
  return b.Build();
}

std::string BenchDir() {
  auto base = std::filesystem::temp_directory_path() / "sentry-bench";
  std::filesystem::create_directories(base);
  return (base / std::to_string(::getpid())).string();
}

LogConfig BenchConfig() {
  static Prefaulter prefaulter;  // as in sentryd: page population off the writer's thread
  LogConfig cfg;
  cfg.file.prefaulter = &prefaulter;
  cfg.segment_bytes = 256u << 20;
  cfg.index_max_entries = 1u << 22;
  return cfg;
}

class FreshLog {
 public:
  FreshLog() : dir_(BenchDir()) { Reopen(); }
  ~FreshLog() {
    log_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    log_.reset();
    std::filesystem::remove_all(dir_);
    log_ = PartitionLog::Create(dir_, BenchConfig()).value();
    written_ = 0;
  }
  PartitionLog* log() { return log_.get(); }
  // True when the caller should pause timing and Reopen().
  bool Account(size_t n) { return (written_ += n) > (1ull << 30); }

 private:
  std::string dir_;
  std::unique_ptr<PartitionLog> log_;
  size_t written_ = 0;
};

void BM_Append(benchmark::State& state) {
  const auto batch = BuildBatch(state.range(0), static_cast<int>(state.range(1)));
  BatchSetSummary sum;
  if (!ValidateBatches(batch, &sum).ok()) state.SkipWithError("bad batch");
  FreshLog fresh;
  std::vector<uint32_t> lat_ns;
  lat_ns.reserve(1 << 20);
  uint64_t i = 0;
  for (auto _ : state) {
    // Sample one append in 16 for the latency distribution (clock reads cost).
    const bool sample = (i++ & 15) == 0;
    auto t0 = sample ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    auto r = fresh.log()->Append(batch, sum);
    if (sample) {
      auto dt = std::chrono::steady_clock::now() - t0;
      if (lat_ns.size() < lat_ns.capacity()) {
        lat_ns.push_back(static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(dt).count()));
      }
    }
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    if (fresh.Account(batch.size())) {
      state.PauseTiming();
      fresh.Reopen();
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations() * state.range(1));
  state.SetBytesProcessed(state.iterations() * batch.size());
  if (!lat_ns.empty()) {
    std::sort(lat_ns.begin(), lat_ns.end());
    auto pct = [&](double p) { return lat_ns[static_cast<size_t>(p * (lat_ns.size() - 1))]; };
    state.counters["p50_ns"] = pct(0.50);
    state.counters["p99_ns"] = pct(0.99);
    state.counters["p999_ns"] = pct(0.999);
  }
}
BENCHMARK(BM_Append)
    ->Args({100, 1})
    ->Args({100, 10})
    ->Args({100, 100})
    ->Args({1024, 1})
    ->Args({1024, 16})
    ->UseRealTime();

// Append plus a group-commit flush (msync) after every batch: the worst case
// of acks=-1 with one producer and no batching across requests.
void BM_AppendFlushEveryBatch(benchmark::State& state) {
  const auto batch = BuildBatch(state.range(0), static_cast<int>(state.range(1)));
  BatchSetSummary sum;
  if (!ValidateBatches(batch, &sum).ok()) state.SkipWithError("bad batch");
  FreshLog fresh;
  for (auto _ : state) {
    if (!fresh.log()->Append(batch, sum).ok() || !fresh.log()->Flush().ok()) {
      state.SkipWithError("append/flush failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * state.range(1));
  state.SetBytesProcessed(state.iterations() * batch.size());
}
BENCHMARK(BM_AppendFlushEveryBatch)->Args({100, 100})->UseRealTime();

// The network thread's validation of a produce body (header checks + CRC).
void BM_ValidateBatch(benchmark::State& state) {
  const auto batch = BuildBatch(state.range(0), static_cast<int>(state.range(1)));
  for (auto _ : state) {
    BatchSetSummary sum;
    benchmark::DoNotOptimize(ValidateBatches(batch, &sum).ok());
  }
  state.SetItemsProcessed(state.iterations() * state.range(1));
  state.SetBytesProcessed(state.iterations() * batch.size());
}
BENCHMARK(BM_ValidateBatch)->Args({100, 1})->Args({100, 100});

void BM_Crc32c(benchmark::State& state) {
  std::vector<uint8_t> buf(state.range(0), 0xAB);
  for (auto _ : state) benchmark::DoNotOptimize(Crc32c(buf.data(), buf.size()));
  state.SetBytesProcessed(state.iterations() * buf.size());
}
BENCHMARK(BM_Crc32c)->Arg(4096);

void BM_Crc32cPortable(benchmark::State& state) {
  std::vector<uint8_t> buf(state.range(0), 0xAB);
  for (auto _ : state) benchmark::DoNotOptimize(Crc32cPortable(buf.data(), buf.size()));
  state.SetBytesProcessed(state.iterations() * buf.size());
}
BENCHMARK(BM_Crc32cPortable)->Arg(4096);

// Random reads by offset over ~1M records spread over several segments.
void BM_ReadByOffset(benchmark::State& state) {
  FreshLog fresh;
  const auto batch = BuildBatch(100, 10);
  BatchSetSummary sum;
  (void)ValidateBatches(batch, &sum);
  for (int i = 0; i < 100000; i++) {
    if (!fresh.log()->Append(batch, sum).ok()) state.SkipWithError("append failed");
  }
  const int64_t end = fresh.log()->high_watermark();
  std::mt19937_64 rng(1);
  for (auto _ : state) {
    auto r = fresh.log()->Read(static_cast<int64_t>(rng() % end), 4096);
    benchmark::DoNotOptimize(r.ok());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ReadByOffset);

// memcpy into fresh (not cache-resident) memory, like an append into new
// segment pages: the bandwidth ceiling for BM_Append of the same batch size.
void BM_Memcpy(benchmark::State& state) {
  const size_t n = state.range(0);
  std::vector<uint8_t> src(n, 0x5A);
  const size_t arena = 256u << 20;
  std::vector<uint8_t> dst(arena + n);
  size_t pos = 0;
  for (auto _ : state) {
    std::memcpy(dst.data() + pos, src.data(), n);
    benchmark::ClobberMemory();
    pos += n;
    if (pos > arena) pos = 0;
  }
  state.SetBytesProcessed(state.iterations() * n);
}
BENCHMARK(BM_Memcpy)->Arg(170)->Arg(7000)->Arg(16500)->Arg(1 << 20);

}  // namespace
}  // namespace sentry

BENCHMARK_MAIN();
