#!/usr/bin/env bash
# The Kafka listener under load from librdkafka (bench/kafka_bench), next to
# the native listener under sentry-bench, same machine, same run. Prints
# records/s and the broker's CPU time per record (from /proc/PID/stat) for:
#   native produce, Kafka produce acks=1 and acks=all (100-byte records,
#   linger 5 ms, batch.size 1 MiB), native consume, Kafka consume.
#
# usage: bench/kafka.sh [RECORDS]        (default 5000000)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
N=${1:-5000000}
bash scripts/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSENTRY_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)" --target sentryd sentryctl sentry-bench kafka_bench >/dev/null
B=$ROOT/build-release
OUT=$(mktemp -d)
PID=""
. "$ROOT/bench/sentryd.sh"
trap 'stop_sentryd; rm -rf "$OUT"' EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }
HZ=$(getconf CLK_TCK)

# run NAME RECORDS COMMAND...: runs the load, prints its JSON and CPU per record.
run() {
  local name=$1 n=$2; shift 2
  local before after json
  before=$(cpu_ticks)
  json=$("$@" | tail -1)
  after=$(cpu_ticks)
  /usr/bin/python3 - "$name" "$n" "$before" "$after" "$HZ" "$json" <<'PY'
import json, sys
name, n, before, after, hz, line = sys.argv[1:]
d = json.loads(line)
rate = d.get("records_per_s") or d.get("records_per_sec") or d.get("throughput_records_per_s") or 0
cpu_s = (int(after) - int(before)) / int(hz)
mb = float(d.get("mb_per_s") or d.get("mb_per_sec") or 0)
print(f"{name:28s} {float(rate):>12,.0f} rec/s {mb:8.1f} MB/s   broker CPU {cpu_s:6.2f} s = {cpu_s / int(n) * 1e9:7.1f} ns/record")
PY
}

fresh() {
  stop_sentryd
  rm -rf "$OUT/data"
  start_sentryd "$B/sentryd" "$OUT/data" "$OUT/sentryd.log" --kafka.port 0
  KPORT=$(grep -oE 'Listening for Kafka protocol connections on [^ ]+:[0-9]+' "$OUT/sentryd.log" \
          | grep -oE '[0-9]+$')
  "$B/sentryctl" --broker "127.0.0.1:$PORT" topic create t --partitions 1 >/dev/null
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "records: $N x 100 bytes, one partition"
fresh
run "native produce acks=1" "$N" "$B/sentry-bench" produce --broker "127.0.0.1:$PORT" --topic t \
  --records "$N" --record-size 100 --batch 1000 --acks 1 --json
run "native consume" "$N" "$B/sentry-bench" consume --broker "127.0.0.1:$PORT" --topic t \
  --records "$N" --json
fresh
run "kafka produce acks=1" "$N" "$B/bench/kafka_bench" produce "127.0.0.1:$KPORT" t "$N" 100 1
run "kafka consume" "$N" "$B/bench/kafka_bench" consume "127.0.0.1:$KPORT" t "$N" 1
fresh
run "kafka produce acks=all" "$N" "$B/bench/kafka_bench" produce "127.0.0.1:$KPORT" t "$N" 100 all
# Consume throughput in bytes: 10 KB records (librdkafka's per-message cost
# dominates at 100 bytes).
BIG=$((N / 30))
fresh
"$B/bench/kafka_bench" produce "127.0.0.1:$KPORT" t "$BIG" 10000 1 >/dev/null
run "kafka consume 10 KB records" "$BIG" "$B/bench/kafka_bench" consume "127.0.0.1:$KPORT" t "$BIG" 1
