#!/usr/bin/env bash
# Memory of the largest import (BENCHMARKS.md): the seeded roll imported into a freshly started
# release social-assistance, once sent whole (ImportRoll) and once in 1 MiB pieces
# (ImportRollStream), each into a fresh service and database; then the streamed export
# (ExportRollStream) of that roll from another fresh service. Prints the idle resident memory,
# the peak (VmHWM) and the growth, from /proc/<pid>/status.
#
#   bench/import-memory.sh [households]           # default 1000000, on SQLite
#   POSTGRES=1 bench/import-memory.sh [households]  # on a throwaway PostgreSQL
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000000}"
cargo build --release --locked -p social-assistance -p civic-bench >&2
BENCH=target/release/civic-bench
WORK="$(mktemp -d -t civic-memory.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
$BENCH generate "$N" 42 "$WORK/roll.csv"
echo "roll: $N households, $(du -m "$WORK/roll.csv" | cut -f1) MB"

kb() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$2/status"; }

measure() {
    local url="$1" how="$2" addr=http://127.0.0.1:50094
    CIVIC_DATABASE_URL="$url" CIVIC_LISTEN_ADDR="127.0.0.1:50094" CIVIC_METRICS_ADDR="" \
        CIVIC_MAX_MESSAGE_BYTES=$((1 << 30)) CIVIC_LOG=warn target/release/social-assistance &
    local pid=$!
    for _ in $(seq 100); do $BENCH load "$addr" 0 1 1 >/dev/null 2>&1 && break; sleep 0.1; done
    local idle; idle=$(kb VmRSS $pid)
    if [ "$how" = export ]; then $BENCH export "$addr"; else $BENCH import "$addr" "$WORK/roll.csv" 2019-06-15 $how; fi
    local peak; peak=$(kb VmHWM $pid)
    printf '%-8s idle %4d MB  peak %5d MB  growth %5d MB\n' "${how:-whole}" $((idle / 1024)) $((peak / 1024)) \
        $(((peak - idle) / 1024))
    kill -TERM $pid; wait $pid || true
}

if [ -n "${POSTGRES:-}" ]; then
    export -f measure kb
    export BENCH WORK
    PG_DURABLE=1 PG_TLS=0 scripts/with-postgres bash -c '
        for how in "" stream; do
            db="mem$RANDOM"
            psql "$CIVIC_TEST_POSTGRES_URL" -qc "CREATE DATABASE $db" >/dev/null
            measure "${CIVIC_TEST_POSTGRES_URL%/*}/$db" "$how"
        done
        measure "${CIVIC_TEST_POSTGRES_URL%/*}/$db" export'
else
    for how in "" stream; do
        rm -f "$WORK"/roll.db*
        measure "sqlite://$WORK/roll.db?mode=rwc" "$how"
    done
    measure "sqlite://$WORK/roll.db?mode=rwc" export
fi
