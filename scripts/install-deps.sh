#!/usr/bin/env bash
# Installs every Debian package the build and the tests need, and nothing when
# they are all present already (so repeated runs are fast and offline-safe).
set -euo pipefail
PKGS=(build-essential cmake pkg-config
      libconcurrentqueue-dev libspdlog-dev libfmt-dev
      libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libtomlplusplus-dev
      clang-14 clang-tidy-14 libclang-rt-14-dev python3
      # Decompression of Kafka clients' batches (native consumer, log cleaner).
      zlib1g-dev libsnappy-dev liblz4-dev libzstd-dev
      # The log cleaner's key map: 128-bit XXH3 key digests.
      libxxhash-dev
      # Real Kafka clients for the tests (tests/kafka_clients) and the
      # librdkafka load tool (bench/kafka_bench).
      kcat python3-kafka python3-confluent-kafka librdkafka-dev
      golang-go golang-github-shopify-sarama-dev
      # The HTTP listener (Boost.Beast), the admin API's JSON, sd_notify, the
      # dashboard's charting library (embedded at build time).
      libboost-dev nlohmann-json3-dev libsystemd-dev libjs-chart.js
      # Outside checks of the HTTP side: a real Prometheus (and promtool), the
      # dashboard in headless Chromium, systemd-analyze for the package's unit.
      prometheus chromium chromium-driver python3-selenium systemd
      # The cluster layer's metadata store, started by its tests.
      etcd-server
      # cutfs, the power-cut file system of the tests (tests/cutfs): libfuse3
      # to build it, fuse3 for fusermount3.
      libfuse3-dev fuse3
      # TLS and SCRAM hashing (libssl: src/net, src/security, the clients);
      # the openssl command makes the TLS tests' certificates and is their
      # s_client; ca-certificates for kcat/librdkafka's default CA path.
      libssl-dev openssl ca-certificates)
# Extra packages a caller needs (bench/plot: python3-matplotlib).
PKGS+=("$@")
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
