#!/usr/bin/env bash
# Installs dependencies, builds (RelWithDebInfo) and runs the whole test suite
# through ctest. Extra arguments go to ctest (e.g. -R storage).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
BUILD=${BUILD_DIR:-build}
# CI (CI set) turns warnings into errors; a user's build only warns.
WERROR=OFF; [ -n "${CI:-}" ] && WERROR=ON
# In CI, line tables only (-g1): half the compile time of full debug info,
# and failures still name file and line. Locally: full -g for the debugger.
# In CI also a unity build (scripts/unity.sh says why); locally each file
# compiles alone, so an edit rebuilds one file.
FLAGS=(-DCMAKE_UNITY_BUILD=OFF)  # also in a build directory CI configured
if [ -n "${CI:-}" ]; then
  FLAGS=(-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" $(bash scripts/unity.sh))
fi
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSENTRY_WERROR=$WERROR "${FLAGS[@]}" >/dev/null
cmake --build "$BUILD" -j"$(nproc)"
bash scripts/seed-test-costs.sh "$BUILD"
cd "$BUILD"
ctest --output-on-failure -j"$(nproc)" "$@"
