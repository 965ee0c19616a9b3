// Log cleaner throughput (issue 15): one compaction pass over a partition of
// 1 KiB records whose keys are 10% of its records (each key written ~10
// times), in MB/s of input. Setup (writing and syncing the log) is outside
// the timed region; each iteration cleans a freshly written copy.
//
// BM_Clean/<records>/<live_percent>: bytes = log bytes before the pass,
// items = records read. Counters: kept_ratio (bytes after / before).
#include <benchmark/benchmark.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "storage/log_cleaner.h"
#include "storage/record_batch_builder.h"

namespace sentry {
namespace {

std::string BenchDir() {
  auto base = std::filesystem::temp_directory_path() / "sentry-bench";
  std::filesystem::create_directories(base);
  return (base / ("cleaner-" + std::to_string(::getpid()))).string();
}

LogConfig Config() {
  LogConfig cfg;
  cfg.segment_bytes = 64u << 20;
  cfg.index_max_entries = 1u << 20;
  cfg.compacted = true;
  return cfg;
}

// A log of `records` 1 KiB records in batches of 10, keys drawn at random
// from records * live / 100 keys; synced, with an empty active segment.
std::unique_ptr<PartitionLog> WriteLog(const std::string& dir, int64_t records, int live) {
  std::filesystem::remove_all(dir);
  auto log = PartitionLog::Create(dir, Config()).value();
  const int64_t keys = std::max<int64_t>(1, records * live / 100);
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> key(0, keys - 1);
  const std::string value(1024, 'v');
  for (int64_t i = 0; i < records; i += 10) {
    RecordBatchBuilder b(1700000000000);
    for (int k = 0; k < 10; k++) b.Add("key-" + std::to_string(key(rng)), value);
    auto bytes = b.Build();
    BatchSetSummary sum;
    (void)ValidateBatches(bytes, &sum);
    if (!log->Append(bytes, sum).ok()) std::abort();
  }
  if (!log->Roll().ok() || !log->Flush().ok()) std::abort();
  return log;
}

void BM_Clean(benchmark::State& state) {
  const int64_t records = state.range(0);
  const int live = static_cast<int>(state.range(1));
  const std::string dir = BenchDir();
  OffsetMap map(128u << 20);
  int64_t bytes = 0, kept = 0, read = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto log = WriteLog(dir, records, live);
    state.ResumeTiming();
    CleanOptions o;
    o.now_ms = 1700000000000;
    auto r = CleanLog(log.get(), &map, o);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    bytes += r->bytes_in;
    kept += r->bytes_out;
    read += r->records_in;
    state.PauseTiming();
    log.reset();
    std::filesystem::remove_all(dir);
    state.ResumeTiming();
  }
  state.SetBytesProcessed(bytes);
  state.SetItemsProcessed(read);
  state.counters["kept_ratio"] = bytes > 0 ? static_cast<double>(kept) / bytes : 0;
}
BENCHMARK(BM_Clean)->Args({200000, 10})->Args({200000, 1})->Args({200000, 100})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace sentry

BENCHMARK_MAIN();
