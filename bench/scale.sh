#!/usr/bin/env bash
# How Sentry's cost grows (issue 14). Builds Release, then measures against a
# fresh sentryd per point, on this machine, in this run:
#   admin_latency  another client's produce latency while 10,000 partitions
#                are created and deleted, against the same probe when quiet
#   partitions   1 .. 10,000 partitions: topic create time, disk reserved
#                (allocated blocks) and resident memory when empty, produce
#                throughput over all of them, memory and disk after, stop and
#                start times
#   record_size  10 B .. 1 MiB records: throughput (records/s and MB/s)
#   latency      produce latency percentiles (batch of 1, acks=1) against the
#                offered rate, beside the loopback floor (API_VERSIONS paced
#                the same way, through the same network thread)
#   connections  100 producers alone, then beside 10,000 idle connections
#                (each answered one API_VERSIONS): memory per idle connection,
#                throughput ratio
# Each point is one JSON object per line in $RESULTS/scale.jsonl (default
# bench/results), which bench/plot draws.
#
# usage: bench/scale.sh [--quick] [section ...]    (default: every section)
# env:   RESULTS=dir
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
QUICK=0
if [ "${1:-}" = "--quick" ]; then QUICK=1; shift; fi
SECTIONS=${*:-partitions admin_latency record_size latency connections}
RESULTS=${RESULTS:-$ROOT/bench/results}
mkdir -p "$RESULTS"
JSONL=$RESULTS/scale.jsonl
bash scripts/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSENTRY_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)" --target sentryd sentryctl sentry-bench >/dev/null
BENCH=$ROOT/build-release/sentry-bench
CTL=$ROOT/build-release/sentryctl
OUT=$(mktemp -d -p "${SCALE_TMP:-/var/tmp}")
IDLE_PID=""
trap 'stop_idle; stop_sentryd; rm -rf "$OUT"' EXIT
. "$ROOT/bench/sentryd.sh"

ms_now() { date +%s%3N; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }
anon_kb() { awk '/RssAnon/ {print $2}' "/proc/$PID/status"; }  # heap: not page cache
disk_kb() { du -sk "$1" | cut -f1; }
fresh() {  # fresh broker on an empty data dir; extra flags as arguments
  stop_sentryd; rm -rf "$OUT/data"; sync
  start_sentryd "$ROOT/build-release/sentryd" "$OUT/data" "$OUT/sentryd.log" --kafka.port -1 \
    --max.partitions 100000 "$@"
}
stop_idle() { [ -n "$IDLE_PID" ] && kill "$IDLE_PID" 2>/dev/null; wait "$IDLE_PID" 2>/dev/null || true; IDLE_PID=""; }
emit() { echo "$1" | tee -a "$JSONL"; }
meta() {
  printf '"commit":"%s","cores":%s,"cpu":"%s"' "$(git rev-parse --short HEAD)" "$(nproc)" \
    "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
}
bench_json() { "$BENCH" "$@" --broker 127.0.0.1:$PORT --json 2>/dev/null | tail -1; }

section_partitions() {
  local counts="1 10 100 1000 10000"
  for p in $counts; do
    fresh
    local t0 t1 disk0 rss0 run disk1 rss1 stop_ms start_ms create_ms
    t0=$(ms_now)
    "$CTL" --broker 127.0.0.1:$PORT topic create wide --partitions "$p" >/dev/null
    t1=$(ms_now)
    create_ms=$((t1 - t0))
    disk0=$(disk_kb "$OUT/data"); rss0=$(rss_kb)
    # At least two batches per partition; 4 connections share the partitions.
    local records=$(( QUICK ? 400000 : 2000000 ))
    [ $records -lt $((p * 200)) ] && records=$((p * 200))
    run=$(bench_json produce --topic wide --partitions "$p" --connections 4 --records $records \
          --record-size 100 --batch 100 --acks 1)
    disk1=$(disk_kb "$OUT/data"); rss1=$(rss_kb)
    t0=$(ms_now); stop_sentryd; stop_ms=$(( $(ms_now) - t0 ))
    t0=$(ms_now)
    start_sentryd "$ROOT/build-release/sentryd" "$OUT/data" "$OUT/sentryd.log" --kafka.port -1 \
      --max.partitions 100000
    start_ms=$(( $(ms_now) - t0 ))
    emit "{\"section\":\"partitions\",$(meta),\"partitions\":$p,\"create_ms\":$create_ms,\"empty_disk_kb\":$disk0,\"empty_rss_kb\":$rss0,\"disk_kb\":$disk1,\"rss_kb\":$rss1,\"stop_ms\":$stop_ms,\"start_ms\":$start_ms,\"produce\":$run}"
  done
}

# Latency of another client's produce (2,000 requests/s, one record each,
# acks=1 and acks=-1) while 10,000 partitions are created and then deleted,
# against the same probe on an idle broker.
section_admin_latency() {
  local secs=$(( QUICK ? 6 : 12 )) rate=2000 n=${ADMIN_PARTITIONS:-10000}
  for acks in 1 -1; do
    fresh
    "$CTL" --broker 127.0.0.1:$PORT topic create probe --partitions 1 >/dev/null
    local quiet busy create_ms delete_ms t0
    quiet=$(bench_json produce --topic probe --records $((rate * secs)) --batch 1 --rate $rate \
            --acks $acks)
    bench_json produce --topic probe --records $((rate * secs)) --batch 1 --rate $rate \
      --acks $acks >"$OUT/probe.json" &
    local probe=$!
    sleep 1
    t0=$(ms_now)
    "$CTL" --broker 127.0.0.1:$PORT topic create wide --partitions "$n" >/dev/null
    create_ms=$(( $(ms_now) - t0 ))
    t0=$(ms_now)
    "$CTL" --broker 127.0.0.1:$PORT topic delete wide >/dev/null
    delete_ms=$(( $(ms_now) - t0 ))
    wait $probe
    busy=$(cat "$OUT/probe.json")
    emit "{\"section\":\"admin_latency\",$(meta),\"partitions\":$n,\"acks\":$acks,\"create_ms\":$create_ms,\"delete_ms\":$delete_ms,\"quiet\":$quiet,\"during\":$busy}"
  done
}

section_record_size() {
  local total=$(( QUICK ? 400 : 2000 ))  # MB written per point
  for size in 10 100 1000 10000 100000 1048576; do
    fresh --max.message.bytes 4194304  # a 1 MiB record is over the 1 MiB default
    local batch=$(( 262144 / size )); [ $batch -lt 1 ] && batch=1; [ $batch -gt 1000 ] && batch=1000
    local records=$(( total * 1000000 / size )); [ $records -gt 20000000 ] && records=20000000
    local run
    run=$(bench_json produce --topic sizes --partitions 4 --connections 4 --records $records \
          --record-size $size --batch $batch --acks 1)
    emit "{\"section\":\"record_size\",$(meta),\"record_size\":$size,\"produce\":$run}"
  done
}

section_latency() {
  fresh
  "$CTL" --broker 127.0.0.1:$PORT topic create lat --partitions 1 >/dev/null
  local secs=$(( QUICK ? 3 : 10 ))
  for rate in 1000 5000 10000 20000 50000 100000 200000 400000; do
    local prod ping
    prod=$(bench_json produce --topic lat --records $((rate * secs)) --record-size 100 --batch 1 \
           --acks 1 --rate $rate --in-flight 256)
    ping=$(bench_json produce --topic lat --records $((rate * secs)) --batch 1 --rate $rate \
           --in-flight 256 --ping)
    emit "{\"section\":\"latency\",$(meta),\"rate\":$rate,\"produce\":$prod,\"floor\":$ping}"
  done
}

open_idle() {  # opens $1 idle connections (each answered one API_VERSIONS)
  rm -f "$OUT/idle.out" "$OUT/idle.fifo"; mkfifo "$OUT/idle.fifo"
  /usr/bin/python3 "$ROOT/bench/idle_connections.py" 127.0.0.1 "$PORT" "$1" <"$OUT/idle.fifo" \
    >"$OUT/idle.out" &
  IDLE_PID=$!
  exec 9>"$OUT/idle.fifo"  # they stay open until this is closed
  for _ in $(seq 600); do [ -s "$OUT/idle.out" ] && return 0; sleep 0.1; done
  echo "idle connections did not open"; exit 1
}
close_idle() { exec 9>&-; stop_idle; }

section_connections() {
  local records=$(( QUICK ? 1000000 : 4000000 )) idle=10000 runs=$(( QUICK ? 2 : 5 ))
  fresh --max.connections 20000  # 10,000 idle + 100 active is over the 10,000 default
  "$CTL" --broker 127.0.0.1:$PORT topic create conns --partitions 100 >/dev/null
  # Memory first, on a fresh broker: after the producers ran, the heap they
  # freed would hide what the idle connections take.
  local anon0 anon1
  anon0=$(anon_kb); open_idle $idle; sleep 1; anon1=$(anon_kb); close_idle
  # Throughput: alone and beside the idle connections, alternating, so the
  # VM's drift hits both alike; medians compared.
  local alone=() beside=() one=(produce --topic conns --connections 100 --records $records
                               --record-size 100 --batch 100 --acks 1)
  bench_json "${one[@]}" >/dev/null  # warm-up
  for r in $(seq $runs); do
    alone+=("$(bench_json "${one[@]}")")
    open_idle $idle
    beside+=("$(bench_json "${one[@]}")")
    close_idle
  done
  local a b
  a=$(printf '%s\n' "${alone[@]}" | paste -sd, -)
  b=$(printf '%s\n' "${beside[@]}" | paste -sd, -)
  emit "{\"section\":\"connections\",$(meta),\"idle\":$idle,\"anon_before_kb\":$anon0,\"anon_with_idle_kb\":$anon1,\"alone\":[$a],\"beside_idle\":[$b]}"
}

echo "== scale: commit $(git rev-parse --short HEAD) on $(nproc) cores; results in $JSONL"
for s in $SECTIONS; do "section_$s"; done
