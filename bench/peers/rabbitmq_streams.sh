#!/bin/bash
# RabbitMQ Streams (Debian's rabbitmq-server 3.10 with its stream plugin: an
# append-only segment log like Sentry's) as a comparison point: publishes
# COUNT messages of SIZE bytes with publisher confirms, then one consumer reads
# them back from the first offset. Client: rabbitmq-stream-js-client 1.0.0
# from npm (installed under $TMPDIR/sentry-rmq-js), one Node.js thread.
# usage: rabbitmq_streams.sh [SIZE=100] [COUNT=400000]
set -e
SIZE=${1:-100}; N=${2:-400000}
HERE=$(cd "$(dirname "$0")" && pwd)
command -v rabbitmq-server >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends rabbitmq-server >/dev/null
command -v node >/dev/null || { echo "rabbitmq_streams.sh: needs node and npm"; exit 1; }
JS=${TMPDIR:-/tmp}/sentry-rmq-js
if [ ! -d "$JS/node_modules/rabbitmq-stream-js-client" ]; then
  mkdir -p "$JS" && (cd "$JS" && npm init -y >/dev/null && npm install --silent rabbitmq-stream-js-client@1.0.0)
fi
cp "$HERE/rabbitmq/streams_bench.js" "$JS/"
D=$(mktemp -d); PORT=${RMQ_STREAM_PORT:-15552}
mkdir -p "$D/mnesia" "$D/log"
echo "[rabbitmq_stream]." >"$D/enabled_plugins"
printf 'stream.listeners.tcp.1 = 127.0.0.1:%s\nlisteners.tcp.1 = 127.0.0.1:%s\n' "$PORT" $((PORT + 100)) \
  >"$D/rabbitmq.conf"
chown -R rabbitmq:rabbitmq "$D"  # the Debian wrapper runs the node as user rabbitmq
export RABBITMQ_MNESIA_BASE=$D/mnesia RABBITMQ_LOG_BASE=$D/log RABBITMQ_NODENAME=sentrybench@localhost \
  RABBITMQ_ENABLED_PLUGINS_FILE=$D/enabled_plugins RABBITMQ_CONFIG_FILE=$D/rabbitmq \
  RABBITMQ_FEATURE_FLAGS_FILE=$D/feature_flags RABBITMQ_PID_FILE=$D/pid \
  RABBITMQ_NODE_PORT=$((PORT + 100)) RABBITMQ_DIST_PORT=$((PORT + 200))
rabbitmq-server >"$D/out.log" 2>&1 &
ours() {  # the Erlang VM(s) started here: they carry this run's directory in their environment
  for p in $(pgrep beam.smp); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "RABBITMQ_MNESIA_BASE=$D/mnesia" && echo "$p"
  done
}
stop_node() {
  local pids; pids=$(ours)
  [ -n "$pids" ] && kill $pids 2>/dev/null
  for _ in $(seq 50); do [ -z "$(ours)" ] && break; sleep 0.1; done
  rm -rf "$D"
}
trap stop_node EXIT
for _ in $(seq 90); do (echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 1; done
(echo >/dev/tcp/127.0.0.1/$PORT) 2>/dev/null || { echo "rabbitmq did not start:"; tail "$D/out.log"; exit 1; }
timeout 120 node "$JS/streams_bench.js" "$PORT" "$SIZE" "$N"
