#!/usr/bin/env bash
# Sanitizer passes (run by CI after the main test command):
#  1. AddressSanitizer + UndefinedBehaviorSanitizer: the whole ctest suite.
#  2. ThreadSanitizer: the storage concurrency tests (readers + flusher,
#     prefaulter drop-behind), the pipeline and network-thread tests, the
#     admin thread, and a
#     short broker load (integration tests against a TSan-built sentryd,
#     the Kafka protocol and consumer group ones included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
J=$(nproc)
start=$(date +%s)
phase() { echo "[sanitizers] $1 after $(( $(date +%s) - start )) s"; }

echo "== ASan + UBSan =="
# -O0: the ASan build is the longest step of CI (596 s at -O1 on 2 cores),
# and -O0 compiles in half the time (tests/group/consumer_group_test.cc:
# 14.0 s -> 6.7 s); the tests then run somewhat slower, which costs far
# less. Reports are as precise. -g1 (line tables only): reports keep
# file:line, and compiling takes half as long as with full debug info.
# A unity build (scripts/unity.sh).
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSENTRY_ASAN=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O0 -g1 -DNDEBUG" \
  -DSENTRY_BUILD_BENCH=OFF $(bash scripts/unity.sh) >/dev/null
cmake --build build-asan -j"$J"
phase "ASan build"
bash scripts/seed-test-costs.sh build-asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Label "external": the browser and Prometheus checks, which test the page
# and the exposition format, not sentryd's memory (http_test covers that).
# The loops run shorter here than in the normal build, which runs them in
# full: ASan checks the memory each restart, cut and load pattern touches,
# and a few rounds already touch it all (the longest ASan tests of the last
# CI run were these loops: 65 s of compaction kill -9 cycles, 102 s of power
# cuts, 31 s of 2,000 partitions). The soak (kill -9 and restart under mixed
# load): 20 s instead of 60; power cuts of the acks=all test: 8 instead of
# 20 (the acks=1 and compaction tests never run fewer than 10: with 3 the
# cleaner did not run before any cut, and that test failed for having tested
# nothing); compaction kill cycles: 10 instead of 20; partitions of the scale
# test: 500 instead of 2,000.
(cd build-asan && SENTRY_SOAK_SECONDS=${SENTRY_SOAK_SECONDS:-20} \
  SENTRY_POWER_CUTS=${SENTRY_POWER_CUTS:-8} SENTRY_COMPACTION_CYCLES=${SENTRY_COMPACTION_CYCLES:-10} \
  SENTRY_SCALE_PARTITIONS=${SENTRY_SCALE_PARTITIONS:-500} \
  ctest --output-on-failure -j"$J" -LE external)
phase "ASan tests"

echo "== ThreadSanitizer =="
# -O1 (TSan's documentation: -O1 or more): a shorter build than -O2.
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSENTRY_TSAN=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
  -DSENTRY_BUILD_BENCH=OFF -DSENTRY_BUILD_TOOLS=OFF $(bash scripts/unity.sh) >/dev/null
cmake --build build-tsan -j"$J" --target storage_test pipeline_test net_test broker_unit_test integration_test metrics_test
phase "TSan build"
export TSAN_OPTIONS="halt_on_error=1:suppressions=$PWD/.ci/tsan.supp"
build-tsan/tests/storage_test --gtest_filter='ConcurrentRead*:PartitionLog*:RetentionTest.*:LogCleanerTest.*:MappedFileTest.DropBehind*'
build-tsan/tests/pipeline_test
build-tsan/tests/metrics_test  # a scrape iterating while the owner thread adds keys
build-tsan/tests/net_test
build-tsan/tests/broker_unit_test --gtest_filter='AdminExecutor*'
# RSS bounds are meaningless with TSan's shadow memory: that one test is left
# to the normal and ASan runs.
build-tsan/tests/integration_test \
  --gtest_filter='BrokerTest.*:InlineLimitBrokerTest.*:RetentionIntegrationTest.*:CompactionIntegrationTest.*:AlterTopicConfigTest.*:OffsetsLogCompactionTest.*:DropBehindBrokerTest.*:FramingTest.*:Kafka*:NativeGroup*:-FramingTest.FloodedProducerIsSlowedNotFailedAndMemoryStaysBounded'
phase "TSan tests"
echo "sanitizers: all passes clean"
