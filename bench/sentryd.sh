# Sourced by the benchmark scripts (compare.sh, ab.sh): start and stop a
# sentryd on a free loopback port.
#   start_sentryd BINARY DATA_DIR LOG [flags...]   sets PORT and PID
#   stop_sentryd                                   stops it (PID emptied)
start_sentryd() {
  local bin=$1 dir=$2 log=$3; shift 3
  "$bin" --data-dir "$dir" --port 0 --host 127.0.0.1 --stats.interval.ms 0 "$@" >"$log" 2>&1 &
  PID=$!
  for _ in $(seq 200); do
    PORT=$(grep -oE 'Listening for producer connections on [^ ]+:[0-9]+' "$log" \
           | grep -oE '[0-9]+$' || true)
    [ -n "$PORT" ] && return 0
    sleep 0.05
  done
  echo "sentryd did not start:"; cat "$log"; exit 1
}
stop_sentryd() { [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; PID=""; }
