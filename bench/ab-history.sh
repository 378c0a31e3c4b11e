#!/usr/bin/env bash
# Side-by-side history reads of two `parapheur` binaries (OLD and NEW, e.g. two commits built in
# release) and of bare-axum answering the same bytes, alternated ROUNDS times so that both see
# the same moments of a shared machine. Prints a markdown table.
#
#   OLD=/path/to/old/parapheur NEW=target/release/parapheur bash bench/ab-history.sh
#
# Settings: ROUNDS (6), DUR (seconds per load, 5), CONNS (64). Builds nothing but the bench
# helpers; only loopback addresses are used.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${OLD:?OLD=path of the first parapheur binary}" "${NEW:?NEW=path of the second}"
ROUNDS=${ROUNDS:-6}
DUR=${DUR:-5}
CONNS=${CONNS:-64}
cargo build --release -q -p parapheur-bench >&2
BIN=$PWD/target/release
D=$(mktemp -d /tmp/ab-history.XXXXXX)
AUTH="Basic $(printf '%s' 'depot@demo.parapheur.fr:depot-demo' | base64 -w0)"
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$D"' EXIT
"$BIN/make-pdf" "$D/doc.pdf" --size 102400 --pages 310 >/dev/null
for port in 18101 18102; do
    bin=$OLD
    [ "$port" = 18102 ] && bin=$NEW
    RUST_LOG=warn "$bin" demo --listen "127.0.0.1:$port" --data-dir "$D/data-$port" >/dev/null 2>&1 &
    PIDS+=($!)
done
for port in 18101 18102; do
    for _ in $(seq 1 200); do curl -fs -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.05; done
done
history_url() { # PORT: deposit one document, print its history URL
    local api=http://127.0.0.1:$1/parapheur-ws/rest/v1 id
    id=$(curl -fsS -H "Authorization: $AUTH" -F "doc=@$D/doc.pdf" -F label=ab \
        "$api/documents/v2/123456789/DELIBERATIONS/upload")
    echo "$api/documents/v2/$id/history"
}
OLD_URL=$(history_url 18101)
NEW_URL=$(history_url 18102)
curl -fsS -H "Authorization: $AUTH" "$OLD_URL" >"$D/history.json" # also warms the caches
curl -fsS -H "Authorization: $AUTH" "$NEW_URL" >/dev/null
"$BIN/bare-axum" 127.0.0.1:18103 --body "$D/history.json" >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 200); do curl -fs -o /dev/null http://127.0.0.1:18103/history && break; sleep 0.05; done
rps() { wrk -t2 -c"$CONNS" -d"${DUR}s" "$@" | awk '/Requests\/sec/ { print $2 }'; }
echo "| round | OLD reads/s | NEW reads/s | bare-axum reads/s | OLD / bare | NEW / bare |"
echo "|---|---:|---:|---:|---:|---:|"
for r in $(seq 1 "$ROUNDS"); do
    o=$(rps -H "Authorization: $AUTH" "$OLD_URL")
    n=$(rps -H "Authorization: $AUTH" "$NEW_URL")
    b=$(rps http://127.0.0.1:18103/history)
    echo "$r $o $n $b" | awk '{ printf "| %d | %.0f | %.0f | %.0f | %.0f %% | %.0f %% |\n", $1, $2, $3, $4, 100 * $2 / $4, 100 * $3 / $4 }'
done
