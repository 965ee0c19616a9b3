#!/usr/bin/env bash
# Before/after of one change, in one run on one machine: builds Release
# binaries of BASE (a commit, default HEAD~1) and of the work tree, then runs
# the same scenarios alternately (base, new, base, new, ...) on fresh brokers
# and prints the median of each side and their ratio. Alternating spreads the
# machine's drift over both sides.
#
# usage: bench/ab.sh [BASE] [ROUNDS]      (ROUNDS default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BASE=${1:-HEAD~1}
ROUNDS=${2:-3}
bash scripts/install-deps.sh
WT=$ROOT/build-ab-src  # a fixed path, so the base build's cache stays valid
OUT=$(mktemp -d)
PID=""
cleanup() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; git worktree remove --force "$WT" 2>/dev/null || true; rm -rf "$OUT"; }
trap cleanup EXIT
git worktree remove --force "$WT" 2>/dev/null || rm -rf "$WT"
git worktree add -f --detach "$WT" "$BASE" >/dev/null 2>&1
build() {  # src dir, build dir
  cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release -DSENTRY_BUILD_TESTS=OFF >/dev/null
  cmake --build "$2" -j"$(nproc)" --target sentryd sentry-bench bench_append >/dev/null
}
build "$WT" "$ROOT/build-ab-base"
build "$ROOT" "$ROOT/build-ab-new"

. "$ROOT/bench/sentryd.sh"
run() {  # side, name, sentry-bench args...; prints records/s
  local side=$1 name=$2; shift 2
  local b=$ROOT/build-ab-$side dir=$OUT/data-$side-$name
  start_sentryd "$b/sentryd" "$dir" "$OUT/log" >&2
  "$b/sentry-bench" "$@" --broker 127.0.0.1:$PORT --json 2>/dev/null | tail -1 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["records_per_sec"])'
  stop_sentryd || true
  rm -rf "$dir"; sync
}

declare -A RES
scenario() {  # name, args...
  local name=$1; shift
  for r in $(seq "$ROUNDS"); do
    for side in base new; do RES[$name-$side]+="$(run $side "$name" "$@") "; done
  done
}
scenario a produce --topic a --records 2000000 --record-size 100 --batch 100 --acks 1
scenario b produce --topic b --records 200000 --record-size 100 --batch 1 --in-flight 64 --acks 1
scenario c produce --topic c --records 1000000 --record-size 100 --batch 100 --acks -1 --connections 4 --partitions 4
for side in base new; do
  "$ROOT/build-ab-$side/bench/bench_append" --benchmark_filter='BM_Append/100/(1|100)/' \
    --benchmark_repetitions="$ROUNDS" --benchmark_report_aggregates_only=true \
    --benchmark_format=json 2>/dev/null >"$OUT/g-$side.json"
done

echo "== $(git rev-parse --short "$BASE") (base) vs work tree at $(git rev-parse --short HEAD) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
python3 - "$OUT" "${RES[a-base]}" "${RES[a-new]}" "${RES[b-base]}" "${RES[b-new]}" \
  "${RES[c-base]}" "${RES[c-new]}" <<'PY'
import json, statistics, sys
out = sys.argv[1]
runs = [[float(x) for x in a.split()] for a in sys.argv[2:]]
names = ["(a) 100 B, batch 100, acks=1, 1 conn", "(b) 100 B, 1 rec/request, 64 in flight",
         "(c) acks=-1, batch 100, 4 conns/4 parts"]
print(f"| scenario (rec/s, median of {len(runs[0])}) | base | new | new/base | base runs | new runs |")
print("|---|---|---|---|---|---|")
for i, n in enumerate(names):
    b, w = runs[2 * i], runs[2 * i + 1]
    mb, mw = statistics.median(b), statistics.median(w)
    print(f"| {n} | {mb:,.0f} | {mw:,.0f} | {mw / mb:.2f} | "
          f"{' '.join(f'{x/1e6:.2f}M' for x in b)} | {' '.join(f'{x/1e6:.2f}M' for x in w)} |")
def g(side):
    d = json.load(open(f"{out}/g-{side}.json"))
    return {b["run_name"]: b for b in d["benchmarks"] if b.get("aggregate_name") == "median"}
gb, gn = g("base"), g("new")
for k in gb:
    rb, rn = gb[k].get("items_per_second", 0), gn[k].get("items_per_second", 0)
    print(f"| (g) {k} (items/s, median) | {rb:,.0f} | {rn:,.0f} | {rn / rb:.2f} | | |")
PY
