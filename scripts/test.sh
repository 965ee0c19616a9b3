#!/usr/bin/env bash
# Installs dependencies, builds (RelWithDebInfo) and runs the whole test suite
# through ctest. Extra arguments go to ctest (e.g. -R storage).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
BUILD=${BUILD_DIR:-build}
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
cd "$BUILD"
ctest --output-on-failure -j"$(nproc)" "$@"
