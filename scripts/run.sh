#!/usr/bin/env bash
# Installs dependencies, builds Release and starts sentryd with its defaults
# (port 7070, data in ./data). Extra arguments go to sentryd.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSENTRY_BUILD_TESTS=OFF >/dev/null
cmake --build build-release -j"$(nproc)" --target sentryd
exec ./build-release/sentryd "$@"
