#!/usr/bin/env bash
# Gives a build directory without ctest cost data (a fresh clone) the
# durations of tests/ctest-costs.txt, so `ctest -j` starts the longest tests
# first. A build that has run its tests keeps its own measurements.
set -euo pipefail
cd "$(dirname "$0")/.."
dest="$1/Testing/Temporary/CTestCostData.txt"
[ -f "$dest" ] && exit 0
mkdir -p "$(dirname "$dest")"
grep -v '^#' tests/ctest-costs.txt > "$dest"
