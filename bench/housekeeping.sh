#!/usr/bin/env bash
# The retention purge and the orphan sweep at scale: a dataset of DOCS documents (`gen-dataset`),
# each document given a file of its own and ORPHANS more files no row refers to, then
# (each step a process of its own, its peak memory its own):
#   1. the sweep as it was before session 13, kept as the reference: every stored key and every
#      referenced key loaded, orphans counted (nothing deleted);
#   2. the sweep as the server runs it: the store walked in chunks of 500 keys, each checked
#      against the blob_key indexes, orphans deleted (must delete exactly ORPHANS, plus the
#      dataset's shared file that no document refers to any more);
#   3. the same sweep again (nothing left to delete: the daily cost);
#   4. PURGE_RUNS runs of the retention purge (1,000 documents a run).
# Settings (environment): DOCS (1000000), ORPHANS (100000), PURGE_RUNS (3), ENGINE (sqlite |
# postgres), PG_URL, BENCH_DIR. Prints a markdown table on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DOCS=${DOCS:-1000000}
ORPHANS=${ORPHANS:-100000}
PURGE_RUNS=${PURGE_RUNS:-3}
ENGINE=${ENGINE:-sqlite}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1/postgres}
BENCH_DIR=${BENCH_DIR:-$(mktemp -d /tmp/parapheur-housekeeping.XXXXXX)}
mkdir -p "$BENCH_DIR"
say() { echo "[housekeeping] $*" >&2; }

say "building (release)"
cargo build --release -p parapheur-bench --bin gen-dataset --bin housekeeping-bench >&2
BIN=$ROOT/target/release

if [ "$ENGINE" = postgres ]; then
    dbname=parapheur_housekeeping_$$
    psql "$PG_URL" -qc "CREATE DATABASE $dbname" >/dev/null
    db_url="${PG_URL%/*}/$dbname"
    trap 'psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $dbname" >/dev/null 2>&1 || true' EXIT
else
    db_url="sqlite://$BENCH_DIR/data/parapheur.db"
fi
cfg=$BENCH_DIR/parapheur.toml
printf 'data_dir = "%s"\ndatabase_url = "%s"\nlog = "warn"\n[retention]\npurge_after_days = 1\n' \
    "$BENCH_DIR/data" "$db_url" >"$cfg"

say "generating $DOCS documents ($ENGINE)"
"$BIN/gen-dataset" --config "$cfg" --documents "$DOCS" >/dev/null 2>"$BENCH_DIR/gen.err"
hk() { "$BIN/housekeeping-bench" --config "$cfg" "$@" | tee -a "$BENCH_DIR/results.txt"; }
say "prepare: $DOCS referenced files, $ORPHANS orphans"
hk prepare --referenced "$DOCS" --orphans "$ORPHANS" >&2
reference=$(hk sweep --load-all)
first=$(hk sweep)
second=$(hk sweep)
purge=$(hk purge --runs "$PURGE_RUNS")
field() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$2"; }
# The dataset's shared file is an orphan too once every document has its own.
expected=$(( ORPHANS + 1 ))
if [ "$(field deleted "$first")" != "$expected" ] || [ "$(field orphans "$reference")" != "$expected" ]; then
    say "expected $expected orphans: reference '$reference', sweep '$first'"; exit 1
fi
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
echo "| step ($ENGINE, $DOCS documents, $(( DOCS + ORPHANS + 1 )) files) | seconds | peak RSS (MiB) | peak before the step (MiB) | result |"
echo "|---|---|---|---|---|"
for row in "load-all sweep (reference)|$reference" "chunked sweep|$first" "chunked sweep, nothing left|$second"; do
    name=${row%%|*}; line=${row#*|}
    echo "| $name | $(field seconds "$line") | $(mib "$(field peak_kib "$line")") | $(mib "$(field peak_before_kib "$line")") | $(field candidates "$line") candidates, $(field orphans "$line") orphans, $(field deleted "$line") deleted |"
done
echo "| retention purge, $PURGE_RUNS runs | $(field seconds "$purge") | $(mib "$(field peak_kib "$purge")") | $(mib "$(field peak_before_kib "$purge")") | $(field purged "$purge") documents purged |"
say "raw results in $BENCH_DIR/results.txt"
