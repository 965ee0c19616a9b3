#!/usr/bin/env bash
# Installs dependencies, builds Release (sentryd, and sentryctl and
# sentry-bench beside it in build-release/) and starts sentryd with its
# defaults: native port 7070, Kafka 9092, dashboard and metrics on
# http://localhost:9644/, data in ./data. Extra arguments go to sentryd.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSENTRY_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)" --target sentryd sentryctl sentry-bench
exec ./build-release/sentryd "$@"
