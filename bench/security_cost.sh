#!/usr/bin/env bash
# What security costs on the request path (issue 19): scenario (b) of
# BENCHMARKS.md (100 B records, 1 record per request, 64 in flight, acks=1,
# 1 connection), off against on, alternating rounds on fresh data
# directories so the machine's drift falls on both sides. WHAT is
#   authorizer   authorizer.enabled=true; the broker holds 200 ACLs of other
#                users plus the one that lets the native client
#                (User:ANONYMOUS) do everything on every topic, so a decision
#                that missed the per-connection cache would walk them all;
#   native-sasl  native.sasl=required; sentry-bench authenticates as a user
#                (SCRAM-SHA-512) once per connection, and every request then
#                passes the session check.
# Prints the median records/s of each side, the ratio, and sentryd's CPU
# seconds per million records.
#
# usage: bench/security_cost.sh WHAT [RECORDS] [ROUNDS]   (default 200000 and 3)
#        BUILD=dir to use an existing build (default build-release, built here)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WHAT=${1:-}
case "$WHAT" in
  authorizer|native-sasl) ;;
  *) echo "usage: $0 authorizer|native-sasl [RECORDS] [ROUNDS]" >&2; exit 2 ;;
esac
RECORDS=${2:-200000}
ROUNDS=${3:-3}
BUILD=${BUILD:-$ROOT/build-release}
if [ "$BUILD" = "$ROOT/build-release" ]; then
  cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSENTRY_BUILD_TESTS=OFF >/dev/null
  cmake --build build-release -j"$(nproc)" --target sentryd sentry-bench sentryctl >/dev/null
fi
OUT=$(mktemp -d)
PID=""
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; rm -rf "$OUT"; }
trap cleanup EXIT
. "$ROOT/bench/sentryd.sh"

acls() {  # data dir: 200 ACLs of others, then the bench's own
  local dir=$1 i
  mkdir -p "$dir"
  for i in $(seq 200); do
    "$BUILD/sentryctl" acl add --data-dir "$dir" --principal "User:user$i" --operation write \
      --topic-prefix "team$i." >/dev/null
  done
  "$BUILD/sentryctl" acl add --data-dir "$dir" --principal User:ANONYMOUS --operation all \
    --topic '*' >/dev/null
  "$BUILD/sentryctl" acl add --data-dir "$dir" --principal User:ANONYMOUS --operation create \
    --cluster >/dev/null
}
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }  # utime + stime, clock ticks
run() {  # side, round: prints "records/s cpu-ticks"
  local side=$1 r=$2 dir="$OUT/$1-$2" flags=(--http.port -1 --kafka.port -1) login=()
  if [ "$side" = on ] && [ "$WHAT" = authorizer ]; then
    acls "$dir"
    flags+=(--authorizer.enabled true)
  elif [ "$side" = on ]; then
    mkdir -p "$dir"
    "$BUILD/sentryctl" user create bench --mechanism SCRAM-SHA-512 --password bench-pw \
      --data-dir "$dir" >/dev/null
    flags+=(--native.sasl required)
    login=(--user bench --password bench-pw)
  fi
  start_sentryd "$BUILD/sentryd" "$dir" "$OUT/log-$side-$r" "${flags[@]}"
  local before rps
  before=$(cpu)
  rps=$("$BUILD/sentry-bench" produce "${login[@]}" --broker "127.0.0.1:$PORT" --topic b --records "$RECORDS" \
          --record-size 100 --batch 1 --in-flight 64 --acks 1 --json 2>/dev/null | tail -1 |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["records_per_sec"])')
  echo "$rps $(( $(cpu) - before ))"
  stop_sentryd
}
declare -A RES
for r in $(seq "$ROUNDS"); do
  for side in off on; do RES[$side]+="$(run $side "$r"),"; done
done
python3 - "$WHAT" "$RECORDS" "$(getconf CLK_TCK)" "${RES[off]}" "${RES[on]}" <<'PY'
import statistics, sys
what = sys.argv.pop(1)
records, tck = int(sys.argv[1]), int(sys.argv[2])
def parse(s):
    runs = [x.split() for x in s.strip(",").split(",")]
    return [float(a) for a, _ in runs], [int(b) for _, b in runs]
(off, off_cpu), (on, on_cpu) = parse(sys.argv[3]), parse(sys.argv[4])
cpu = lambda ticks: statistics.median(ticks) / tck / (records / 1e6)
print(f"(b) {what} off: median {statistics.median(off):,.0f} rec/s  runs {[round(x) for x in off]}"
      f"  sentryd {cpu(off_cpu):.2f} CPU s/M rec")
print(f"(b) {what} on:  median {statistics.median(on):,.0f} rec/s  runs {[round(x) for x in on]}"
      f"  sentryd {cpu(on_cpu):.2f} CPU s/M rec")
print(f"on / off: {statistics.median(on) / statistics.median(off):.2f}")
PY
