#!/usr/bin/env bash
# Load benchmark of `parapheur` against references measured in the same run:
#   - durable 100 KB PDF uploads/s (FAST v2 upload, a PDF of PAGES pages)  vs  durable-axum (an
#     axum server reading the same multipart request, write+fsync+rename+dir fsync + one
#     committed SQLite insert, WAL, synchronous=FULL), same wrk settings; raw-durable (the same
#     work without HTTP) is reported beside it;
#   - e-mail notifications delivered/s (the uploads' backlog drained through the job queue to the
#     outbox)                                          vs  raw-durable one at a time;
#   - history reads/s on one document, and GET /api/v1/tasks of the visa member (every document
#     the upload runs left waiting)                 vs  bare-axum answering the same bytes;
#   - cold start (launch -> first 200 on /healthz, existing data dir, median of N runs).
# Prints a markdown table on stdout; the raw outputs are kept in $BENCH_DIR.
#
# Settings (environment): DURATION (s, 20), UPLOAD_CONNS ("8 32"), HISTORY_CONNS (64),
# WRK_THREADS (2), RAW_OPS (3000), COLD_RUNS (10), PORT (18080), BARE_PORT (18081),
# COLD_PORT (18082), BENCH_DIR (a new directory under /tmp: put it on the disk to measure),
# KEEP_DATA=1 (keep the data directory and the raw-durable files, several GB, after the run).
# Only loopback addresses are used.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DURATION=${DURATION:-20}
UPLOAD_CONNS=${UPLOAD_CONNS:-"16 64"}
PAGES=${PAGES:-310}
REF_PORT=${REF_PORT:-18083}
HISTORY_CONNS=${HISTORY_CONNS:-64}
WRK_THREADS=${WRK_THREADS:-2}
RAW_OPS=${RAW_OPS:-3000}
COLD_RUNS=${COLD_RUNS:-10}
PORT=${PORT:-18080}
BARE_PORT=${BARE_PORT:-18081}
COLD_PORT=${COLD_PORT:-18082}
BENCH_DIR=${BENCH_DIR:-$(mktemp -d /tmp/parapheur-bench.XXXXXX)}
mkdir -p "$BENCH_DIR"
LOG=$BENCH_DIR/log
: >"$LOG"

say() { echo "[bench] $*" >&2; }

LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
say "building (release)"
cargo build --release -p parapheur-server -p parapheur-bench >&2
BIN=$ROOT/target/release

if ! command -v wrk >/dev/null; then
    say "installing wrk (Debian package)"
    if command -v apt-get >/dev/null; then
        (apt-get update -qq && apt-get install -y -qq wrk) >&2 ||
            sudo sh -c 'apt-get update -qq && apt-get install -y -qq wrk' >&2
    fi
    command -v wrk >/dev/null || { say "wrk is required"; exit 1; }
fi

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
}
trap cleanup EXIT

wait_http() { # URL: wait until it answers 200 (10 s at most)
    for _ in $(seq 1 200); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    say "no answer from $1"
    return 1
}

# wrk output -> "req_per_s p50 p99" (latencies converted to ms).
wrk_fields() {
    awk '
        function ms(v) {
            if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
            if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
            if (v ~ /s$/)  { sub(/s$/, "", v);  return v * 1000 }
            return v
        }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        $1 == "Requests/sec:" { rps = $2 }
        END { printf "%s %.1f %.1f\n", rps, p50, p99 }' "$1"
}
metric() { # NAME: a counter of the server under test
    curl -fsS "http://127.0.0.1:$PORT/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f %%", 100 * a / b; else print "n/a" }'; }

AUTH="Basic $(printf '%s' 'depot@demo.parapheur.fr:depot-demo' | base64 -w0)"
API=http://127.0.0.1:$PORT/parapheur-ws/rest/v1
UPLOAD_URL=$API/documents/v2/123456789/DELIBERATIONS/upload

# --- the test document: a valid ~100 KB PDF -----------------------------------------------------
PDF_INFO=$("$BIN/make-pdf" "$BENCH_DIR/doc.pdf" --size 102400 --pages "$PAGES" | sed 's/^[^:]*: //')

# --- references ------------------------------------------------------------------------------
say "raw-durable serial ($RAW_OPS ops)"
RAW_SERIAL=$("$BIN/raw-durable" --dir "$BENCH_DIR/raw" -n "$RAW_OPS" -c 1 --quiet | sed 's/ops_per_s=//')
declare -A RAW
for c in $UPLOAD_CONNS; do
    say "raw-durable concurrency $c ($RAW_OPS ops)"
    RAW[$c]=$("$BIN/raw-durable" --dir "$BENCH_DIR/raw" -n "$RAW_OPS" -c "$c" --quiet | sed 's/ops_per_s=//')
done

# durable-axum: the same multipart requests, the same durability, nothing else.
declare -A REF REF_P99
"$BIN/durable-axum" "127.0.0.1:$REF_PORT" --dir "$BENCH_DIR/reference" >>"$LOG" 2>&1 &
REF_PID=$!
PIDS+=("$REF_PID")
for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$REF_PORT") 2>/dev/null && break; sleep 0.05; done
for c in $UPLOAD_CONNS; do
    say "durable-axum: $c connections, ${DURATION}s"
    BENCH_PDF=$BENCH_DIR/doc.pdf BENCH_RUN="ref-$c" BENCH_AUTH=none \
        wrk -t"$WRK_THREADS" -c"$c" -d"${DURATION}s" --latency -s "$ROOT/bench/upload.lua" \
        "http://127.0.0.1:$REF_PORT/upload" >"$BENCH_DIR/wrk-reference-c$c.txt"
    ok=$(sed -n 's/^UPLOAD_OK=\([0-9]*\).*/\1/p' "$BENCH_DIR/wrk-reference-c$c.txt")
    secs=$(awk '/requests in/ { v = $4; sub(/s,$/, "", v); print v }' "$BENCH_DIR/wrk-reference-c$c.txt")
    REF[$c]=$(awk -v n="$ok" -v s="$secs" 'BEGIN { printf "%.1f", n / s }')
    read -r _ _ REF_P99[$c] < <(wrk_fields "$BENCH_DIR/wrk-reference-c$c.txt")
done
kill -TERM "$REF_PID"
wait "$REF_PID" 2>/dev/null || true

# bare-axum answering FILE's bytes, measured like the server's route; prints "rps p50 p99".
bare_run() {
    "$BIN/bare-axum" "127.0.0.1:$BARE_PORT" --body "$1" >>"$LOG" 2>&1 &
    local pid=$!
    wait_http "http://127.0.0.1:$BARE_PORT/history"
    wrk -t"$WRK_THREADS" -c"$HISTORY_CONNS" -d"${DURATION}s" --latency \
        "http://127.0.0.1:$BARE_PORT/history" >"$2"
    kill -TERM "$pid"
    wait "$pid" 2>/dev/null || true
    wrk_fields "$2"
}

# --- the server ------------------------------------------------------------------------------
DATA=$BENCH_DIR/data
say "starting parapheur demo on 127.0.0.1:$PORT (data: $DATA)"
RUST_LOG=${RUST_LOG:-warn} "$BIN/parapheur" demo --listen "127.0.0.1:$PORT" --data-dir "$DATA" \
    >"$BENCH_DIR/server.out" 2>"$BENCH_DIR/server.err" &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
wait_http "http://127.0.0.1:$PORT/healthz"

declare -A UP UP_P50 UP_P99 UP_OK UP_BAD
RUN_ID=$(date +%s)
for c in $UPLOAD_CONNS; do
    say "uploads: $c connections, ${DURATION}s"
    BENCH_PDF=$BENCH_DIR/doc.pdf BENCH_RUN="$RUN_ID-c$c" BENCH_AUTH=$AUTH \
        wrk -t"$WRK_THREADS" -c"$c" -d"${DURATION}s" --latency -s "$ROOT/bench/upload.lua" \
        "$UPLOAD_URL" >"$BENCH_DIR/wrk-upload-c$c.txt"
    read -r rps p50 p99 < <(wrk_fields "$BENCH_DIR/wrk-upload-c$c.txt")
    ok=$(sed -n 's/^UPLOAD_OK=\([0-9]*\).*/\1/p' "$BENCH_DIR/wrk-upload-c$c.txt")
    bad=$(sed -n 's/.*UPLOAD_BAD=\([0-9]*\).*/\1/p' "$BENCH_DIR/wrk-upload-c$c.txt")
    secs=$(awk '/requests in/ { v = $4; sub(/s,$/, "", v); print v }' "$BENCH_DIR/wrk-upload-c$c.txt")
    UP[$c]=$(awk -v n="$ok" -v s="$secs" 'BEGIN { printf "%.1f", n / s }')
    UP_P50[$c]=$p50 UP_P99[$c]=$p99 UP_OK[$c]=$ok UP_BAD[$c]=$bad
    if [ "$bad" != 0 ]; then
        say "uploads at $c connections: $bad failed; first: $(grep '^FIRST_BAD=' "$BENCH_DIR/wrk-upload-c$c.txt")"
    fi
    : "$rps"
done

# Every upload into DELIBERATIONS e-mails the visa member (the embedded outbox: one fsynced .eml
# per message, through the job queue). The backlog left by the upload runs is drained before
# the next measures, and the drain rate is a measure of its own.
pending() { metric 'parapheur_jobs{status="pending"}'; }
BACKLOG=$(pending)
say "notifications: draining $BACKLOG queued e-mails"
T0=$(date +%s.%N)
while [ "$(pending)" != 0 ]; do sleep 0.1; done
T1=$(date +%s.%N)
DRAIN=$(awk -v n="$BACKLOG" -v a="$T0" -v b="$T1" 'BEGIN { printf "%.1f", (b > a) ? n / (b - a) : 0 }')
MAILS=$(metric parapheur_mails_sent_total)

say "history: $HISTORY_CONNS connections, ${DURATION}s"
DOC_ID=$(curl -fsS -H "Authorization: $AUTH" -F "doc=@$BENCH_DIR/doc.pdf" \
    -F "label=history-$RUN_ID" "$UPLOAD_URL")
case $DOC_ID in *[!0-9]*|'') say "history: the setup upload failed: $DOC_ID"; exit 1 ;; esac
HIST_URL=$API/documents/v2/$DOC_ID/history
curl -fsS -H "Authorization: $AUTH" "$HIST_URL" >"$BENCH_DIR/history.json" # warms the auth cache
HIST_BYTES=$(stat -c %s "$BENCH_DIR/history.json")
ERR0=$(metric parapheur_fast_errors_total)
wrk -t"$WRK_THREADS" -c"$HISTORY_CONNS" -d"${DURATION}s" --latency -H "Authorization: $AUTH" \
    "$HIST_URL" >"$BENCH_DIR/wrk-history.txt"
read -r HIST_RPS HIST_P50 HIST_P99 < <(wrk_fields "$BENCH_DIR/wrk-history.txt")
HIST_ERR=$(($(metric parapheur_fast_errors_total) - ERR0))
HIST_NON2XX=$(awk '/Non-2xx/ { print $NF }' "$BENCH_DIR/wrk-history.txt")
HIST_NON2XX=${HIST_NON2XX:-0}
DOCS=$(metric parapheur_uploads_total)

# The visa member's tasks: every document the upload runs left waiting for them.
VAUTH="Basic $(printf '%s' 'valideur@demo.parapheur.fr:valideur-demo' | base64 -w0)"
TASKS_URL=http://127.0.0.1:$PORT/api/v1/tasks
curl -fsS -H "Authorization: $VAUTH" "$TASKS_URL" >"$BENCH_DIR/tasks.json"
TASKS_BYTES=$(stat -c %s "$BENCH_DIR/tasks.json")
TASKS_N=$(grep -o '"id"' "$BENCH_DIR/tasks.json" | wc -l)
say "tasks: $HISTORY_CONNS connections, ${DURATION}s ($TASKS_N documents, $TASKS_BYTES bytes)"
wrk -t"$WRK_THREADS" -c"$HISTORY_CONNS" -d"${DURATION}s" --latency -H "Authorization: $VAUTH" \
    "$TASKS_URL" >"$BENCH_DIR/wrk-tasks.txt"
read -r TASKS_RPS TASKS_P50 TASKS_P99 < <(wrk_fields "$BENCH_DIR/wrk-tasks.txt")

kill -TERM "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true

say "bare-axum: the history's bytes, then the tasks' bytes"
read -r BARE_RPS BARE_P50 BARE_P99 < <(bare_run "$BENCH_DIR/history.json" "$BENCH_DIR/wrk-bare.txt")
read -r BARE_T_RPS BARE_T_P50 BARE_T_P99 < <(bare_run "$BENCH_DIR/tasks.json" "$BENCH_DIR/wrk-bare-tasks.txt")

# --- cold start on the data directory just filled ---------------------------------------------
cat >"$BENCH_DIR/serve.toml" <<EOF
listen = "127.0.0.1:$COLD_PORT"
data_dir = "$DATA"
log = "warn"
EOF
say "cold start: parapheur serve, $COLD_RUNS runs ($DOCS documents in the data dir)"
"$BIN/cold-start" --addr "127.0.0.1:$COLD_PORT" --runs "$COLD_RUNS" -- \
    "$BIN/parapheur" serve --config "$BENCH_DIR/serve.toml" >"$BENCH_DIR/cold-serve.txt"
COLD_SERVE=$(sed -n 's/^median_ms=\([0-9.]*\).*/\1/p' "$BENCH_DIR/cold-serve.txt")
COLD_SERVE_RANGE=$(sed -n 's/^median_ms=[0-9.]* min_ms=\([0-9.]*\) max_ms=\([0-9.]*\)/\1–\2/p' "$BENCH_DIR/cold-serve.txt")
say "cold start: parapheur demo, $COLD_RUNS runs"
"$BIN/cold-start" --addr "127.0.0.1:$COLD_PORT" --runs "$COLD_RUNS" -- \
    "$BIN/parapheur" demo --listen "127.0.0.1:$COLD_PORT" --data-dir "$DATA" >"$BENCH_DIR/cold-demo.txt"
COLD_DEMO=$(sed -n 's/^median_ms=\([0-9.]*\).*/\1/p' "$BENCH_DIR/cold-demo.txt")
COLD_DEMO_RANGE=$(sed -n 's/^median_ms=[0-9.]* min_ms=\([0-9.]*\) max_ms=\([0-9.]*\)/\1–\2/p' "$BENCH_DIR/cold-demo.txt")

LOAD_END=$(cut -d' ' -f1 /proc/loadavg)

# --- report -----------------------------------------------------------------------------------
met() { awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t) ? "met" : "**missed**" }'; }
echo
echo "Run: $(date -u +%Y-%m-%dT%H:%MZ), duration ${DURATION}s per load, wrk -t$WRK_THREADS," \
    "PDF $PDF_INFO, history body $HIST_BYTES bytes, raw-durable $RAW_OPS ops," \
    "1-min load average $LOAD_START at the start, $LOAD_END at the end (the run itself adds ~2-3)."
echo
echo "| measure | parapheur | reference | ratio | target | result |"
echo "| --- | ---: | ---: | ---: | --- | --- |"
for c in $UPLOAD_CONNS; do
    r=$(awk -v a="${UP[$c]}" -v b="${REF[$c]}" 'BEGIN { print (b > 0) ? a / b : 0 }')
    echo "| durable 100 KB uploads/s ($PAGES pages), $c connections (p50 ${UP_P50[$c]} ms, p99 ${UP_P99[$c]} ms; ${UP_OK[$c]} ok, ${UP_BAD[$c]} failed) | ${UP[$c]} | ${REF[$c]} (durable-axum, p99 ${REF_P99[$c]} ms) | $(ratio "${UP[$c]}" "${REF[$c]}") | ≥ 60 % | $(met "$r" 0.6) |"
done
for c in $UPLOAD_CONNS; do
    echo "| the same uploads/s, $c connections, against the work without HTTP | ${UP[$c]} | ${RAW[$c]} (raw-durable -c $c) | $(ratio "${UP[$c]}" "${RAW[$c]}") | | |"
done
for c in $UPLOAD_CONNS; do
    r=$(awk -v a="${UP[$c]}" -v b="$RAW_SERIAL" 'BEGIN { print (b > 0) ? a / b : 0 }')
    echo "| the same uploads/s, $c connections, against the serial loop | ${UP[$c]} | $RAW_SERIAL (raw-durable, one at a time) | $(ratio "${UP[$c]}" "$RAW_SERIAL") | ≥ 50 % | $(met "$r" 0.5) |"
done
r=$(awk -v a="$DRAIN" -v b="$RAW_SERIAL" 'BEGIN { print (b > 0) ? a / b : 0 }')
echo "| e-mail notifications delivered/s through the job queue to the outbox (fsynced .eml + batched completion), draining a backlog of $BACKLOG ($MAILS sent in the run) | $DRAIN | $RAW_SERIAL (raw-durable, one at a time) | $(ratio "$DRAIN" "$RAW_SERIAL") | ≥ 50 % | $(met "$r" 0.5) |"
r=$(awk -v a="$HIST_RPS" -v b="$BARE_RPS" 'BEGIN { print (b > 0) ? a / b : 0 }')
echo "| history reads/s, $HISTORY_CONNS connections (p50 $HIST_P50 ms, p99 $HIST_P99 ms; errors: $HIST_ERR FAST, $HIST_NON2XX non-2xx) | $HIST_RPS | $BARE_RPS (bare-axum, the same $HIST_BYTES bytes; p50 $BARE_P50 ms, p99 $BARE_P99 ms) | $(ratio "$HIST_RPS" "$BARE_RPS") | ≥ 75 % | $(met "$r" 0.75) |"
r=$(awk -v a="$TASKS_RPS" -v b="$BARE_T_RPS" 'BEGIN { print (b > 0) ? a / b : 0 }')
echo "| GET /api/v1/tasks/s, $HISTORY_CONNS connections, $TASKS_N documents waiting (p50 $TASKS_P50 ms, p99 $TASKS_P99 ms) | $TASKS_RPS | $BARE_T_RPS (bare-axum, the same $TASKS_BYTES bytes; p99 $BARE_T_P99 ms) | $(ratio "$TASKS_RPS" "$BARE_T_RPS") | ≥ 50 % | $(met "$r" 0.5) |"
c_ok=$(awk -v m="$COLD_SERVE" 'BEGIN { print (m < 200) ? "met" : "**missed**" }')
echo "| cold start, \`serve\`, median of $COLD_RUNS (min–max $COLD_SERVE_RANGE ms; $DOCS documents) | $COLD_SERVE ms | | | < 200 ms | $c_ok |"
c_ok=$(awk -v m="$COLD_DEMO" 'BEGIN { print (m < 200) ? "met" : "**missed**" }')
echo "| cold start, \`demo\` (re-applies the demo provisioning), median of $COLD_RUNS (min–max $COLD_DEMO_RANGE ms) | $COLD_DEMO ms | | | < 200 ms | $c_ok |"
echo
if [ "${KEEP_DATA:-0}" != 1 ]; then
    rm -rf "$DATA" "$BENCH_DIR/raw" "$BENCH_DIR/reference" # gigabytes of blobs; KEEP_DATA=1 keeps them
fi
say "raw outputs in $BENCH_DIR"
