#!/usr/bin/env bash
# What does compaction cost, and how fast is the cleaner? (issue 15)
#  1. bench_cleaner: one pass over 200,000 1 KiB records (200 MB) whose keys
#     are 10% (also 1% and 100%) of the records, in MB/s of input.
#  2. The produce path while the cleaner works: sentry-bench writes RECORDS
#     1 KiB records (batches of 10, acks=1, 2 connections) with keys drawn from
#     RECORDS/10 keys into a compacted topic (16 MiB segments), on a fresh
#     sentryd with the cleaner on (backoff 100 ms, dirty ratio 0.5) and off
#     (log.cleaner.threads 0), alternating, ROUNDS times each. Both sync rolled
#     segments every 100 ms (log.flush.offset.checkpoint.interval.ms; the
#     cleaner only takes synced segments and syncs them itself otherwise), so
#     the difference is the cleaner's work, not who pays the writeback of a
#     run short enough to fit the page cache. Prints records/s
#     of each run, the cleaner's passes and input MB/s, and the disk the
#     partition takes at the end.
#
# usage: bench/compaction.sh [ROUNDS] [RECORDS]     (default 3, 2000000)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${1:-3}
RECORDS=${2:-2000000}
bash scripts/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-release -j"$(nproc)" --target sentryd sentry-bench sentryctl bench_cleaner >/dev/null
OUT=$(mktemp -d)
trap 'stop_sentryd; rm -rf "$OUT"' EXIT
. "$ROOT/bench/sentryd.sh"
echo "== compaction, commit $(git rev-parse --short HEAD), $(nproc) cores, $(date -u +%FT%TZ)"
echo "-- 1. cleaner pass (bench_cleaner, page cache warm)"
"$ROOT/build-release/bench/bench_cleaner" --benchmark_repetitions=3 \
  --benchmark_report_aggregates_only=true 2>&1 | grep -E 'median|Benchmark'
echo "-- 2. produce with the cleaner on / off ($RECORDS x 1 KiB, $((RECORDS / 10)) keys)"
run() {  # label cleaner-threads
  start_sentryd "$ROOT/build-release/sentryd" "$OUT/data" "$OUT/log" --kafka.port -1 \
    --log.cleaner.threads "$2" --log.cleaner.backoff.ms 100 \
    --log.flush.offset.checkpoint.interval.ms 100
  "$ROOT/build-release/sentryctl" --broker 127.0.0.1:$PORT topic create kc \
    --config cleanup.policy=compact --config segment.bytes=16777216 >/dev/null
  local res
  res=$("$ROOT/build-release/sentry-bench" produce --broker 127.0.0.1:$PORT --topic kc \
        --records "$RECORDS" --record-size 1024 --batch 10 --connections 2 --partitions 1 \
        --keys $((RECORDS / 10)) --acks 1 2>&1 | grep '^produce:')
  local passes mb secs
  passes=$(grep -c 'log cleaner: kc-0 cleaned' "$OUT/log" || true)
  mb=$( (grep -oE 'segment\(s\) of [0-9]+ bytes' "$OUT/log" || true) | awk '{s += $3} END {printf "%.0f", s / 1e6}')
  secs=$( (grep -oE '[0-9.]+ s \([0-9.]+ MB/s\)' "$OUT/log" || true) | awk '{s += $1} END {printf "%.2f", s}')
  local disk
  disk=$(du -sm "$OUT/data/kc-0" | cut -f1)
  echo "$1: $res; cleaner: $passes passes, $mb MB in $secs s; partition on disk at the end: $disk MB"
  stop_sentryd
  rm -rf "$OUT/data"; sync
}
for r in $(seq "$ROUNDS"); do
  run "cleaner off" 0
  run "cleaner on " 1
done
