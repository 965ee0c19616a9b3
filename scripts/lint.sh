#!/usr/bin/env bash
# Static checks run by CI:
#  1. a clang-14 build of the broker, its libraries and tools with -Werror,
#     -Wshadow and -Wthread-safety (the GUARDED_BY / REQUIRES annotations);
#  2. clang-tidy with the short, justified check list of .clang-tidy over
#     every source file of src/ and tools/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
B=build-clang
CC=clang-14 CXX=clang++-14 cmake -S . -B $B -DCMAKE_BUILD_TYPE=Debug -DSENTRY_WERROR=ON \
  -DSENTRY_BUILD_TESTS=OFF -DSENTRY_BUILD_BENCH=OFF >/dev/null
cmake --build $B -j"$(nproc)"
echo "lint: clang-14 build clean (-Werror -Wshadow -Wthread-safety)"
files=$(ls src/*/*.cc tools/*/*.cc)
if ! printf '%s\n' $files | xargs -P"$(nproc)" -n4 clang-tidy-14 -p $B --quiet 2>$B/tidy.err; then
  echo "lint: clang-tidy found problems (see above)"
  exit 1
fi
echo "lint: clang-tidy clean on $(printf '%s\n' $files | wc -l) files"
