#!/usr/bin/env bash
# Does retention disturb producers? (issue 15: "retention deleting 1,000
# segments does not move produce p99 latency".) One paced producer (one 100 B
# record per request, acks=1, 20,000/s for 10 s) writes a topic with 16 KiB
# segments, which rolls ~200 segments a second:
#   quiet:     retention.bytes -1 (nothing is deleted)
#   retention: retention.bytes 1 MiB with a check every second, so each pass
#              deletes the ~200 segments rolled since the last one (~2,000 in all)
# alternating, ROUNDS times each, each on a fresh sentryd. Prints the
# latencies of each run and the segments retention deleted.
#
# usage: bench/retention.sh [ROUNDS]       (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${1:-3}
bash scripts/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSENTRY_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)" --target sentryd sentry-bench sentryctl >/dev/null
OUT=$(mktemp -d)
trap 'stop_sentryd; rm -rf "$OUT"' EXIT
. "$ROOT/bench/sentryd.sh"
run() {  # label retention.bytes
  start_sentryd "$ROOT/build-release/sentryd" "$OUT/data" "$OUT/log" --kafka.port -1 \
    --log.retention.check.interval.ms 1000
  "$ROOT/build-release/sentryctl" --broker 127.0.0.1:$PORT topic create ret \
    --config segment.bytes=16384 --config "retention.bytes=$2" >/dev/null
  local lat
  lat=$("$ROOT/build-release/sentry-bench" produce --broker 127.0.0.1:$PORT --topic ret \
        --records 200000 --record-size 100 --batch 1 --acks 1 --rate 20000 2>&1 | grep '^latency')
  local deleted
  deleted=$( (grep -oE '[0-9]+ segment\(s\) deleted' "$OUT/log" || true) | awk '{s += $1} END {print s + 0}')
  echo "$1: $lat; segments deleted by retention: $deleted"
  stop_sentryd
  rm -rf "$OUT/data"; sync
}
echo "== retention while producing, commit $(git rev-parse --short HEAD), $(nproc) cores"
for r in $(seq "$ROUNDS"); do
  run quiet -1
  run retention 1048576
done
