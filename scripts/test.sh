#!/usr/bin/env bash
# Runs the whole test suite. Installs the external tools the tests use when they are missing
# (Debian packages, needing root or sudo; pyHanko and signxml from PyPI), and adds the PostgreSQL
# run when a server answers on 127.0.0.1:5432 (or PARAPHEUR_TEST_DATABASE_URL is set).
set -euo pipefail
cd "$(dirname "$0")/.."

# Independent validators and readers the tests use (Debian packages, PyPI packages).
missing=()
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
# The fiche's QR code is read back with zbar.
command -v zbarimg >/dev/null 2>&1 || missing+=(zbar-tools)
command -v qpdf >/dev/null 2>&1 || missing+=(qpdf)
command -v xmlsec1 >/dev/null 2>&1 || missing+=(xmlsec1)
command -v certutil >/dev/null 2>&1 || missing+=(libnss3-tools)
# PHP's SoapClient drives the SOAP service tests as Pastell and ESUP-Oasis do.
{ command -v php >/dev/null 2>&1 && php -m 2>/dev/null | grep -qx soap; } || missing+=(php-cli php-soap)
# The portal's browser tests drive Debian's headless Chromium through chromedriver.
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# PKCS#11 seals are tested against SoftHSM2.
command -v softhsm2-util >/dev/null 2>&1 || missing+=(softhsm2)
# A real reverse proxy in front of the server (deploy/nginx/parapheur.conf).
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
# A real directory for the LDAP synchronisation.
{ [ -x /usr/sbin/slapd ] && command -v ldapadd >/dev/null 2>&1; } || missing+=(slapd ldap-utils)
# A PDF/A made by another tool (Ghostscript) is signed in the PAdES tests.
command -v gs >/dev/null 2>&1 || missing+=(ghostscript)
if ((${#missing[@]})); then
  echo "installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  # slapd asks for an administrator password unless installed non-interactively.
  apt=(env DEBIAN_FRONTEND=noninteractive apt-get)
  $sudo_cmd "${apt[@]}" install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
    { $sudo_cmd "${apt[@]}" update -qq && $sudo_cmd "${apt[@]}" install -y -qq "${missing[@]}"; }
fi
if ! command -v pyhanko >/dev/null 2>&1 || ! command -v moto_server >/dev/null 2>&1 ||
  ! python3 -c "import signxml, lxml, aiosmtpd, boto3, standardwebhooks, opentelemetry.proto" 2>/dev/null; then
  echo "installing pyhanko, signxml, lxml, aiosmtpd, standardwebhooks, moto (S3-compatible server), opentelemetry-proto from PyPI"
  python3 -m pip install -q pyhanko pyhanko-cli pyhanko-certvalidator signxml lxml aiosmtpd standardwebhooks 'moto[server]' opentelemetry-proto
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi # pyenv needs a shim for new commands
  hash -r
  command -v pyhanko >/dev/null 2>&1 || { echo "pyhanko is still not on PATH after pip install" >&2; exit 1; }
  command -v moto_server >/dev/null 2>&1 || { echo "moto_server is still not on PATH after pip install" >&2; exit 1; }
fi

# axe-core (npm) audits every portal page of the Chromium test (RGAA); kept under target/.
AXE_DIR=target/axe-core
if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
  echo "installing axe-core (npm) into $AXE_DIR"
  mkdir -p "$AXE_DIR" && npm install --prefix "$AXE_DIR" --no-audit --no-fund -q axe-core
fi
export PARAPHEUR_AXE_JS=$PWD/$AXE_DIR/node_modules/axe-core/axe.min.js

# oidc-provider (npm, OpenID Certified) is the real provider of the portal's single sign-on test.
OIDC_DIR=target/oidc-provider
if [ ! -f "$OIDC_DIR/node_modules/oidc-provider/lib/index.js" ]; then
  echo "installing oidc-provider (npm) into $OIDC_DIR"
  mkdir -p "$OIDC_DIR" && npm install --prefix "$OIDC_DIR" --no-audit --no-fund -q oidc-provider@9
fi

# Schemathesis (PyPI) runs generated requests against the OpenAPI description of a live server;
# in its own virtual environment under target/ (its dependencies stay apart from pyHanko's).
ST_DIR=target/schemathesis
if [ ! -x "$ST_DIR/bin/st" ]; then
  echo "installing Schemathesis (PyPI) into $ST_DIR"
  rm -rf "$ST_DIR" && python3 -m venv "$ST_DIR" && "$ST_DIR/bin/pip" install -q 'schemathesis>=4.32,<5'
fi
export PARAPHEUR_SCHEMATHESIS=$PWD/$ST_DIR/bin/st

# The SEDA 2.1 schema the archive tests validate against, from the PyPI package that ships it.
SEDA_DIR=target/seda-xsd
if [ ! -f "$SEDA_DIR/cubicweb_seda/xsd/seda-2.1-main.xsd" ]; then
  echo "downloading the SEDA 2.1 XSD (PyPI cubicweb-seda)"
  rm -rf "$SEDA_DIR" && mkdir -p "$SEDA_DIR"
  python3 -m pip download --no-deps -q -d "$SEDA_DIR" cubicweb-seda==2.4.1
  (cd "$SEDA_DIR" && python3 -m zipfile -e cubicweb_seda-*.whl .)
fi
export PARAPHEUR_SEDA_XSD=$PWD/$SEDA_DIR/cubicweb_seda/xsd/seda-2.1-main.xsd

if [ -z "${PARAPHEUR_TEST_DATABASE_URL:-}" ] && command -v pg_isready >/dev/null 2>&1 &&
  pg_isready -h 127.0.0.1 -p 5432 -q; then
  export PARAPHEUR_TEST_DATABASE_URL="postgres://postgres@127.0.0.1/postgres"
fi
echo "PostgreSQL run: ${PARAPHEUR_TEST_DATABASE_URL:-skipped (no server on 127.0.0.1:5432)}"

cargo test --workspace --locked "$@"

# The server's end-to-end suite again, on PostgreSQL (a fresh database per test app).
if [ -n "${PARAPHEUR_TEST_DATABASE_URL:-}" ] && command -v psql >/dev/null 2>&1; then
  echo "server suite on PostgreSQL"
  PARAPHEUR_TEST_SERVER_DATABASE_URL=$PARAPHEUR_TEST_DATABASE_URL cargo test -p parapheur-server --locked "$@"
fi
