#!/usr/bin/env bash
# Static checks run by CI, in one clang-14 pass over every source file of
# src/ and tools/: clang-tidy with the short, justified check list of
# .clang-tidy, which includes the compiler's own warnings (clang-diagnostic-*)
# with the build's flags (-Wall -Wextra -Wshadow, and -Wthread-safety for the
# GUARDED_BY / REQUIRES annotations), all as errors. Nothing is compiled: the
# build directory only generates the sources the files include. (A separate
# clang -Werror build used to do the warnings: the same parse twice, ~3 minutes
# of CI.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
B=build-clang
CC=clang-14 CXX=clang++-14 cmake -S . -B $B -DCMAKE_BUILD_TYPE=Debug -DSENTRY_WERROR=ON \
  -DSENTRY_BUILD_TESTS=OFF -DSENTRY_BUILD_BENCH=OFF >/dev/null
cmake --build $B --target sentry_kafka_codegen sentry_dashboard_assets sentry_commit >/dev/null
files=$(ls src/*/*.cc tools/*/*.cc)
if ! printf '%s\n' $files | xargs -P"$(nproc)" -n4 clang-tidy-14 -p $B --quiet 2>$B/tidy.err; then
  echo "lint: clang-tidy found problems (see above)"
  exit 1
fi
echo "lint: clang-tidy and clang -Wshadow -Wthread-safety clean on $(printf '%s\n' $files | wc -l) files"
