#!/usr/bin/env bash
# Consumer groups, measured (BENCHMARKS.md, "Issue 13"), same machine, same run:
#   1. time from one member leaving to a stable assignment, 10 members and 100
#      partitions: Kafka's classic protocol (confluent-kafka / librdkafka,
#      eager "range" assignor: a full JoinGroup/SyncGroup round) and Sentry's
#      native groups (GroupConsumer: only the leaver's partitions move);
#   2. 1,000 groups committing offsets: commits/s, and produce throughput with
#      and without them.
#
# usage: bench/groups.sh [ROUNDS]        (default 9 rebalances per protocol)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
ROUNDS=${1:-9}
if [ -z "${SKIP_BUILD:-}" ]; then
  bash scripts/install-deps.sh
  cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSENTRY_BUILD_TESTS=OFF >/dev/null
  cmake --build build-release -j"$(nproc)" --target sentryd group_bench >/dev/null
fi
B=$ROOT/build-release
OUT=$(mktemp -d)
PID=""
. "$ROOT/bench/sentryd.sh"
trap 'stop_sentryd; rm -rf "$OUT"' EXIT
# The classic protocol's initial delay is Kafka's default; it only applies
# to the first rebalance of an empty group, not to the measured ones.
start_sentryd "$B/sentryd" "$OUT/data" "$OUT/log" --kafka.port 0 \
  --group.consumer.heartbeat.interval.ms 100
KAFKA_PORT=$(grep -oE 'Kafka protocol connections on [^ ]+:[0-9]+' "$OUT/log" | grep -oE '[0-9]+$')
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
"$B/bench/group_bench" rebalance "127.0.0.1:$PORT" 10 100 "$ROUNDS"
/usr/bin/python3 "$ROOT/bench/classic_rebalance.py" "127.0.0.1:$KAFKA_PORT" 10 100 "$ROUNDS"
"$B/bench/group_bench" commits "127.0.0.1:$PORT" 1000 5
