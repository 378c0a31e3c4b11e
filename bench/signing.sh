#!/usr/bin/env bash
# Signing benchmarks with their references, measured in the same run:
#   - criterion: PAdES B-B seal (RSA-2048) of a 100 KB and a 5 MB PDF, from the bytes alone and
#     continuing a kept SHA-256 state as the server does (crates/parapheur-bench/benches/seal.rs),
#     and the same 100 KB seal at B-T, B-LT and B-LTA (built-in timestamp authority);
#   - `openssl speed -seconds 3 rsa2048` (single core sign/s) and `openssl speed -seconds 3 -bytes 16384 sha256`;
#   - pyHanko signing the same 100 KB file in-process (bench/pyhanko_sign.py);
#   - peak RSS when sealing a 100 MB PDF (`/usr/bin/time -v`).
# Prints a markdown table; raw outputs stay in $BENCH_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH_DIR=${BENCH_DIR:-$(mktemp -d /tmp/parapheur-signing.XXXXXX)}
say() { echo "[signing] $*" >&2; }

say "building (release)"
cargo build --release -p parapheur-bench --bin seal-file >&2
BIN=target/release

say "criterion benches"
SEAL_BENCH_WRITE_DIR=$BENCH_DIR cargo bench -p parapheur-bench --bench seal -- --noplot >"$BENCH_DIR/criterion.txt" 2>&1
# "time:   [low mid high]" lines follow each benchmark name; keep the middle estimate in ms.
crit_ms() {
    # The estimate line follows the name (or shares its line); take the middle value.
    awk -v name="$1" '
        index($0, name) == 1 { found = 1 }
        found && match($0, /time: +\[[^ ]+ [^ ]+ ([^ ]+) ([^ ]+)/, m) {
            v = m[1]; u = m[2];
            if (u == "µs" || u == "us") v = v / 1000; else if (u == "s") v = v * 1000; else if (u == "ns") v = v / 1e6;
            print v; exit }' "$BENCH_DIR/criterion.txt"
}
SEAL100=$(crit_ms "seal_100k/pades_b_b_rsa2048")
SEAL5M=$(crit_ms "seal_5m/pades_b_b_rsa2048")
SEAL100S=$(crit_ms "seal_100k/pades_b_b_rsa2048_stored")
SEAL100SN=$(crit_ms "seal_100k/pades_b_b_rsa2048_stored_next_state")
RSAONLY=$(crit_ms "rsa2048_sign_only")
LVL_B=$(crit_ms "seal_100k_level/B-B")
LVL_T=$(crit_ms "seal_100k_level/B-T")
LVL_LT=$(crit_ms "seal_100k_level/B-LT")
LVL_LTA=$(crit_ms "seal_100k_level/B-LTA")

say "openssl speed"
openssl speed -seconds 3 rsa2048 >"$BENCH_DIR/openssl-rsa.txt" 2>/dev/null
OSSL_SIGN=$(awk '/^rsa 2048 bits/ { print $(NF-1) }' "$BENCH_DIR/openssl-rsa.txt")
openssl speed -seconds 3 -bytes 16384 sha256 >"$BENCH_DIR/openssl-sha.txt" 2>/dev/null
OSSL_SHA_KBS=$(awk '/^sha256/ { v = $NF; sub(/k$/, "", v); print v }' "$BENCH_DIR/openssl-sha.txt")

say "pyHanko in-process"
python3 - "$BENCH_DIR" <<'PY'
import sys, datetime
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
d = sys.argv[1]
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pyHanko bench")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256()))
open(f"{d}/bench.p12", "wb").write(pkcs12.serialize_key_and_certificates(
    b"bench", key, cert, None, serialization.BestAvailableEncryption(b"pw")))
PY
PYH=$(python3 bench/pyhanko_sign.py "$BENCH_DIR/seal_100k.pdf" "$BENCH_DIR/bench.p12" pw 30)
PYH_MS=$(echo "$PYH" | sed -n 's/.*ms_per_signature=\([0-9.]*\).*/\1/p')

say "peak RSS sealing 100 MB PDFs (25 scanned pages; one single 100 MB image)"
rss() { # FILE -> "kib ms"
    /usr/bin/time -v "$BIN/seal-file" seal "$1" "$BENCH_DIR/big-signed.pdf" >"$BENCH_DIR/big.out" 2>"$BENCH_DIR/big.time"
    echo "$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$BENCH_DIR/big.time") $(sed -n 's/sealed [0-9]* bytes in \([0-9.]*\) ms/\1/p' "$BENCH_DIR/big.out")"
}
"$BIN/seal-file" make 104857600 "$BENCH_DIR/big.pdf" 25
BIG=$(stat -c %s "$BENCH_DIR/big.pdf")
read -r RSS_KB BIG_MS < <(rss "$BENCH_DIR/big.pdf")
"$BIN/seal-file" make 104857600 "$BENCH_DIR/big.pdf" 1
BIG1=$(stat -c %s "$BENCH_DIR/big.pdf")
read -r RSS1_KB BIG1_MS < <(rss "$BENCH_DIR/big.pdf")
rm -f "$BENCH_DIR/big.pdf" "$BENCH_DIR/big-signed.pdf"

S100=$(stat -c %s "$BENCH_DIR/seal_100k.pdf"); S5M=$(stat -c %s "$BENCH_DIR/seal_5m.pdf")
r() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f %%", 100 * a / b }'; }
echo
echo "Run: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), 1-min load $(cut -d' ' -f1 /proc/loadavg)."
echo
echo "| measure | parapheur | reference | ratio | target |"
echo "| --- | ---: | ---: | ---: | --- |"
echo "| seal of a 100 KB PDF ($S100 bytes), seals/s | $(awk -v m="$SEAL100" 'BEGIN { printf "%.0f", 1000 / m }') ($SEAL100 ms) | $OSSL_SIGN (openssl speed rsa2048, sign/s) | $(r "$(awk -v m="$SEAL100" 'BEGIN { print 1000 / m }')" "$OSSL_SIGN") | ≥ 85 % |"
echo "| the same seal of a stored document (the store's kept SHA-256 state continued), seals/s | $(awk -v m="$SEAL100S" 'BEGIN { printf "%.0f", 1000 / m }') ($SEAL100S ms) | $OSSL_SIGN | $(r "$(awk -v m="$SEAL100S" 'BEGIN { print 1000 / m }')" "$OSSL_SIGN") | ≥ 85 % |"
echo "| the same, also bringing the state over the appended revision (as the store then does), seals/s | $(awk -v m="$SEAL100SN" 'BEGIN { printf "%.0f", 1000 / m }') ($SEAL100SN ms) | $OSSL_SIGN | $(r "$(awk -v m="$SEAL100SN" 'BEGIN { print 1000 / m }')" "$OSSL_SIGN") | |"
echo "| the same seal against pyHanko in-process | $SEAL100 ms | $PYH_MS ms ($PYH) | $(awk -v a="$PYH_MS" -v b="$SEAL100" 'BEGIN { printf "%.1f×", a / b }') faster | ≥ 20× |"
echo "| seal of a 5 MB PDF ($S5M bytes), MB/s | $(awk -v m="$SEAL5M" -v s="$S5M" 'BEGIN { printf "%.0f", s / m / 1000 }') ($SEAL5M ms) | $(awk -v k="$OSSL_SHA_KBS" 'BEGIN { printf "%.0f", k / 1000 }') (openssl speed sha256, 16 KB blocks) | $(r "$(awk -v m="$SEAL5M" -v s="$S5M" 'BEGIN { print s / m / 1000 }')" "$(awk -v k="$OSSL_SHA_KBS" 'BEGIN { print k / 1000 }')") | ≥ 70 % |"
echo "| RSA-2048 signature alone (criterion, our Credential::sign) | $RSAONLY ms | $(awk -v s="$OSSL_SIGN" 'BEGIN { printf "%.3f", 1000 / s }') ms (openssl speed) | | |"
echo "| peak RSS sealing a $BIG-byte PDF of 25 scanned pages ($BIG_MS ms) | $((RSS_KB / 1024)) MiB | $((BIG / 1048576)) MiB (file size) | $(r "$((RSS_KB * 1024))" "$BIG") | < 200 % |"
echo "| peak RSS, worst case: a $BIG1-byte PDF made of one single image ($BIG1_MS ms) | $((RSS1_KB / 1024)) MiB | $((BIG1 / 1048576)) MiB | $(r "$((RSS1_KB * 1024))" "$BIG1") | < 200 % |"
echo
echo "PAdES levels of a 100 KB seal (built-in timestamp authority, in-process; sizes of the results in $BENCH_DIR):"
echo
echo "| level | ms per seal | seals/s | against B-B | file size |"
echo "| --- | ---: | ---: | ---: | ---: |"
for l in B-B B-T B-LT B-LTA; do
    case $l in B-B) v=$LVL_B ;; B-T) v=$LVL_T ;; B-LT) v=$LVL_LT ;; B-LTA) v=$LVL_LTA ;; esac
    echo "| $l | $v | $(awk -v m="$v" 'BEGIN { printf "%.0f", 1000 / m }') | $(awk -v a="$v" -v b="$LVL_B" 'BEGIN { printf "%.2f×", a / b }') | $(stat -c %s "$BENCH_DIR/seal_100k_$l.pdf") |"
done
say "raw outputs in $BENCH_DIR"
