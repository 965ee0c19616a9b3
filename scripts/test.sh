#!/usr/bin/env bash
# Installs dependencies, builds (RelWithDebInfo) and runs the whole test suite
# through ctest. Extra arguments go to ctest (e.g. -R storage).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
BUILD=${BUILD_DIR:-build}
# CI (CI set) turns warnings into errors; a user's build only warns.
WERROR=OFF; [ -n "${CI:-}" ] && WERROR=ON
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSENTRY_WERROR=$WERROR >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
cd "$BUILD"
ctest --output-on-failure -j"$(nproc)" "$@"
