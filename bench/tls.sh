#!/usr/bin/env bash
# TLS against plaintext on the native listener (issue 19), one broker, one
# run, alternating plaintext and TLS rounds so the machine's drift falls on
# both sides:
#   (a) produce: 100 B records, batch 100, acks=1, 1 connection;
#   (d) consume what (a) wrote, from offset 0, 1 connection.
# Prints the median records/s of each side, the TLS/plaintext ratio, and
# sentryd's CPU seconds per million records (both sides share one broker,
# so its CPU time is read from /proc around each run). The certificate is a
# fresh P-256 one (ECDHE-ECDSA; TLS 1.3, AES-256-GCM as OpenSSL picks).
#
# usage: bench/tls.sh [RECORDS] [ROUNDS]     (default 2000000 and 3)
#        BUILD=dir to use an existing build (default build-release, built here)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RECORDS=${1:-2000000}
ROUNDS=${2:-3}
BUILD=${BUILD:-$ROOT/build-release}
if [ "$BUILD" = "$ROOT/build-release" ]; then
  cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSENTRY_BUILD_TESTS=OFF >/dev/null
  cmake --build build-release -j"$(nproc)" --target sentryd sentry-bench >/dev/null
fi
OUT=$(mktemp -d)
PID=""
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; rm -rf "$OUT"; }
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -keyout "$OUT/key.pem" -out "$OUT/cert.pem" -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 2>/dev/null

. "$ROOT/bench/sentryd.sh"
start_sentryd "$BUILD/sentryd" "$OUT/data" "$OUT/log" --http.port -1 --kafka.port -1 \
  --native.tls.port 0 --tls.cert.file "$OUT/cert.pem" --tls.key.file "$OUT/key.pem"
TLS_PORT=""
for _ in $(seq 100); do
  TLS_PORT=$(grep -oE 'Listening for native TLS connections on [^ ]+:[0-9]+' "$OUT/log" |
             grep -oE '[0-9]+$' || true)
  [ -n "$TLS_PORT" ] && break
  sleep 0.05
done
cpu() { awk '{print $14 + $15}' "/proc/$PID/stat"; }  # utime + stime, clock ticks
run() {  # side, mode, topic: prints "records/s cpu-ticks"
  local side=$1 mode=$2 topic=$3 args=()
  if [ "$side" = tls ]; then args=(--broker "127.0.0.1:$TLS_PORT" --tls-ca "$OUT/cert.pem")
  else args=(--broker "127.0.0.1:$PORT"); fi
  local before rps
  before=$(cpu)
  rps=$("$BUILD/sentry-bench" "$mode" "${args[@]}" --topic "$topic" --records "$RECORDS" \
          --record-size 100 --batch 100 --acks 1 --json 2>/dev/null | tail -1 |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["records_per_sec"])')
  echo "$rps $(( $(cpu) - before ))"
}
declare -A RES
for r in $(seq "$ROUNDS"); do
  for side in plain tls; do
    RES[a-$side]+="$(run $side produce "t-$side-$r"),"
    RES[d-$side]+="$(run $side consume "t-$side-$r"),"
  done
done
stop_sentryd || true
echo "== TLS vs plaintext at $(git rev-parse --short HEAD) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $RECORDS records per run"
python3 - "$(getconf CLK_TCK)" "$RECORDS" "${RES[a-plain]}" "${RES[a-tls]}" \
  "${RES[d-plain]}" "${RES[d-tls]}" <<'PY'
import statistics, sys
tck, records = int(sys.argv[1]), int(sys.argv[2])
def parse(s):
    pairs = [p.split() for p in s.strip(",").split(",")]
    return [float(a) for a, _ in pairs], [int(b) / tck for _, b in pairs]
names = ["(a) produce 100 B, batch 100, acks=1, 1 conn", "(d) consume (a) from offset 0"]
print(f"| scenario (median of {len(parse(sys.argv[3])[0])}) | plaintext rec/s | TLS rec/s | TLS/plaintext | "
      "sentryd CPU s per M records, plaintext / TLS | runs plaintext | runs TLS |")
print("|---|---|---|---|---|---|---|")
for i, n in enumerate(names):
    (p, pc), (t, tc) = parse(sys.argv[3 + 2 * i]), parse(sys.argv[4 + 2 * i])
    mp, mt = statistics.median(p), statistics.median(t)
    per_m = lambda c: statistics.median(c) / (records / 1e6)
    print(f"| {n} | {mp:,.0f} | {mt:,.0f} | {mt / mp:.2f} | {per_m(pc):.2f} / {per_m(tc):.2f} | "
          f"{' '.join(f'{x/1e6:.2f}M' for x in p)} | {' '.join(f'{x/1e6:.2f}M' for x in t)} |")
PY
