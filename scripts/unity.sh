#!/usr/bin/env bash
# Prints the CMake flags of a unity build, which CI uses for its three full
# builds (normal, ASan+UBSan, TSan): CMake compiles each target's .cc files
# in batches of 8 as one translation unit (src/frontend: one unit per
# protocol, see its CMakeLists.txt), so the headers (fmt, spdlog, the
# standard library, gtest) are parsed and their templates instantiated once
# per batch instead of once per file. Measured on the 2-core CI machine:
# see BENCHMARKS.md, "CI build time". Set SENTRY_UNITY=0 to build file by
# file. A unity build needs the files of one target not to define the same
# name at file scope (an anonymous-namespace helper, a `using` declaration
# of another type): the build fails and names both.
if [ "${SENTRY_UNITY:-1}" != 0 ]; then
  echo "-DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=8"
else
  echo "-DCMAKE_UNITY_BUILD=OFF"
fi
