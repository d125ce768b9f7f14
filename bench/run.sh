#!/usr/bin/env bash
# The benchmarks of BENCHMARKS.md, end to end, on PostgreSQL (a throwaway
# server, via scripts/with-postgres) and then on SQLite:
#
#   bench/run.sh [households]      # default 1000000
#
# Builds release binaries, generates the seeded synthetic roll, starts the real service, and
# drives it over gRPC with civic-bench: import, payments, recalculation, what-if, load; it reads
# the server's resident memory from /proc.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000000}"
cargo build --release --locked -p social-assistance -p land-supervision -p civic-bench >&2
BENCH=target/release/civic-bench
WORK="$(mktemp -d -t civic-bench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
$BENCH generate "$N" 42 "$WORK/roll.csv"

rss() { awk '/VmRSS/ {printf "%.1f MB\n", $2/1024}' "/proc/$1/status"; }

start_server() {
    CIVIC_DATABASE_URL="$1" CIVIC_LISTEN_ADDR="127.0.0.1:50093" CIVIC_METRICS_ADDR="" \
        CIVIC_MAX_MESSAGE_BYTES=$((1 << 30)) CIVIC_LOG=warn CIVIC_CONCURRENCY_LIMIT=1024 \
        ${PIN:-} target/release/social-assistance &
    PID=$!
    for _ in $(seq 100); do $BENCH load http://127.0.0.1:50093 0 1 1 >/dev/null 2>&1 && break; sleep 0.1; done
}

run_on() {
    local url="$1" label="$2" addr=http://127.0.0.1:50093
    echo "== $label"
    start_server "$url"
    echo "resident memory, idle: $(rss $PID)"
    $BENCH import "$addr" "$WORK/roll.csv" 2019-06-15
    echo "resident memory after import (peak $(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$PID/status)): $(rss $PID)"
    $BENCH pay "$addr" 2019-07
    $BENCH pay "$addr" 2019-08
    $BENCH recalc "$addr" 2019-07-01
    kill -TERM $PID; wait $PID || true
    # A fresh replica: what-if loads the roll into memory on its first call.
    start_server "$url"
    $BENCH whatif "$addr" 2019-07-01 5
    echo "resident memory with the roll loaded: $(rss $PID)"
    echo "load, sharing both cores (2 worker threads each):"
    $BENCH load "$addr" 10 4 16
    kill -TERM $PID; wait $PID || true
    # The same load with the service and the load generator each on its own core.
    if command -v taskset >/dev/null; then
        TOKIO_WORKER_THREADS=1 PIN="taskset -c 0" start_server "$url"
        echo "load, one core each (service on CPU 0, load generator on CPU 1):"
        TOKIO_WORKER_THREADS=1 taskset -c 1 $BENCH load "$addr" 10 4 16
        kill -TERM $PID; wait $PID || true
    fi
}

export -f run_on rss start_server
export BENCH WORK
PG_DURABLE=1 PG_TLS=0 scripts/with-postgres bash -c '
    psql "$CIVIC_TEST_POSTGRES_URL" -qc "CREATE DATABASE bench" >/dev/null
    run_on "${CIVIC_TEST_POSTGRES_URL%/*}/bench" PostgreSQL
'
run_on "sqlite://$WORK/bench.db?mode=rwc" SQLite

echo "== land-supervision (100,000 enterprises and parcels)"
CIVIC_DATABASE_URL="sqlite://$WORK/land.db?mode=rwc" CIVIC_LISTEN_ADDR=127.0.0.1:50092 CIVIC_METRICS_ADDR="" \
    CIVIC_MAX_MESSAGE_BYTES=$((1 << 30)) CIVIC_LOG=warn target/release/land-supervision &
LAND=$!
sleep 1
$BENCH land http://127.0.0.1:50092 100000 3
kill -TERM $LAND; wait $LAND || true
