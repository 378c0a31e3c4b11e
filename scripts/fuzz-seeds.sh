#!/usr/bin/env bash
# Fills the (git-ignored) seed corpus of every fuzz target, fuzz/corpus/<target>/:
#   - generated documents (PDFs signed and not, PES, XAdES, SOAP, MTOM, ZIP, metadata, circuits),
#     written by the ignored test `write_fuzz_seeds` of crates/parapheur-server;
#   - third-party files of the shared fixtures directory when present (never committed);
#   - the committed regression inputs, fuzz/regressions/<target>/.
# Existing corpus files are kept (the corpus grows from run to run).
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
root=$PWD
corpus=$root/fuzz/corpus
fixtures=${PARAPHEUR_FIXTURES_DIR:-${PARAPHEUR_SHARED_DIR:-$root/../shared}/fixtures}
mkdir -p "$corpus"

echo "==> generated seeds"
PARAPHEUR_FUZZ_SEEDS=$corpus cargo test -q -p parapheur-server --test fuzz_regressions \
  write_fuzz_seeds -- --ignored --exact >/dev/null

# put TARGET FILE...: copies each file under a name made of its content hash (no clash, no dup).
put() {
  local target=$1; shift
  mkdir -p "$corpus/$target"
  for f in "$@"; do
    [ -f "$f" ] || continue
    cp "$f" "$corpus/$target/$(sha1sum "$f" | cut -c1-40)"
  done
}

if [ -d "$fixtures" ]; then
  echo "==> fixtures from $fixtures"
  while IFS= read -r -d '' f; do
    case "${f,,}" in
      *.pdf) put pdf_reader "$f"; put pdf_deposit_check "$f" ;;
      *.zip) put zip_unpack "$f" ;;
      *.json) put circuit_json "$f" ;;
      *.xml)
        if grep -q 'PES_Aller' "$f"; then put pes "$f"; fi
        if grep -q 'meta-data-list' "$f"; then put metadata_xml "$f"; fi
        if grep -q 'Envelope' "$f"; then put soap_envelope "$f"; fi
        if grep -q 'QualifyingProperties' "$f"; then put xades_verify "$f"; fi
        ;;
    esac
  done < <(find "$fixtures" -type f -print0)
fi

if [ -d fuzz/regressions ]; then
  for d in fuzz/regressions/*/; do
    put "$(basename "$d")" "$d"*
  done
fi

for d in "$corpus"/*/; do
  printf '%-18s %4d seeds\n' "$(basename "$d")" "$(find "$d" -type f | wc -l)"
done
