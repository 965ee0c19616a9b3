#!/usr/bin/env bash
# How long does a restart take after COUNT offset commits? (issue 15: "the
# offsets log after 1 million commits of 100 groups restarts in under 1 s")
# A fresh sentryd takes COUNT commits (group_bench fill: 100 groups x 10
# partitions, 64 in flight, acks=-1 as every commit) and is then restarted
# twice, cleanly and after kill -9, with:
#   compacted: the log cleaner on (backoff 1 s), offsets.topic.segment.bytes
#              16 MiB (the active segment, never compacted, is what a restart
#              replays besides one record per key); the restarts wait for a
#              pass of the offsets log that began after the last commit;
#   history:   log.cleaner.threads 0 and the default 100 MiB segments, so
#              the whole history is replayed.
# Each restart prints the process's time from exec to listening and the
# offsets-log replay line.
#
# usage: bench/offsets_restart.sh [COUNT]      (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
COUNT=${1:-1000000}
bash scripts/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-release -j"$(nproc)" --target sentryd group_bench >/dev/null
OUT=$(mktemp -d)
trap 'stop_sentryd; rm -rf "$OUT"' EXIT
. "$ROOT/bench/sentryd.sh"
echo "== offsets-log restart, commit $(git rev-parse --short HEAD), $(nproc) cores, $COUNT commits"
restart() {  # label flags...
  local label=$1; shift
  local t0 t1
  t0=$(date +%s%N)
  start_sentryd "$ROOT/build-release/sentryd" "$OUT/data" "$OUT/log" --kafka.port -1 "$@"
  t1=$(date +%s%N)
  echo "  $label: listening after $(( (t1 - t0) / 1000000 )) ms (script-side, 50 ms polling);" \
       "$(grep -oE 'Replayed [0-9]+ records of the offsets log in [0-9]+ ms' "$OUT/log")"
}
run() {  # label cleaner-threads offsets-segment-bytes
  start_sentryd "$ROOT/build-release/sentryd" "$OUT/data" "$OUT/log" --kafka.port -1 \
    --log.cleaner.threads "$2" --log.cleaner.backoff.ms 1000 \
    --offsets.topic.segment.bytes "$3"
  echo "$1: $("$ROOT/build-release/bench/group_bench" fill 127.0.0.1:$PORT 100 10 "$COUNT" | head -1)"
  if [ "$2" -gt 0 ]; then
    local before
    before=$(grep -c 'log cleaner: __consumer_offsets-0 cleaned' "$OUT/log" || true)
    for _ in $(seq 600); do
      [ "$(grep -c 'log cleaner: __consumer_offsets-0 cleaned' "$OUT/log" || true)" -gt $((before + 1)) ] && break
      sleep 0.1
    done
    (grep 'log cleaner: __consumer_offsets-0 cleaned' "$OUT/log" || echo "no pass") | tail -1 \
      | sed 's/^.*log cleaner/  last pass: log cleaner/'
  fi
  echo "  offsets log on disk: $(du -sm "$OUT/data/__consumer_offsets-0" | cut -f1) MB"
  stop_sentryd
  restart "clean restart" --log.cleaner.threads 0 --offsets.topic.segment.bytes "$3"
  kill -9 "$PID"; wait "$PID" 2>/dev/null || true; PID=""
  restart "restart after kill -9" --log.cleaner.threads 0 --offsets.topic.segment.bytes "$3"
  stop_sentryd
  rm -rf "$OUT/data"; sync
}
run compacted 1 16777216
run history 0 104857600
