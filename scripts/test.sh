#!/usr/bin/env bash
# Runs the whole test suite. Installs the external tools the tests use when they are missing
# (Debian packages; needs root or sudo), and adds the PostgreSQL run when a server answers on
# 127.0.0.1:5432 (or PARAPHEUR_TEST_DATABASE_URL is set).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
if ((${#missing[@]})); then
  echo "installing ${missing[*]} (used by the tests to read generated PDFs)"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
    { $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq "${missing[@]}"; }
fi

if [ -z "${PARAPHEUR_TEST_DATABASE_URL:-}" ] && command -v pg_isready >/dev/null 2>&1 &&
  pg_isready -h 127.0.0.1 -p 5432 -q; then
  export PARAPHEUR_TEST_DATABASE_URL="postgres://postgres@127.0.0.1/postgres"
fi
echo "PostgreSQL run: ${PARAPHEUR_TEST_DATABASE_URL:-skipped (no server on 127.0.0.1:5432)}"

cargo test --workspace --locked "$@"
