// Recovery time after a crash: writes PARTITIONS partitions totalling GIB GiB
// of 1 KiB records (batches of 16), syncing all but the last UNFLUSHED MiB of
// each (as acks=-1 group commits would) and keeping the durable offsets as
// recovery points (what the maintenance thread checkpoints), then drops the logs
// without a clean close and times recovery::LoadPartition over all of them:
//   - with the recovery points (the broker's path: only the tail is walked),
//   - with no checkpoint (every segment walked), for comparison.
// Optionally drops the page cache first (--cold, needs root) so the walk
// reads from disk.
//
// usage: recovery_bench [--dir DIR] [--gib N] [--partitions N] [--segment-mib N] [--unflushed-mib N] [--cold]
#include <fstream>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

#include "recovery/log_loader.h"
#include "storage/partition_log.h"
#include "storage/prefaulter.h"
#include "storage/record_batch_builder.h"

using namespace sentry;

namespace {
double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
void DropCaches() {
  ::sync();
  std::ofstream("/proc/sys/vm/drop_caches") << "3\n";
}
}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/sentry-recovery-bench";
  double gib = 4;
  int partitions = 8;
  bool cold = false;
  int segment_mib = 1024;    // the broker's default segment.bytes
  int unflushed_mib = 16;    // per partition, written after the last sync
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) dir = argv[++i];
    else if (a == "--gib" && i + 1 < argc) gib = std::stod(argv[++i]);
    else if (a == "--partitions" && i + 1 < argc) partitions = std::stoi(argv[++i]);
    else if (a == "--segment-mib" && i + 1 < argc) segment_mib = std::stoi(argv[++i]);
    else if (a == "--unflushed-mib" && i + 1 < argc) unflushed_mib = std::stoi(argv[++i]);
    else if (a == "--cold") cold = true;
    else {
      std::fprintf(stderr, "usage: %s [--dir DIR] [--gib N] [--partitions N] [--segment-mib N] [--unflushed-mib N] [--cold]\n", argv[0]);
      return 2;
    }
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  Prefaulter prefaulter;
  LogConfig cfg;  // broker defaults: 1 GiB segments
  cfg.segment_bytes = static_cast<uint32_t>(segment_mib) << 20;
  cfg.file.prefaulter = &prefaulter;
  RecordBatchBuilder b(1700000000000);
  std::string value(1024, 'r');
  for (int i = 0; i < 16; i++) b.Add(std::nullopt, value);
  auto batch = b.Build();
  BatchSetSummary sum;
  (void)ValidateBatches(batch, &sum);
  const uint64_t per_partition = static_cast<uint64_t>(gib * (1ull << 30)) / partitions;
  std::vector<int64_t> points;
  auto t0 = std::chrono::steady_clock::now();
  int64_t records = 0;
  for (int p = 0; p < partitions; p++) {
    auto log = PartitionLog::Create(dir + "/t-" + std::to_string(p), cfg).value();
    // As under acks=-1 (or flush.ms) load: everything but the last
    // `unflushed_mib` was msync'ed by group commits; the checkpoint holds it.
    int64_t point = 0;
    for (uint64_t written = 0; written < per_partition; written += batch.size()) {
      if (!log->Append(batch, sum).ok()) {
        std::fprintf(stderr, "append failed (disk full?)\n");
        return 1;
      }
      if (point == 0 && written + (uint64_t{static_cast<uint64_t>(unflushed_mib)} << 20) >= per_partition) {
        point = log->Flush().value();
      }
    }
    points.push_back(point);
    records += log->high_watermark();
    // No Close(): the process "crashes" here as far as the files know.
  }
  std::printf("wrote %.2f GiB, %lld records over %d partitions in %.1f s\n", gib,
              static_cast<long long>(records), partitions, Seconds(t0));
  for (int pass = 0; pass < 2; pass++) {
    const bool with_points = pass == 0;
    if (cold) DropCaches();
    t0 = std::chrono::steady_clock::now();
    int walked = 0;
    for (int p = 0; p < partitions; p++) {
      recovery::RecoveryOptions opt;
      opt.recovery_point = with_points ? points[p] : 0;
      recovery::RecoveryReport report;
      auto log = recovery::LoadPartition(dir + "/t-" + std::to_string(p), cfg, opt, &report);
      if (!log.ok()) {
        std::fprintf(stderr, "recovery failed: %s\n", log.status().ToString().c_str());
        return 1;
      }
      walked += report.segments_walked;
    }
    std::printf("recovery %s checkpoint%s: %.3f s (%d segments walked)\n",
                with_points ? "with" : "without", cold ? " (cold cache)" : "", Seconds(t0),
                walked);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
