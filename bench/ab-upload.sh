#!/usr/bin/env bash
# Side-by-side durable FAST uploads of two `parapheur` binaries (OLD and NEW, e.g. two commits
# built in release) and of durable-axum (the reference of bench/run.sh), alternated ROUNDS times
# so that all three see the same moments of a shared machine. After each server's round, its
# e-mail backlog is drained before the next load starts. Prints a markdown table.
#
#   OLD=/path/to/old/parapheur NEW=target/release/parapheur bash bench/ab-upload.sh
#
# Settings: ROUNDS (6), DUR (seconds per load, 5), CONNS (16), PAGES (310), WARMUP (1: one
# unmeasured load of each server before the rounds; 0: none), ENGINE (sqlite, or
# postgres: each server on a new database of PG_URL's server, dropped at the end; the blobs stay
# in a local directory), PG_URL (postgres://postgres@127.0.0.1/postgres). Builds nothing but
# the bench helpers; only loopback addresses are used; the data is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${OLD:?OLD=path of the first parapheur binary}" "${NEW:?NEW=path of the second}"
ROUNDS=${ROUNDS:-6}
DUR=${DUR:-5}
CONNS=${CONNS:-16}
PAGES=${PAGES:-310}
ENGINE=${ENGINE:-sqlite}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1/postgres}
cargo build --release -q -p parapheur-bench >&2
BIN=$PWD/target/release
ROOT=$PWD
D=$(mktemp -d "${TMPDIR:-/tmp}/ab-upload.XXXXXX")
AUTH="Basic $(printf '%s' 'depot@demo.parapheur.fr:depot-demo' | base64 -w0)"
PIDS=()
DBS=()
cleanup() {
    kill "${PIDS[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    for db in "${DBS[@]}"; do psql "$PG_URL" -q -c "DROP DATABASE IF EXISTS $db" >&2 || true; done
    rm -rf "$D"
}
trap cleanup EXIT
"$BIN/make-pdf" "$D/doc.pdf" --size 102400 --pages "$PAGES" >/dev/null
for port in 18111 18112; do
    bin=$OLD
    [ "$port" = 18112 ] && bin=$NEW
    if [ "$ENGINE" = postgres ]; then
        db=ab_upload_$$_$port
        psql "$PG_URL" -q -c "CREATE DATABASE $db" >&2
        DBS+=("$db")
        RUST_LOG=warn PARAPHEUR_DATA_DIR="$D/data-$port" PARAPHEUR_DATABASE_URL="${PG_URL%/*}/$db" \
            "$bin" demo --listen "127.0.0.1:$port" >/dev/null 2>&1 &
    else
        RUST_LOG=warn "$bin" demo --listen "127.0.0.1:$port" --data-dir "$D/data-$port" >/dev/null 2>&1 &
    fi
    PIDS+=($!)
done
"$BIN/durable-axum" 127.0.0.1:18113 --dir "$D/reference" >/dev/null 2>&1 &
PIDS+=($!)
for port in 18111 18112; do
    for _ in $(seq 1 200); do curl -fs -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.05; done
done
for _ in $(seq 1 200); do (exec 3<>/dev/tcp/127.0.0.1/18113) 2>/dev/null && break; sleep 0.05; done
# Successful uploads per second of one load (FAILED counts the others).
load() { # URL AUTH RUN
    local out
    out=$(BENCH_PDF=$D/doc.pdf BENCH_RUN=$3 BENCH_AUTH=$2 \
        wrk -t2 -c"$CONNS" -d"${DUR}s" -s "$ROOT/bench/upload.lua" "$1")
    local ok bad secs
    ok=$(sed -n 's/^UPLOAD_OK=\([0-9]*\).*/\1/p' <<<"$out")
    bad=$(sed -n 's/.*UPLOAD_BAD=\([0-9]*\).*/\1/p' <<<"$out")
    secs=$(awk '/requests in/ { v = $4; sub(/s,$/, "", v); print v }' <<<"$out")
    [ "$bad" = 0 ] || echo "[ab-upload] $1: $bad failed: $(grep '^FIRST_BAD=' <<<"$out")" >&2
    awk -v n="$ok" -v s="$secs" 'BEGIN { printf "%.1f", n / s }'
}
drain() { # PORT: wait until the server's e-mail backlog is sent (60 s at most)
    for _ in $(seq 1 600); do
        p=$(curl -fsS "http://127.0.0.1:$1/metrics" | awk '$1 == "parapheur_jobs{status=\"pending\"}" { print $2 }')
        [ "${p:-0}" = 0 ] && return 0
        sleep 0.1
    done
}
API=/parapheur-ws/rest/v1/documents/v2/123456789/DELIBERATIONS/upload
# One unmeasured load of each server first (WARMUP=0 skips it): the first seconds after a start
# open the pool's database connections and create the blob directories.
if [ "${WARMUP:-1}" != 0 ]; then
    load "http://127.0.0.1:18111$API" "$AUTH" old-warm >/dev/null
    drain 18111
    load "http://127.0.0.1:18112$API" "$AUTH" new-warm >/dev/null
    drain 18112
    load http://127.0.0.1:18113/upload none ref-warm >/dev/null
fi
echo "| round | OLD uploads/s | NEW uploads/s | durable-axum uploads/s | OLD / ref | NEW / ref |"
echo "|---|---:|---:|---:|---:|---:|"
for r in $(seq 1 "$ROUNDS"); do
    o=$(load "http://127.0.0.1:18111$API" "$AUTH" "old-$r")
    drain 18111
    n=$(load "http://127.0.0.1:18112$API" "$AUTH" "new-$r")
    drain 18112
    b=$(load http://127.0.0.1:18113/upload none "ref-$r")
    echo "$r $o $n $b" | awk '{ printf "| %d | %.0f | %.0f | %.0f | %.0f %% | %.0f %% |\n", $1, $2, $3, $4, 100 * $2 / $4, 100 * $3 / $4 }'
done
