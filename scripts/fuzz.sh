#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (ASan + UBSan) and runs each for
# SECONDS (default 60). Seeds come from real frames and segments
# (make_fuzz_seeds) plus every saved regression input. A crash is copied into
# tests/fuzz/regressions/<target>/ (replayed by fuzz_replay_test in the normal
# build) and the script exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
bash scripts/install-deps.sh
B=build-fuzz
CC=clang-14 CXX=clang++-14 cmake -S . -B $B -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSENTRY_FUZZ=ON \
  -DSENTRY_BUILD_TESTS=OFF -DSENTRY_BUILD_BENCH=OFF -DSENTRY_BUILD_TOOLS=OFF $(bash scripts/unity.sh) >/dev/null
cmake --build $B -j"$(nproc)" --target fuzz_protocol fuzz_record_batch fuzz_recovery fuzz_kafka fuzz_scram \
  make_fuzz_seeds
rm -rf $B/seeds && $B/tests/fuzz/make_fuzz_seeds $B/seeds
# Real clients' captured Kafka requests seed the Kafka target too.
python3 - "$B/seeds/kafka" tests/kafka/golden/*.hex <<'PY'
import sys, os
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for path in sys.argv[2:]:
    if not os.path.exists(path):
        continue
    data = bytes.fromhex("".join(open(path).read().split()))
    open(os.path.join(out, "golden-" + os.path.basename(path)[:-4]), "wb").write(data)
PY
# One target per core at a time: libFuzzer runs on one thread, so on two
# cores two targets take the time of one.
run_target() {
  local t=$1 corpus=$B/corpus/$1
  mkdir -p "$corpus" $B/crashes/$t
  cp -n $B/seeds/$t/* "$corpus"/ 2>/dev/null || true
  cp -n tests/fuzz/regressions/$t/* "$corpus"/ 2>/dev/null || true
  if ! $B/tests/fuzz/fuzz_$t "$corpus" -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 \
       -artifact_prefix=$B/crashes/$t/ -print_final_stats=1 2>$B/fuzz_$t.log; then
    echo "fuzz_$t FOUND A CRASH:"; tail -40 $B/fuzz_$t.log
    cp $B/crashes/$t/* tests/fuzz/regressions/$t/ 2>/dev/null || true
    return 1
  fi
  echo "fuzz_$t: ${SECONDS_PER_TARGET}s"
  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" $B/fuzz_$t.log | sed "s/^/  fuzz_$t /" || true
}
rm -f $B/fuzz_*.failed
for t in protocol record_batch recovery kafka scram; do
  while [ "$(jobs -rp | wc -l)" -ge "$(nproc)" ]; do wait -n || true; done
  (run_target $t || touch $B/fuzz_$t.failed) &
done
wait
if ls $B/fuzz_*.failed >/dev/null 2>&1; then exit 1; fi
