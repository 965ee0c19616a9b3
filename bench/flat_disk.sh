#!/usr/bin/env bash
# Does retention hold the disk flat under steady load? (issue 15, "done when")
# One sentryd, one topic (1 partition, 64 MiB segments, retention.bytes
# 1 GiB, retention checked every 10 s); sentry-bench writes 1 KiB records
# (batches of 10, acks=1) at RATE records/s for MINUTES minutes. Every 10 s
# the partition's disk use (du) is sampled. Writes
# bench/results/flat_disk.json and prints a summary: bytes written, disk use
# min / median / max after the first 5 minutes, retention passes.
#
# usage: bench/flat_disk.sh [MINUTES] [RATE]      (default 30, 20000 = ~20 MB/s)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MINUTES=${1:-30}
RATE=${2:-20000}
bash scripts/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-release -j"$(nproc)" --target sentryd sentry-bench sentryctl >/dev/null
COMMIT=$(git rev-parse --short HEAD)  # what was built (HEAD may move during the run)
OUT=$(mktemp -d)
trap 'stop_sentryd; kill "${BENCH:-}" 2>/dev/null || true; rm -rf "$OUT"' EXIT
. "$ROOT/bench/sentryd.sh"
start_sentryd "$ROOT/build-release/sentryd" "$OUT/data" "$OUT/log" --kafka.port -1 \
  --log.retention.check.interval.ms 10000
"$ROOT/build-release/sentryctl" --broker 127.0.0.1:$PORT topic create flat \
  --config segment.bytes=67108864 --config retention.bytes=1073741824 >/dev/null
RECORDS=$((RATE * MINUTES * 60))
"$ROOT/build-release/sentry-bench" produce --broker 127.0.0.1:$PORT --topic flat \
  --records "$RECORDS" --record-size 1024 --batch 10 --acks 1 --rate "$RATE" \
  >"$OUT/bench.txt" 2>&1 &
BENCH=$!
START=$(date +%s)
SAMPLES="$OUT/samples"
: >"$SAMPLES"
while kill -0 "$BENCH" 2>/dev/null; do
  now=$(( $(date +%s) - START ))
  bytes=$(du -sb "$OUT/data/flat-0" | cut -f1)
  echo "$now $bytes" >>"$SAMPLES"
  sleep 10
done
wait "$BENCH" || true
passes=$(grep -c 'retention: flat-0 starts at' "$OUT/log" || true)
deleted=$( (grep -oE '[0-9]+ segment\(s\) deleted' "$OUT/log" || true) | awk '{s += $1} END {print s + 0}')
/usr/bin/python3 - "$SAMPLES" "$OUT/bench.txt" "$MINUTES" "$RATE" "$passes" "$deleted" \
  "$COMMIT" <<'PY'
import json, statistics, sys
samples = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if l.strip()]
bench = open(sys.argv[2]).read().strip().splitlines()
after = [b for t, b in samples if t >= 300]
res = {"commit": sys.argv[7], "minutes": int(sys.argv[3]), "rate": int(sys.argv[4]),
       "retention_passes": int(sys.argv[5]), "segments_deleted": int(sys.argv[6]),
       "produce": [l for l in bench if l.startswith(("produce:", "latency"))],
       "samples": [{"t": t, "bytes": b} for t, b in samples]}
if after:
    res["after_5min"] = {"min": min(after), "median": statistics.median(after), "max": max(after)}
json.dump(res, open("bench/results/flat_disk.json", "w"), indent=1)
print("\n".join(res["produce"]))
print(f"retention passes {res['retention_passes']}, segments deleted {res['segments_deleted']}")
if after:
    a = res["after_5min"]
    print(f"disk after 5 min: min {a['min']/2**20:.0f} MiB, median {a['median']/2**20:.0f} MiB, "
          f"max {a['max']/2**20:.0f} MiB ({len(after)} samples)")
PY
