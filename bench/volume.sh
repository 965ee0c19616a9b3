#!/usr/bin/env bash
# Writing at volume with a broker's settings (issue 14): does sentryd hold the
# disk's own speed once the page cache is full, while a consumer tails the
# log, and how fast does a consumer far behind read?
#
#   1. the disk: dd writes GB GiB with fdatasync, then reads 5 GiB of it back
#      with O_DIRECT (no page cache)
#   2. sentryd with the given flags (none: the defaults) on an empty data dir:
#      `sentry-bench e2e` writes GB GiB of 1 KiB records (batch 16, acks=1)
#      while one consumer tails the log; then `sync` (so the figure includes
#      getting the data to disk, as dd's does); the broker's disk reads during
#      the run (/proc/PID/io read_bytes) say whether the tail came from memory
#   3. a consumer far behind: the first 5 GiB, long written, read back
#
# Prints one JSON line (also appended to $RESULTS/volume.jsonl).
# usage: bench/volume.sh [GB] [sentryd flags...]       (default GB: 20)
#   e.g. bench/volume.sh 20                              the defaults
#        bench/volume.sh 20 --storage.drop.behind.bytes 0  the kernel alone
# env:   VOLUME_DIR (default /var/tmp: must be the disk, not tmpfs), RESULTS
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
GB=${1:-20}; shift || true
FLAGS=("$@")
RESULTS=${RESULTS:-$ROOT/bench/results}
mkdir -p "$RESULTS"
bash scripts/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSENTRY_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)" --target sentryd sentry-bench >/dev/null
BENCH=$ROOT/build-release/sentry-bench
OUT=$(mktemp -d -p "${VOLUME_DIR:-/var/tmp}")
trap 'stop_sentryd; rm -rf "$OUT"' EXIT
. "$ROOT/bench/sentryd.sh"
secs() { python3 -c "import time; print(time.time())"; }
rate() { python3 -c "print(round($1 / 1e6 / ($3 - $2), 1))"; }  # bytes t0 t1 -> MB/s
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }
bytes=$((GB * 1024 * 1024 * 1024))

drop_caches
t0=$(secs); dd if=/dev/zero of="$OUT/dd.bin" bs=1M count=$((GB * 1024)) conv=fdatasync status=none
t1=$(secs); dd_write=$(rate $bytes "$t0" "$t1")
read_gb=$((GB < 5 ? GB : 5))
t0=$(secs); dd if="$OUT/dd.bin" of=/dev/null bs=4M count=$((read_gb * 256)) iflag=direct status=none
t1=$(secs); dd_read=$(rate $((read_gb * 1024 * 1024 * 1024)) "$t0" "$t1")
rm -f "$OUT/dd.bin"
drop_caches

start_sentryd "$ROOT/build-release/sentryd" "$OUT/data" "$OUT/sentryd.log" --kafka.port -1 \
  "${FLAGS[@]}"
io() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$PID/io"; }
records=$((bytes / 1024))
r0=$(io read_bytes)
t0=$(secs)
e2e=$("$BENCH" e2e --broker 127.0.0.1:$PORT --topic vol --records $records --record-size 1024 \
      --batch 16 --acks 1 --json 2>/dev/null | tail -1)
t1=$(secs); sync; t2=$(secs)
r1=$(io read_bytes)
produce_mb=$(rate $bytes "$t0" "$t1")
synced_mb=$(rate $bytes "$t0" "$t2")
lag_records=$((read_gb * 1024 * 1024))
t0=$(secs)
lag=$("$BENCH" consume --broker 127.0.0.1:$PORT --topic vol --records $lag_records \
      --record-size 1024 --batch 16 --json 2>/dev/null | tail -1)
t1=$(secs)
r2=$(io read_bytes)
stop_sentryd
line=$(printf '{"commit":"%s","cores":%s,"gb":%s,"flags":"%s","dd_write_mb_s":%s,"dd_read_direct_mb_s":%s,"produce_mb_s":%s,"produce_and_sync_mb_s":%s,"ratio_to_dd":%s,"tail_disk_read_mb":%s,"e2e":%s,"lagging_read_gb":%s,"lagging_disk_read_mb":%s,"lagging":%s}' \
  "$(git rev-parse --short HEAD)" "$(nproc)" "$GB" "${FLAGS[*]:-defaults of $(git rev-parse --short HEAD)}" "$dd_write" "$dd_read" \
  "$produce_mb" "$synced_mb" "$(python3 -c "print(round($synced_mb / $dd_write, 2))")" \
  "$(( (r1 - r0) / 1000000 ))" "$e2e" "$read_gb" "$(( (r2 - r1) / 1000000 ))" "$lag")
echo "$line" | tee -a "$RESULTS/volume.jsonl"
