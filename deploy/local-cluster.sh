#!/usr/bin/env bash
# Starts or stops a local fletch cluster: one scheduler and N executors on loopback.
#
#   deploy/local-cluster.sh start [N] [--flight-sql]   # default 2 executors; prints the --scheduler address
#   deploy/local-cluster.sh status
#   deploy/local-cluster.sh stop
#
# FLETCH_BIN picks the binary (default: `fletch` on PATH, else target/debug/fletch);
# FLETCH_CLUSTER_DIR holds pids, logs and shuffle files (default /tmp/fletch-cluster);
# FLETCH_SCHEDULER_PORT sets the scheduler port (default 50050); executor i uses
# ports P+2i (Flight) and P+2i+1 (gRPC), P = FLETCH_EXECUTOR_PORT (default 50100).
# FLETCH_ALLOWED_ROOTS lists the local folders SQL on the cluster may use
# (comma-separated; default the current directory and /tmp).
# The executors share this machine's cores: each gets cores/N task slots (at
# least one) unless FLETCH_EXECUTOR_SLOTS says how many.
set -euo pipefail
dir="${FLETCH_CLUSTER_DIR:-/tmp/fletch-cluster}"
port="${FLETCH_SCHEDULER_PORT:-50050}"
executor_port="${FLETCH_EXECUTOR_PORT:-50100}"
allowed="${FLETCH_ALLOWED_ROOTS:-$PWD,/tmp}"
bin="${FLETCH_BIN:-$(command -v fletch || echo "$(dirname "$0")/../target/debug/fletch")}"

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  local n=2 flight_sql=()
  for arg in "$@"; do
    case "$arg" in
      --flight-sql) flight_sql=(--flight-sql) ;;
      *[!0-9]* | "") echo "start: expected an executor count or --flight-sql, got '$arg'" >&2; exit 2 ;;
      *) n="$arg" ;;
    esac
  done
  [ -x "$bin" ] || { echo "no fletch binary at $bin (build with cargo build, or set FLETCH_BIN)" >&2; exit 1; }
  mkdir -p "$dir"
  if running "$dir/scheduler.pid"; then echo "already running (deploy/local-cluster.sh stop first)" >&2; exit 1; fi
  "$bin" scheduler --bind "127.0.0.1:$port" --allowed-roots "$allowed" "${flight_sql[@]}" >"$dir/scheduler.log" 2>&1 &
  echo $! >"$dir/scheduler.pid"
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.2
  done
  local slots="${FLETCH_EXECUTOR_SLOTS:-$(( $(nproc) / n ))}"
  [ "$slots" -ge 1 ] || slots=1
  for i in $(seq 0 $((n - 1))); do
    "$bin" executor --scheduler "127.0.0.1:$port" --bind "127.0.0.1:$((executor_port + 2 * i))" \
      --allowed-roots "$allowed" --work-dir "$dir/executor$i" --concurrent-tasks "$slots" >"$dir/executor$i.log" 2>&1 &
    echo $! >"$dir/executor$i.pid"
  done
  for _ in $(seq 100); do
    [ "$(grep -c 'registered from' "$dir/scheduler.log" || true)" -ge "$n" ] && break
    sleep 0.2
  done
  echo "scheduler 127.0.0.1:$port with $n executors of $slots task slots; logs in $dir"
  echo "try: $bin sql --scheduler 127.0.0.1:$port -c \"SELECT did_bucket('0000001', 2)\""
  if [ ${#flight_sql[@]} -gt 0 ]; then
    echo "Flight SQL: grpc://127.0.0.1:$port (docs/notebooks.md)"
  fi
}

stop() {
  local pid
  for f in "$dir"/executor*.pid "$dir"/scheduler.pid; do
    [ -f "$f" ] || continue
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$f"
  done
  echo "stopped"
}

status() {
  for f in "$dir"/scheduler.pid "$dir"/executor*.pid; do
    [ -f "$f" ] || continue
    if running "$f"; then echo "$(basename "$f" .pid): running (pid $(cat "$f"))"; else echo "$(basename "$f" .pid): dead"; fi
  done
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  *) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
