#!/usr/bin/env bash
# Installs every Debian package the build and the tests need, and nothing when
# they are all present already (so repeated runs are fast and offline-safe).
set -euo pipefail
PKGS=(build-essential cmake pkg-config
      libconcurrentqueue-dev libboost-dev libspdlog-dev libfmt-dev
      libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libtomlplusplus-dev
      clang-14 clang-tidy-14 libclang-rt-14-dev python3)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
