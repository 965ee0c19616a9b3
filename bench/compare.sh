#!/usr/bin/env bash
# One command for the performance comparison of issue 6: builds Release,
# runs every scenario against a fresh sentryd on a temporary data directory
# with sentry-bench, runs the peers (Redis Streams with AOF, NATS JetStream
# with file storage, RabbitMQ Streams) from bench/peers on the same machine in
# the same run,
# and prints one table: scenario, Sentry, peers, ratio.
#
# usage: bench/compare.sh [--quick]     (--quick: smaller record counts)
# env:   PEERS_DIR (default bench/peers), SKIP_PEERS=1 to run Sentry only
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
QUICK=0; [ "${1:-}" = "--quick" ] && QUICK=1
PEERS_DIR=${PEERS_DIR:-$ROOT/bench/peers}
S=$((QUICK ? 1 : 5))   # record-count scale
bash scripts/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSENTRY_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)" --target sentryd sentry-bench bench_append loopback_floor >/dev/null
BENCH=$ROOT/build-release/sentry-bench
OUT=$(mktemp -d)
trap 'stop_broker; rm -rf "$OUT"' EXIT
PID=""

. "$ROOT/bench/sentryd.sh"
start_broker() {   # extra sentryd flags as arguments; sets PORT and PID
  start_sentryd "$ROOT/build-release/sentryd" "$OUT/data-$RANDOM" "$OUT/sentryd.log" "$@"
}
stop_broker() { stop_sentryd; }
# Each scenario's data is deleted when it is done: its page cache is freed, so
# the next scenario starts from the same memory state instead of paying for
# fresh guest memory because earlier scenarios' gigabytes are still cached.
stop_and_clean() { stop_broker; rm -rf "$OUT"/data-*; }
# VmHWM counts the mapped segment pages the broker touched (page cache,
# reclaimable); RssAnon is its own heap, which is what overload could grow.
peak_rss_mb() {
  awk '/VmHWM/ {h=$2} /RssAnon/ {a=$2} END {printf "%.0f MiB peak (%.0f MiB anon)", h/1024, a/1024}' \
    /proc/$PID/status
}
bench() {  # name, sentry-bench args...; stores JSON in $OUT/name.json
  local name=$1; shift
  "$BENCH" "$@" --broker 127.0.0.1:$PORT --json 2>/dev/null | tail -1 >"$OUT/$name.json"
}
# Throughput rows run three times, each on a fresh broker; the table shows the
# median (this VM moves single runs by up to 1.5x). Usage: rep NAME "FLAGS" ARGS...
rep() {
  local name=$1 flags=$2; shift 2
  for r in 1 2 3; do
    fresh_broker $flags
    bench "$name$r" "$@"
  done
}
median3() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
field() { python3 -c "import json,sys; d=json.load(open('$OUT/$1.json')); print(eval('d' + sys.argv[1]))" "$2"; }

echo "== Sentry (commit $(git rev-parse --short HEAD)) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
# Each scenario gets a fresh broker after a sync, so it does not pay for the
# page-cache writeback of the gigabytes the previous one wrote (this VM's disk
# sustains ~1 GB/s; see BENCHMARKS.md).
fresh_broker() { stop_and_clean; sync; start_broker "$@"; }
rep a1 "" produce --topic a1 --records $((2000000 * S)) --record-size 100 --batch 100 --acks 1
RSS_A=$(peak_rss_mb)
bench d consume --topic a1 --records $((2000000 * S)) --record-size 100   # the last (a) run's data
rep a4 "" produce --topic a4 --records $((2000000 * S)) --record-size 100 --batch 100 --acks 1 --connections 4 --partitions 4
rep b "" produce --topic b --records $((200000 * S)) --record-size 100 --batch 1 --in-flight 64 --acks 1
# The shape redis-benchmark is run in (-c 4 -P 64): 4 connections x 64 in flight.
rep b4 "" produce --topic b4 --records $((400000 * S)) --record-size 100 --batch 1 --in-flight 64 --acks 1 --connections 4 --partitions 4
# (e) is the noisiest row on this shared VM: three runs, each percentile
# reported as the median of the three, alternating with the machine's own
# floor: a trivial blocking echo server paced and timed the same way, no
# broker code (bench/loopback_floor.cc).
for r in 1 2 3; do
  fresh_broker
  bench e$r produce --topic e --records $((40000 * S)) --record-size 100 --batch 1 --acks 1 --rate 20000
  "$ROOT/build-release/bench/loopback_floor" --requests $((40000 * S)) --rate 20000 --json >"$OUT/e_floor$r.json"
done
# (e) again with the network and writer threads under SCHED_FIFO, where this
# process may use it (root or CAP_SYS_NICE); otherwise the row says so.
if chrt -f 1 true 2>/dev/null; then
  for r in 1 2 3; do
    fresh_broker --realtime.priority 10
    bench e_rt$r produce --topic e --records $((40000 * S)) --record-size 100 --batch 1 --acks 1 --rate 20000
  done
fi
rep f "" produce --topic f --records $((400000 * S)) --record-size 1024 --batch 16 --acks 1
# (f) again with the page cache recycled behind the writer (off by default,
# see docs/operations.md): what the disk allows once fresh memory is not the limit.
rep f_drop "--storage.drop.behind.bytes 268435456" produce --topic f --records $((400000 * S)) --record-size 1024 --batch 16 --acks 1
rep c "" produce --topic c --records $((1000000 * S)) --record-size 100 --batch 100 --acks -1 --connections 4 --partitions 4
RSS_C=$(peak_rss_mb)
stop_and_clean
"$ROOT/build-release/bench/bench_append" --benchmark_filter='BM_Append/100/(1|100)/|BM_Memcpy/(170|16500)$' \
   --benchmark_repetitions=3 --benchmark_report_aggregates_only=true --benchmark_format=json \
   >"$OUT/g.json" 2>/dev/null

REDIS_ES="-"; REDIS_ES_P1="-"; REDIS_ALW="-"; NATS_PUB="-"; NATS_SUB="-"; RMQ_PUB="-"
if [ "${SKIP_PEERS:-0}" != 1 ]; then
  echo "== peers"
  N=$((200000 * S))
  redis() { bash "$PEERS_DIR/redis_streams.sh" "$1" 100 $N 64 | grep -oE '[0-9.]+ msg/s' | cut -d' ' -f1; }
  REDIS_ES=$(median3 "$(redis everysec)" "$(redis everysec)" "$(redis everysec)")
  REDIS_ALW=$(median3 "$(redis always)" "$(redis always)" "$(redis always)")
  NATS_OUT=$(bash "$PEERS_DIR/nats_jetstream.sh" 100 $N 2>&1 || true)
  echo "$NATS_OUT" | tail -3
  NATS_PUB=$(echo "$NATS_OUT" | grep -ioE 'publish[^0-9]*[0-9.]+' | grep -oE '[0-9.]+$' | head -1 || true)
  NATS_SUB=$(echo "$NATS_OUT" | grep -ioE 'consum[^0-9]*[0-9.]+' | grep -oE '[0-9.]+$' | head -1 || true)
  # 400,000 at every scale: one 1 M-message run of this client stalled (bench/peers/README.md).
  RMQ_OUT=$(bash "$PEERS_DIR/rabbitmq_streams.sh" 100 400000 2>&1 || true)
  echo "$RMQ_OUT" | tail -2
  RMQ_PUB=$(echo "$RMQ_OUT" | grep -oE 'confirmed in [0-9.]+ s: [0-9]+ msg/s' | grep -oE '[0-9]+ msg/s' | cut -d' ' -f1 || true)
fi

mkdir -p "${RESULTS:-$ROOT/bench/results}"
python3 - "$OUT" "$REDIS_ES" "$REDIS_ALW" "${NATS_PUB:--}" "${NATS_SUB:--}" "$RSS_A" "$RSS_C" \
  "${RESULTS:-$ROOT/bench/results}/compare.json" "$(git rev-parse --short HEAD)" "${RMQ_PUB:--}" <<'PY'
import json, sys
out, redis_es, redis_alw, nats_pub, nats_sub, rss_a, rss_c, results, commit, rmq_pub = sys.argv[1:]
def j(n): return json.load(open(f"{out}/{n}.json"))
def num(x):
    try: return float(x)
    except ValueError: return None
def ratio(a, b): return f"{a / b:.1f}x" if a and b else "-"
def runs(n): return [j(f"{n}{r}") for r in (1, 2, 3)]
def rate(n): return sorted(x["records_per_sec"] for x in runs(n))[1]  # median of 3
def mbps(n): return sorted(x["mb_per_sec"] for x in runs(n))[1]
rows = []
def row(name, sentry, unit, peer_name="", peer=None, target=""):
    rows.append((name, f"{sentry:,.0f} {unit}", peer_name, f"{peer:,.0f}" if peer else "-",
                 ratio(sentry, peer), target))
row("(a) 100 B, batch 100, acks=1, 1 conn", rate("a1"), "rec/s", "redis everysec p64", num(redis_es), ">= 3M, >= 10x")
row("(a) same, 4 conns / 4 partitions", rate("a4"), "rec/s", "redis everysec p64", num(redis_es), "")
row("(b) 100 B, 1 rec/request, 64 in flight, 1 conn", rate("b"), "rec/s", "redis everysec p64", num(redis_es), ">= 500k")
row("(b) same, 4 conns x 64 (redis: -c 4 -P 64)", rate("b4"), "rec/s", "redis everysec p64", num(redis_es), ">= 1.5x")
row("(b) vs NATS JetStream async publish", rate("b"), "rec/s", "nats publish", num(nats_pub), "")
row("(a) vs RabbitMQ Streams publish (confirmed)", rate("a1"), "rec/s", "rabbitmq streams", num(rmq_pub), "")
row("(c) acks=-1, batch 100, 4 conns/4 parts", rate("c"), "rec/s", "redis always p64", num(redis_alw), ">= 1M, >= 8x")
d = j("d")
row("(d) consume (a) from offset 0", d["mb_per_sec"], "MB/s", "nats consume msg/s", None, ">= 1 GB/s")
rows[-1] = rows[-1][:3] + ((f"{num(nats_sub):,.0f}" if num(nats_sub) else "-"), f"{d['records_per_sec']/num(nats_sub):.1f}x (msg/s)" if num(nats_sub) else "-", ">= 1 GB/s")
def median_latency(prefix):
    runs = [j(f"{prefix}{r}")["latency_ms"] for r in (1, 2, 3)]
    return {k: sorted(run[k] for run in runs)[1] for k in ("p50", "p99", "p999", "max")}
e = median_latency("e")
fl = median_latency("e_floor")
def lat(e): return f"p50 {e['p50']*1000:.0f} us, p99 {e['p99']*1000:.0f} us, p99.9 {e['p999']*1000:.0f} us, max {e['max']*1000:.0f} us"
rows.append(("(e) 20k req/s fixed rate, acks=1 (medians of 3 runs)", lat(e), "loopback floor (echo, no broker)", lat(fl),
             f"p99 {e['p99']/fl['p99']:.1f}x, p99.9 {e['p999']/fl['p999']:.1f}x of floor", "p99 <= 150 us, p99.9 <= 1 ms"))
import os
if os.path.exists(f"{out}/e_rt1.json"):
    ert = median_latency("e_rt")
    rows.append(("(e) same, realtime.priority=10", lat(ert), "loopback floor (echo, no broker)", lat(fl),
                 f"p99 {ert['p99']/fl['p99']:.1f}x, p99.9 {ert['p999']/fl['p999']:.1f}x of floor", ""))
else:
    rows.append(("(e) same, realtime.priority=10", "not run: SCHED_FIFO not permitted here", "", "-", "-", ""))
row("(f) 1 KiB, batch 16, acks=1", mbps("f"), "MB/s", "", None, ">= 800 MB/s")
row("(f) same, storage.drop.behind.bytes=256 MiB", mbps("f_drop"), "MB/s", "", None, ">= 800 MB/s")
g = json.load(open(f"{out}/g.json"))["benchmarks"]
for b in g:
    if b.get("aggregate_name") != "median": continue
    name = b["run_name"].replace("/real_time", "")
    if "items_per_second" in b:
        val = f"{b['items_per_second']:,.0f} rec/s"
        if "p99_ns" in b: val += f", p99 {b['p99_ns']:.0f} ns"
    else:
        val = f"{b['bytes_per_second']/1e9:.1f} GB/s"
    rows.append((f"(g) {name} (median of 3)", val, "", "-", "-", ""))
rows.append(("RSS of sentryd after (a) / after (c)", f"{rss_a} / {rss_c}", "", "-", "-", "bounded"))
# The figures bench/plot draws (Sentry against the peers, same run).
json.dump({"commit": commit,
           "records_per_sec": {"a1": rate("a1"), "a4": rate("a4"), "b": rate("b"), "b4": rate("b4"),
                               "c": rate("c")},
           "redis_everysec": num(redis_es), "redis_always": num(redis_alw),
           "nats_publish": num(nats_pub), "rabbitmq_publish": num(rmq_pub), "e": e, "e_floor": fl,
           "f_mb_per_sec": mbps("f"), "f_drop_mb_per_sec": mbps("f_drop")},
          open(results, "w"), indent=1)
print("Throughput rows and the Redis figures: median of 3 runs (each Sentry run on a fresh broker);"
      " (d): one run, on the last (a) run's data; NATS: one run.")
w = [max(len(r[i]) for r in rows + [("scenario","sentry","peer","peer figure","ratio","target")]) for i in range(6)]
hdr = ("scenario", "sentry", "peer", "peer figure", "ratio", "target")
print("| " + " | ".join(h.ljust(w[i]) for i, h in enumerate(hdr)) + " |")
print("|" + "|".join("-" * (w[i] + 2) for i in range(6)) + "|")
for r in rows: print("| " + " | ".join(str(c).ljust(w[i]) for i, c in enumerate(r)) + " |")
PY
