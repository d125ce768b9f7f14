#!/usr/bin/env bash
# civic against references measured in the same run (BENCHMARKS.md, "Against references"):
#
#   bench/compare.sh [households] [seconds]     # default 1000000 households, 10 s per load run
#
# 1. Calls: h2load (Debian's nghttp2-client) with the same settings (4 connections × 16 streams,
#    one thread) against a bare tonic server answering grpc.health.v1.Health/Check
#    (`civic-bench hello`: the same tonic, hyper and prost, nothing of civic), civic's own health
#    check and ComputeHouseholdBenefit with a token — alternating, ROUNDS times (default 2),
#    first sharing both cores, then with each server on CPU 0 and h2load on CPU 1.
# 2. Writes: `psql \copy` of the roll into an unindexed table (the floor for storing those rows)
#    beside ImportRoll and a whole-roll recalculation, on a throwaway PostgreSQL.
# 3. What-if: the plain kernel of the same rule over the same roll (`civic-bench kernel`, its
#    totals checked equal to WhatIf's) beside WhatIf's own compute time, and the first what-if
#    after a start (reading the roll, then after the next start its kept snapshot).
# 4. The other two services in the same run: land-supervision's per-mu evaluation and
#    low-efficiency classification over 100,000 enterprises and parcels (server compute and round
#    trip), and budget-performance's ScoreSelfEvaluation (full and basic explanation) beside its
#    own health check (SQLite, 4 connections × 16 streams).
#
# It prints each figure and the ratios. Only 127.0.0.1 is used; everything stops by itself.
# CALLS_ONLY=1 runs part 1 alone, WRITES_ONLY=1 parts 2 and 3, OTHERS_ONLY=1 part 4.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-1000000}"
SECS="${2:-10}"
ROUNDS="${ROUNDS:-2}"
only() { # only <part>: whether this part runs (all of them unless one is asked for alone)
    case "$1" in
        calls) [ -z "${WRITES_ONLY:-}${OTHERS_ONLY:-}" ] ;;
        writes) [ -z "${CALLS_ONLY:-}${OTHERS_ONLY:-}" ] ;;
        others) [ -z "${CALLS_ONLY:-}${WRITES_ONLY:-}" ] ;;
    esac
}
! only calls || command -v h2load >/dev/null || { echo "h2load is needed: apt-get install nghttp2-client" >&2; exit 2; }
cargo build --release --locked -p social-assistance -p land-supervision -p budget-performance -p civic-bench >&2
BENCH=target/release/civic-bench
WORK="$(mktemp -d -t civic-compare.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(uname -r)"
$BENCH generate "$N" 42 "$WORK/roll.csv"
# The generated roll is written out before anything is timed (not while PostgreSQL writes).
sync
$BENCH frame health "$WORK/health.bin"
$BENCH frame benefit "$WORK/benefit.bin"
TOKEN="$($BENCH token)"
HELLO=127.0.0.1:50097
CIVIC=127.0.0.1:50098

wait_for() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null && return; sleep 0.1; done; }

# start_servers <pin> : the bare server and social-assistance (SQLite), each pinned as asked.
start_servers() {
    local pin="$1"
    local threads=()
    [ -n "${WORKERS:-}" ] && threads=("TOKIO_WORKER_THREADS=$WORKERS")
    env "${threads[@]}" $pin $BENCH hello "$HELLO" & PIDS+=($!); HELLO_PID=$!
    CIVIC_DATABASE_URL="sqlite://$WORK/calls.db?mode=rwc" CIVIC_LISTEN_ADDR="$CIVIC" CIVIC_METRICS_ADDR="" \
        CIVIC_LOG=warn CIVIC_CONCURRENCY_LIMIT=1024 env "${threads[@]}" \
        $pin target/release/social-assistance & PIDS+=($!); CIVIC_PID=$!
    wait_for "$HELLO"; wait_for "$CIVIC"
}
stop_servers() { kill -TERM "$HELLO_PID" "$CIVIC_PID"; wait "$HELLO_PID" "$CIVIC_PID" 2>/dev/null || true; }

# h2 <label> <addr> <path> <body> [header…]: one h2load run; appends "label rps p99_ms bytes" to
# $WORK/calls.txt.
h2() {
    local label="$1" addr="$2" path="$3" body="$4"; shift 4
    local args=(-H "content-type: application/grpc" -H "te: trailers")
    for h in "$@"; do args+=(-H "$h"); done
    rm -f "$WORK/h2.log"
    ${H2PIN:-} h2load -D "$SECS" --warm-up-time=1 -c 4 -m 16 -t 1 -d "$body" "${args[@]}" \
        --log-file="$WORK/h2.log" "http://$addr$path" > "$WORK/h2.out"
    python3 - "$label" "$WORK/h2.out" "$WORK/h2.log" >> "$WORK/calls.txt" <<'EOF'
import re, sys
label, out, log = sys.argv[1:4]
text = open(out).read()
rps = float(re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", text).group(1))
done = int(re.search(r"requests: \d+ total, \d+ started, (\d+) done", text).group(1))
failed = int(re.search(r"(\d+) failed", text).group(1))
data = int(re.search(r"\((\d+)\) data", text).group(1))
lat = sorted(int(l.split()[2]) for l in open(log) if l.strip())
p99 = lat[min(len(lat) - 1, round((len(lat) - 1) * 0.99))] / 1000 if lat else 0
print(f"{label} {rps:.0f} {p99:.2f} {data // max(done, 1)} {failed}")
EOF
    tail -1 "$WORK/calls.txt" | awk '{printf "  %-26s %8s calls/s  p99 %6s ms  %5s bytes/response  %s failed\n", $1, $2, $3, $4, $5}'
}

calls() {
    local tag="$1"
    for round in $(seq "$ROUNDS"); do
        h2 "hello.$tag" "$HELLO" /grpc.health.v1.Health/Check "$WORK/health.bin"
        h2 "health.$tag" "$CIVIC" /grpc.health.v1.Health/Check "$WORK/health.bin"
        h2 "benefit.$tag" "$CIVIC" /civic.assistance.v1.SocialAssistanceService/ComputeHouseholdBenefit \
            "$WORK/benefit.bin" "authorization: Bearer $TOKEN"
    done
}

if only calls; then
: > "$WORK/calls.txt"
echo "== calls, sharing both cores (h2load -c 4 -m 16 -t 1, ${SECS} s each, alternating)"
start_servers ""
calls shared
stop_servers
if command -v taskset >/dev/null; then
    echo "== calls, each server on CPU 0 (one worker thread), h2load on CPU 1"
    WORKERS=1 start_servers "taskset -c 0"
    H2PIN="taskset -c 1" calls pinned
    stop_servers
fi
python3 - "$WORK/calls.txt" <<'EOF'
import collections, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    label, rps, p99, _, _ = line.split()
    runs[label].append((float(rps), float(p99)))
mean = lambda xs: sum(xs) / len(xs)
for tag in ("shared", "pinned"):
    if f"hello.{tag}" not in runs:
        continue
    rps = {k: mean([r for r, _ in runs[f"{k}.{tag}"]]) for k in ("hello", "health", "benefit")}
    p99 = {k: mean([p for _, p in runs[f"{k}.{tag}"]]) for k in ("hello", "health", "benefit")}
    print(f"ratios, {tag}: health/hello {100 * rps['health'] / rps['hello']:.0f} %, "
          f"benefit/hello {100 * rps['benefit'] / rps['hello']:.0f} %, "
          f"benefit/health {100 * rps['benefit'] / rps['health']:.0f} %, "
          f"benefit p99 / hello p99 {p99['benefit'] / p99['hello']:.2f}")
EOF
fi

if only writes; then

# The PostgreSQL part, run inside scripts/with-postgres (CIVIC_TEST_POSTGRES_URL is set there).
writes() {
    set -euo pipefail
    local base="${CIVIC_TEST_POSTGRES_URL%/*}" addr=127.0.0.1:50099
    psql "$CIVIC_TEST_POSTGRES_URL" -qc "CREATE DATABASE compare_floor" >/dev/null
    psql "$CIVIC_TEST_POSTGRES_URL" -qc "CREATE DATABASE compare_civic" >/dev/null
    psql "$base/compare_floor" -qc "CREATE TABLE roll (household_id text, region_code text, residence text,
        category text, status text, member_id text, age int, able_bodied bool, has_income_proof bool, incomes text)"
    local t0 t1
    t0=$(date +%s.%N)
    psql "$base/compare_floor" -qc "\copy roll FROM '$WORK/roll.csv' WITH (FORMAT csv, HEADER)"
    t1=$(date +%s.%N)
    echo "$t0 $t1" | awk '{printf "psql \\copy of the roll into an unindexed table: %.2f s\n", $2 - $1}' | tee "$WORK/copy.txt"
    serve() {
        CIVIC_DATABASE_URL="$base/compare_civic" CIVIC_LISTEN_ADDR="$addr" CIVIC_METRICS_ADDR="" \
            CIVIC_MAX_MESSAGE_BYTES=$((1 << 30)) CIVIC_LOG=warn target/release/social-assistance &
        PID=$!
        for _ in $(seq 100); do $BENCH load "http://$addr" 0 1 1 >/dev/null 2>&1 && break; sleep 0.1; done
    }
    trap 'kill ${PID:-} 2>/dev/null || true' EXIT
    serve
    $BENCH import "http://$addr" "$WORK/roll.csv" 2019-06-15 | tee "$WORK/import.txt"
    $BENCH recalc "http://$addr" 2019-07-01 | tee "$WORK/recalc.txt"
    kill -TERM $PID; wait $PID || true
    # A fresh start: the first what-if loads the roll.
    serve
    $BENCH whatif "http://$addr" 2019-07-01 5 | tee "$WORK/whatif.txt"
    # It kept the roll's snapshot (in the background): the next start reads that instead.
    for _ in $(seq 600); do
        [ "$(psql "$base/compare_civic" -tAc 'SELECT COUNT(*) FROM roll_snapshots')" -gt 0 ] && break
        sleep 0.1
    done
    kill -TERM $PID; wait $PID || true
    serve
    $BENCH whatif "http://$addr" 2019-07-01 1 | tee "$WORK/whatif-snapshot.txt"
    kill -TERM $PID; wait $PID || true
}

echo "== writes and what-if on PostgreSQL, ${N} households"
export BENCH WORK
export -f writes
PG_DURABLE=1 PG_TLS=0 scripts/with-postgres bash -c writes
$BENCH kernel "$WORK/roll.csv" 5 | tee "$WORK/kernel.txt"
python3 - "$WORK" <<'EOF'
import re, statistics, sys
w = sys.argv[1]
read = lambda name: open(f"{w}/{name}.txt").read()
copy_s = float(re.search(r"([\d.]+) s", read("copy")).group(1))
import_s = float(re.search(r"in ([\d.]+) s", read("import")).group(1))
recalc_s = float(re.search(r"in ([\d.]+) s", read("recalc")).group(1))
whatif = read("whatif")
compute = [float(x) for x in re.findall(r"server compute ([\d.]+) s", whatif)]
first = float(re.search(r"round trip ([\d.]+) s", whatif).group(1))
snapshot = read("whatif-snapshot")
first_kept = float(re.search(r"round trip ([\d.]+) s", snapshot).group(1))
kernel_s = float(re.search(r"per scenario \(median\): ([\d.]+) s", read("kernel")).group(1))
warm = statistics.median(compute[1:]) if len(compute) > 1 else compute[0]
totals = lambda text: re.search(r"difference (-?\d+) yuan/month, gaining (\d+), newly eligible (\d+)", text).groups()
same = totals(whatif) == totals(read("kernel"))
print(f"kernel and WhatIf totals {'equal' if same else 'DIFFER'}: {totals(read('kernel'))} / {totals(whatif)}")
print(f"the first what-if after the next start (the roll's snapshot): totals {'equal' if totals(snapshot) == totals(whatif) else 'DIFFER'}")
print(f"ratios: ImportRoll / copy floor {import_s / copy_s:.1f}×, recalculation / copy floor {recalc_s / copy_s:.1f}×, "
      f"WhatIf warm compute / kernel {warm / kernel_s:.1f}× ({warm:.4f} / {kernel_s:.4f} s), "
      f"first what-if round trip {first:.2f} s (reading the roll), {first_kept:.2f} s (its snapshot)")
EOF
fi

if only others; then
    echo "== land-supervision, 100,000 enterprises and parcels (SQLite)"
    CIVIC_DATABASE_URL="sqlite://$WORK/land.db?mode=rwc" CIVIC_LISTEN_ADDR=127.0.0.1:50096 CIVIC_METRICS_ADDR="" \
        CIVIC_MAX_MESSAGE_BYTES=$((1 << 30)) CIVIC_LOG=warn target/release/land-supervision & PIDS+=($!); LAND_PID=$!
    wait_for 127.0.0.1:50096
    $BENCH land http://127.0.0.1:50096 100000 3
    kill -TERM "$LAND_PID"; wait "$LAND_PID" 2>/dev/null || true
    echo "== budget-performance: ScoreSelfEvaluation beside its health check (SQLite)"
    CIVIC_DATABASE_URL="sqlite://$WORK/budget.db?mode=rwc" CIVIC_LISTEN_ADDR=127.0.0.1:50095 CIVIC_METRICS_ADDR="" \
        CIVIC_LOG=warn CIVIC_CONCURRENCY_LIMIT=1024 target/release/budget-performance & PIDS+=($!); BUDGET_PID=$!
    wait_for 127.0.0.1:50095
    $BENCH budget-load http://127.0.0.1:50095 "$SECS" 4 16
    kill -TERM "$BUDGET_PID"; wait "$BUDGET_PID" 2>/dev/null || true
fi
