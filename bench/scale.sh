#!/usr/bin/env bash
# Scale-out benchmark: durable 100 KB PDF uploads/s and signatures/s (PAdES, the signer's P-256
# key) with one `parapheur serve` on SQLite, one on PostgreSQL, and two instances on one
# PostgreSQL database sharing the data directory, all measured in the same run.
# Prints a markdown table on stdout; raw outputs stay in $BENCH_DIR.
#
# Settings (environment): DURATION (s, 10: the upload load; the signature load lasts half of it,
# so that the documents just deposited do not run out), CONNS (16, spread over the instances), WRK_THREADS
# (2 per wrk process), PG_URL (postgres://postgres@127.0.0.1/postgres: a server where a
# throw-away database may be created), PORT (18090, and the next one), BENCH_DIR.
# Note: every process (the instances, PostgreSQL, wrk) shares this machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DURATION=${DURATION:-10}
SIGN_DURATION=$(( DURATION / 2 > 2 ? DURATION / 2 : 2 ))
CONNS=${CONNS:-16}
WRK_THREADS=${WRK_THREADS:-2}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1/postgres}
PORT=${PORT:-18090}
BENCH_DIR=${BENCH_DIR:-$(mktemp -d /tmp/parapheur-scale.XXXXXX)}
mkdir -p "$BENCH_DIR"
say() { echo "[scale] $*" >&2; }

say "building (release)"
cargo build --release -p parapheur-server -p parapheur-bench >&2
BIN=$ROOT/target/release
command -v wrk >/dev/null || { say "wrk is required (Debian package wrk)"; exit 1; }
command -v psql >/dev/null || { say "psql is required"; exit 1; }

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    PIDS=()
}
trap cleanup EXIT

wait_http() {
    for _ in $(seq 1 400); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.05; done
    say "no answer from $1"; return 1
}

"$BIN/make-pdf" "$BENCH_DIR/doc.pdf" --size 102400 >/dev/null

cat >"$BENCH_DIR/provision.toml" <<'EOF'
[[subscribers]]
siren = "123456789"
name = "Commune de Bench"

[[users]]
email = "depot@bench.fr"
first_name = "Denise"
last_name = "Dépôt"
password = "depot-bench"
subscribers = ["123456789"]

[[users]]
email = "signataire@bench.fr"
first_name = "Sacha"
last_name = "Signataire"
password = "signataire-bench"
subscribers = ["123456789"]

[[circuits]]
siren = "123456789"
id = "SIGNATURE"
type = "BUREAUTIQUE_PDF"
depositors = ["depot@bench.fr"]
steps = [ { step = "signature", members = ["signataire@bench.fr"] } ]
EOF

DEPOT="Basic $(printf '%s' 'depot@bench.fr:depot-bench' | base64 -w0)"
SIGNER="Basic $(printf '%s' 'signataire@bench.fr:signataire-bench' | base64 -w0)"

# run NAME DATABASE_URL INSTANCES -> "uploads_per_s signatures_per_s upload_failures sign_failures"
run() {
    local name=$1 db=$2 n=$3
    local dir=$BENCH_DIR/$name
    mkdir -p "$dir"
    cat >"$dir/parapheur.toml" <<EOF
data_dir = "$dir/data"
database_url = "$db"
provision = "$BENCH_DIR/provision.toml"
log = "warn"
EOF
    local bases=()
    for i in $(seq 0 $((n - 1))); do
        local port=$((PORT + i))
        PARAPHEUR_LISTEN="127.0.0.1:$port" "$BIN/parapheur" serve --config "$dir/parapheur.toml" \
            >"$dir/server-$i.out" 2>"$dir/server-$i.err" &
        PIDS+=($!)
        wait_http "http://127.0.0.1:$port/healthz"
        bases+=("http://127.0.0.1:$port")
    done
    local per=$((CONNS / n))
    # Uploads, spread over the instances by one wrk process each.
    local wpids=()
    for i in "${!bases[@]}"; do
        BENCH_PDF=$BENCH_DIR/doc.pdf BENCH_RUN="$name-$i" BENCH_AUTH=$DEPOT \
            wrk -t"$WRK_THREADS" -c"$per" -d"${DURATION}s" -s "$ROOT/bench/upload.lua" \
            "${bases[$i]}/parapheur-ws/rest/v1/documents/v2/123456789/SIGNATURE/upload" \
            >"$dir/wrk-upload-$i.txt" &
        wpids+=($!)
    done
    wait "${wpids[@]}"
    local ok=0 bad=0 secs
    for i in "${!bases[@]}"; do
        ok=$((ok + $(sed -n 's/^UPLOAD_OK=\([0-9]*\).*/\1/p' "$dir/wrk-upload-$i.txt")))
        bad=$((bad + $(sed -n 's/.*UPLOAD_BAD=\([0-9]*\).*/\1/p' "$dir/wrk-upload-$i.txt")))
    done
    local up
    up=$(awk -v n="$ok" -v s="$DURATION" 'BEGIN { printf "%.1f", n / s }')
    # Signatures of the documents just deposited (ids 1..ok in a fresh database), each once.
    wpids=()
    for i in "${!bases[@]}"; do
        BENCH_AUTH=$SIGNER BENCH_FROM=1 BENCH_TO=$ok BENCH_WORKERS=$n BENCH_WORKER=$i \
            BENCH_THREADS=$WRK_THREADS \
            wrk -t"$WRK_THREADS" -c"$per" -d"${SIGN_DURATION}s" -s "$ROOT/bench/sign.lua" \
            "${bases[$i]}" >"$dir/wrk-sign-$i.txt" &
        wpids+=($!)
    done
    local t0 t1
    t0=$(date +%s.%N)
    wait "${wpids[@]}"
    t1=$(date +%s.%N)
    local sbad=0 ex=0
    for i in "${!bases[@]}"; do
        sbad=$((sbad + $(sed -n 's/.*SIGN_BAD=\([0-9]*\).*/\1/p' "$dir/wrk-sign-$i.txt")))
        ex=$((ex + $(sed -n 's/.*EXHAUSTED=\([0-9]*\).*/\1/p' "$dir/wrk-sign-$i.txt")))
    done
    # Counted by the server: documents classified (signed) in the subscriber.
    local signed
    signed=$(curl -fsS -H "Authorization: $DEPOT" -H 'Content-Type: application/json' \
        -d '{"siren":"123456789","state":"Classé"}' \
        "${bases[0]}/parapheur-ws/rest/v1/documents/search" | tr -cd ',' | wc -c)
    [ "$signed" -gt 0 ] && signed=$((signed + 1))
    local sg
    sg=$(awk -v n="$signed" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')
    [ "$ex" -gt 0 ] && say "$name: the deposited documents ran out during the signature load (rate is a lower bound)"
    cleanup
    echo "$up $sg $bad $sbad $ok $signed"
}

say "SQLite, one instance"
read -r S_UP S_SG S_BAD S_SBAD S_OK S_SIGNED < <(run sqlite "sqlite://$BENCH_DIR/sqlite/data/parapheur.db" 1)

DB1=parapheur_scale_$(date +%s)_1
DB2=parapheur_scale_$(date +%s)_2
PG_PREFIX=${PG_URL%/*}
psql "$PG_URL" -q -c "CREATE DATABASE $DB1" -c "CREATE DATABASE $DB2" >&2
say "PostgreSQL, one instance"
read -r P1_UP P1_SG P1_BAD P1_SBAD P1_OK P1_SIGNED < <(run pg1 "$PG_PREFIX/$DB1" 1)
say "PostgreSQL, two instances"
read -r P2_UP P2_SG P2_BAD P2_SBAD P2_OK P2_SIGNED < <(run pg2 "$PG_PREFIX/$DB2" 2)
psql "$PG_URL" -q -c "DROP DATABASE $DB1" -c "DROP DATABASE $DB2" >&2 || true

echo
echo "Run: $(date -u +%Y-%m-%dT%H:%MZ), uploads for ${DURATION}s then signatures for ${SIGN_DURATION}s, $CONNS connections in all" \
    "(split between the instances), wrk -t$WRK_THREADS per instance, $(nproc) cores shared by" \
    "the instances, PostgreSQL and wrk; \`DURATION=$DURATION bash bench/scale.sh\`."
echo
echo "| setup | durable 100 KB uploads/s | signatures/s (PAdES, one per document) | failures (upload / sign) |"
echo "| --- | ---: | ---: | --- |"
echo "| SQLite, 1 instance | $S_UP ($S_OK) | $S_SG ($S_SIGNED) | $S_BAD / $S_SBAD |"
echo "| PostgreSQL, 1 instance | $P1_UP ($P1_OK) | $P1_SG ($P1_SIGNED) | $P1_BAD / $P1_SBAD |"
echo "| PostgreSQL, 2 instances | $P2_UP ($P2_OK) | $P2_SG ($P2_SIGNED) | $P2_BAD / $P2_SBAD |"
echo
say "raw outputs in $BENCH_DIR"
