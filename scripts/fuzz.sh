#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each (default 60), one at a time, with
# the limits of the security policy, on the seed corpus, and prints a summary.
#   scripts/fuzz.sh [SECONDS] [TARGET...]
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). FUZZ_SKIP_SEEDS=1 skips
# scripts/fuzz-seeds.sh. Findings land in fuzz/artifacts/<target>/; see SECURITY.md (Fuzzing).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=60
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
toolchain=${FUZZ_TOOLCHAIN:-nightly}
limits=(-rss_limit_mb=256 -timeout=5)
# AddressSanitizer keeps freed memory in a quarantine (256 MB by default) that counts towards the
# RSS limit: left as is, a long run reports an out-of-memory that no input causes.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"

[ "${FUZZ_SKIP_SEEDS:-}" = 1 ] || scripts/fuzz-seeds.sh

cd fuzz
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo "+$toolchain" fuzz list)
fi
echo "==> building ${#targets[@]} targets"
cargo "+$toolchain" fuzz build

mkdir -p logs
summary=()
status=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  before=$(find "artifacts/$t" -type f | wc -l)
  echo "==> $t for ${seconds}s"
  # A finding stops the run with a non-zero status: the summary still follows.
  if cargo "+$toolchain" fuzz run "$t" -- "${limits[@]}" -max_total_time="$seconds" \
    -print_final_stats=1 >"logs/$t.log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$' || true)
  if [ -z "$execs" ]; then
    execs=$(grep -o '^#[0-9]*' "logs/$t.log" | tail -1 | tr -d '#' || true)
  fi
  after=$(find "artifacts/$t" -type f | wc -l)
  size=$(find "corpus/$t" -type f | wc -l)
  summary+=("$(printf '%-18s %8ss %12s %8s %6s %s' "$t" "$seconds" "${execs:-?}" "$size" \
    "$((after - before))" "$result")")
done

echo
printf '%-18s %9s %12s %8s %6s %s\n' target time execs corpus new result
printf '%s\n' "${summary[@]}"
echo "(logs in fuzz/logs/, new findings in fuzz/artifacts/<target>/)"
exit $status
