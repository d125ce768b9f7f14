#!/usr/bin/env bash
# budget-performance's benchmarks (BENCHMARKS.md), on PostgreSQL (a throwaway server, via
# scripts/with-postgres) and then on SQLite:
#
#   bench/budget.sh [programmes]      # default 50000
#   ONLY=postgres bench/budget.sh     # one backend (postgres or sqlite)
#   LOG=warn,budget_performance=debug bench/budget.sh   # with the import's phase times
#
# Builds release binaries, starts the real service, and drives it over gRPC with civic-bench:
# programmes imported and their goals approved (setup; on PostgreSQL then VACUUM ANALYZE and a
# checkpoint), one checkpoint imported for all of them with warnings computed, the warnings paged
# through twice (right after the import, and again), and ScoreSelfEvaluation under load beside
# the service's own health check; it reads the server's resident memory from /proc.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-50000}"
cargo build --release --locked -p budget-performance -p civic-bench >&2
BENCH=target/release/civic-bench
WORK="$(mktemp -d -t civic-budget-bench.XXXXXX)"
trap 'kill ${PID:-} 2>/dev/null || true; rm -rf "$WORK"' EXIT

rss() { awk '/VmRSS/ {printf "%.1f MB\n", $2/1024}' "/proc/$1/status"; }

start_server() {
    CIVIC_DATABASE_URL="$1" CIVIC_LISTEN_ADDR="127.0.0.1:50094" CIVIC_METRICS_ADDR="" \
        CIVIC_MAX_MESSAGE_BYTES=$((1 << 30)) CIVIC_LOG="${LOG:-warn}" CIVIC_CONCURRENCY_LIMIT=1024 \
        ${PIN:-} target/release/budget-performance &
    PID=$!
    for _ in $(seq 100); do $BENCH budget-load http://127.0.0.1:50094 0 1 1 >/dev/null 2>&1 && break; sleep 0.1; done
}

run_on() {
    local url="$1" label="$2" addr=http://127.0.0.1:50094
    echo "== $label"
    start_server "$url"
    echo "resident memory, idle: $(rss $PID)"
    $BENCH budget "$addr" "$N" setup
    # The setup's writes settled before the measured phase, as autovacuum and the checkpointer
    # would have them by the time a checkpoint's figures arrive.
    if [[ "$label" == PostgreSQL ]]; then psql "$url" -qc "VACUUM ANALYZE" -c CHECKPOINT; fi
    $BENCH budget "$addr" "$N" measure
    echo "resident memory after the import (peak $(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$PID/status)): $(rss $PID)"
    echo "load, sharing both cores:"
    $BENCH budget-load "$addr" 10 4 16
    kill -TERM $PID; wait $PID || true
}

export -f run_on rss start_server
export BENCH WORK N LOG
[[ "${ONLY:-postgres}" == postgres ]] && PG_DURABLE=1 PG_TLS=0 scripts/with-postgres bash -c '
    trap "kill \${PID:-} 2>/dev/null || true" EXIT
    psql "$CIVIC_TEST_POSTGRES_URL" -qc "CREATE DATABASE budget_bench" >/dev/null
    run_on "${CIVIC_TEST_POSTGRES_URL%/*}/budget_bench" PostgreSQL
'
[[ "${ONLY:-sqlite}" == sqlite ]] && run_on "sqlite://$WORK/budget.db?mode=rwc" SQLite
true
