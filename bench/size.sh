#!/usr/bin/env bash
# Reads at every size: the same requests against datasets of SIZES documents (200 subscribers,
# 10,000 users: `gen-dataset`), p99 latency under load for each, and the ratio of the largest
# size to the smallest (target: <= 2x). Also the cold start on each dataset.
#
# Requests (subscriber 0, documents drawn at random among its own): FAST history, download,
# search and exportUsersData (its administrator), GET /api/v1/tasks (a visa member), every portal
# bannette with its counts (the visa member's session), the document page and the statistics
# page (the administrator's session).
#
# Settings (environment): SIZES ("10000 1000000"), DURATION (s, 10), CONNS (16), WRK_THREADS
# (2), ENGINE (sqlite | postgres), PG_URL (postgres://postgres@127.0.0.1/postgres: a server
# where throw-away databases may be created), COLD_RUNS (5), PORT (18095), BENCH_DIR,
# EXTRA_CONFIG (lines appended to the server's configuration, e.g. "[fast]\nhistory_cache_ms = 0"),
# WARMUP (s, 3: the same load, unmeasured, before each measured one, so that the figures are the
# steady state and not the first seconds after a start; 0 measures from the start).
# Prints a markdown table on stdout; raw outputs stay in $BENCH_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SIZES=${SIZES:-"10000 1000000"}
DURATION=${DURATION:-10}
CONNS=${CONNS:-16}
WRK_THREADS=${WRK_THREADS:-2}
ENGINE=${ENGINE:-sqlite}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1/postgres}
COLD_RUNS=${COLD_RUNS:-5}
PORT=${PORT:-18095}
EXTRA_CONFIG=${EXTRA_CONFIG:-}
WARMUP=${WARMUP:-3}
BENCH_DIR=${BENCH_DIR:-$(mktemp -d /tmp/parapheur-size.XXXXXX)}
mkdir -p "$BENCH_DIR"
say() { echo "[size] $*" >&2; }

say "building (release)"
cargo build --release -p parapheur-server -p parapheur-bench >&2
BIN=$ROOT/target/release
command -v wrk >/dev/null || { say "wrk is required (Debian package wrk)"; exit 1; }

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    PIDS=()
}
trap cleanup EXIT

wait_http() {
    for _ in $(seq 1 600); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.05; done
    say "no answer from $1"; return 1
}
# wrk output -> p99 in ms
p99() {
    awk 'function ms(v) {
            if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
            if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
            if (v ~ /s$/)  { sub(/s$/, "", v);  return v * 1000 }
            return v }
        $1 == "99%" { printf "%.2f\n", ms($2) }' "$1"
}
rps() { awk '$1 == "Requests/sec:" { printf "%.0f\n", $2 }' "$1"; }

PASSWORD=bench-password
basic() { printf 'Basic %s' "$(printf '%s:%s' "$1" "$PASSWORD" | base64 -w0)"; }
# A portal session of user $1 on base URL $2: prints the Cookie header value.
session() {
    local jar=$BENCH_DIR/jar-$$-$RANDOM csrf
    csrf=$(curl -fsS -c "$jar" "$2/parapheur/login" | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
    curl -fsS -o /dev/null -b "$jar" -c "$jar" --data-urlencode "csrf=$csrf" \
        --data-urlencode "email=$1" --data-urlencode "password=$PASSWORD" \
        --data-urlencode "next=/parapheur/" "$2/parapheur/login"
    awk '!/^#/ || /^#HttpOnly_/ { if (NF >= 7) printf "%s=%s; ", $6, $7 }' "$jar" | sed 's/; $//'
}

declare -A P99 RPS BAD COLD GEN
NAMES=()
for size in $SIZES; do
    dir=$BENCH_DIR/$size
    mkdir -p "$dir"
    if [ "$ENGINE" = postgres ]; then
        dbname=parapheur_size_${size}_$$
        psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $dbname" >/dev/null
        psql "$PG_URL" -qc "CREATE DATABASE $dbname" >/dev/null
        db_url="${PG_URL%/*}/$dbname"
    else
        db_url="sqlite://$dir/data/parapheur.db"
    fi
    printf 'data_dir = "%s"\ndatabase_url = "%s"\nlisten = "127.0.0.1:%s"\nlog = "warn"\n%b\n' \
        "$dir/data" "$db_url" "$PORT" "$EXTRA_CONFIG" >"$dir/parapheur.toml"
    say "$size documents: generating ($ENGINE)"
    t0=$(date +%s.%N)
    layout=$("$BIN/gen-dataset" --config "$dir/parapheur.toml" --documents "$size" 2>"$dir/gen.err")
    t1=$(date +%s.%N)
    GEN[$size]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')
    say "$size documents: generated in ${GEN[$size]} s ($layout)"
    eval "$layout"   # subscribers per_subscriber documents in_progress_from admin visa signer depositor siren

    say "$size documents: cold start ($COLD_RUNS runs)"
    COLD[$size]=$("$BIN/cold-start" --addr "127.0.0.1:$PORT" --runs "$COLD_RUNS" -- \
        "$BIN/parapheur" serve --config "$dir/parapheur.toml" 2>>"$dir/cold.err" | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p')

    "$BIN/parapheur" serve --config "$dir/parapheur.toml" >"$dir/server.out" 2>"$dir/server.err" &
    server=$!
    PIDS+=("$server")
    base=http://127.0.0.1:$PORT
    wait_http "$base/healthz"
    ADMIN=$(basic "$admin")
    VISA=$(basic "$visa")
    COOKIE=$(session "$visa" "$base")
    ADMIN_COOKIE=$(session "$admin" "$base")
    api=$base/parapheur-ws/rest/v1
    # Subscriber 0's documents: ids 1, 1 + subscribers, ...; the visa member's own share.
    count=$(( (documents + subscribers - 1) / subscribers ))
    # load SECONDS WRK_FLAG NAME PATH AUTH COOKIE [METHOD BODY]: one load of the server
    load() {
        local secs=$1 flag=$2
        shift 2
        BENCH_PATH=$2 BENCH_ID_FIRST=1 BENCH_ID_STEP=$subscribers BENCH_ID_COUNT=$count \
            BENCH_AUTH=$3 BENCH_COOKIE=$4 BENCH_METHOD=${5:-GET} BENCH_BODY=${6:-} \
            wrk -t"$WRK_THREADS" -c"$CONNS" -d"${secs}s" ${flag:+"$flag"} -s "$ROOT/bench/reads.lua" "$base"
    }
    # measure NAME PATH AUTH COOKIE [METHOD BODY]
    measure() {
        local name=$1 out=$dir/wrk-$1.txt
        [ "$size" = "${SIZES%% *}" ] && NAMES+=("$name")
        if [ "$WARMUP" != 0 ]; then load "$WARMUP" "" "$@" >/dev/null; fi
        load "$DURATION" --latency "$@" >"$out"
        P99[$name,$size]=$(p99 "$out")
        RPS[$name,$size]=$(rps "$out")
        BAD[$name,$size]=$(sed -n 's/.*READ_BAD=\([0-9]*\).*/\1/p' "$out")
        if [ "${BAD[$name,$size]}" != 0 ]; then
            say "$name at $size: ${BAD[$name,$size]} bad answers; first: $(grep '^FIRST_BAD=' "$out" || true)"
        fi
        say "$name at $size: p99 ${P99[$name,$size]} ms, ${RPS[$name,$size]} req/s"
    }
    # Warm the password cache of both accounts.
    curl -fsS -o /dev/null -H "Authorization: $ADMIN" "$api/documents/v2/1/history"
    curl -fsS -o /dev/null -H "Authorization: $VISA" "$base/api/v1/tasks"
    measure history "/parapheur-ws/rest/v1/documents/v2/{id}/history" "$ADMIN" ""
    measure download "/parapheur-ws/rest/v1/documents/v2/{id}/download" "$ADMIN" ""
    measure tasks "/api/v1/tasks" "$VISA" ""
    measure search "/parapheur-ws/rest/v1/documents/search" "$VISA" "" POST \
        "{\"siren\": \"$siren\", \"state\": \"En cours\"}"
    measure exportUsersData "/parapheur-ws/rest/v1/exportUsersData?siren=$siren" "$ADMIN" ""
    for b in a-viser a-signer mes-depots en-cours termines refuses; do
        measure "bannette $b" "/parapheur/?bannette=$b" "" "$COOKIE"
    done
    measure "document page" "/parapheur/documents/{id}" "" "$ADMIN_COOKIE"
    measure "statistics page" "/parapheur/admin/$siren/statistiques" "" "$ADMIN_COOKIE"
    kill -TERM "$server"; wait "$server" 2>/dev/null || true
    if [ "$ENGINE" = postgres ]; then psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $dbname" >/dev/null || true; fi
done

first=${SIZES%% *}
last=${SIZES##* }
echo
echo "ENGINE=$ENGINE SIZES=\"$SIZES\" DURATION=$DURATION CONNS=$CONNS WARMUP=$WARMUP (wrk -t$WRK_THREADS --latency)"
echo
echo "| request | p99 at $first (ms) | p99 at $last (ms) | ratio (target <= 2) | req/s at $first / $last | bad answers |"
echo "|---|---:|---:|---:|---:|---:|"
for name in "${NAMES[@]}"; do
    a=${P99[$name,$first]} b=${P99[$name,$last]}
    r=$(awk -v a="$a" -v b="$b" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "n/a" }')
    echo "| $name | $a | $b | $r | ${RPS[$name,$first]} / ${RPS[$name,$last]} | ${BAD[$name,$first]} / ${BAD[$name,$last]} |"
done
echo "| cold start (median of $COLD_RUNS, ms) | ${COLD[$first]} | ${COLD[$last]} | | | |"
echo "| dataset generation (s) | ${GEN[$first]} | ${GEN[$last]} | | | |"
