#!/usr/bin/env bash
# Runs clients/python/ (pytest) against a real Satchel with the official
# Python client, pyuploadcare, and its Django fields.
#
#   PYUPLOADCARE_SRC=/path/to/pyuploadcare bash scripts/pyclient.sh [pytest args]
#
# PYUPLOADCARE_SRC is a checkout of pyuploadcare's source at a 4.x tag (v4.3.0
# is the one tested): the 4.x line runs on Debian 12's python3-pydantic (1.10)
# and python3-httpx (0.23); 5.x and later need pydantic 2, which Debian 12 does
# not package. The source is not part of this repository and no package of it
# is available from the registries this project uses, so this script is not a
# CI step: without PYUPLOADCARE_SRC it says so and exits 0 without testing.
#
# Installs the Debian packages it needs when missing (python3-httpx,
# python3-pydantic, python3-dateutil, python3-typing-extensions,
# python3-email-validator, python3-django, python3-pytest), builds Satchel,
# starts it on a free loopback port with a temporary data dir and known demo
# keys, and runs the tests with the system python3 (/usr/bin/python3).
# Set SATCHEL_TEST_CLAMD_ADDR (scripts/clamd.sh) to include the virus-scan
# add-on.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ -z "${PYUPLOADCARE_SRC:-}" ]; then
  echo "pyclient: PYUPLOADCARE_SRC is not set (a pyuploadcare 4.x source checkout); nothing tested"
  exit 0
fi
if [ ! -f "$PYUPLOADCARE_SRC/pyuploadcare/__init__.py" ]; then
  echo "pyclient: $PYUPLOADCARE_SRC has no pyuploadcare/__init__.py" >&2
  exit 1
fi
source scripts/deps.sh

py=/usr/bin/python3
need=()
for m in httpx:python3-httpx pydantic:python3-pydantic dateutil:python3-dateutil \
  typing_extensions:python3-typing-extensions email_validator:python3-email-validator \
  django:python3-django pytest:python3-pytest; do
  "$py" -c "import ${m%%:*}" 2>/dev/null || need+=("${m#*:}")
done
command -v curl >/dev/null 2>&1 || need+=(curl)
if ((${#need[@]})); then
  echo "== installing ${need[*]} (apt)"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/satchel-py.XXXXXX)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ "${PYCLIENT_KEEP:-}" = "" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

if [ -n "${SATCHEL_BIN:-}" ]; then
  cp "$SATCHEL_BIN" "$work/satchel"
else
  echo "== building satchel"
  go build -o "$work/satchel" ./cmd/satchel
fi

port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PYCLIENT_URL="http://127.0.0.1:$port"
export PYCLIENT_PUB_KEY=pypublickey PYCLIENT_SECRET_KEY=pysecretkey
extra=()
if [ -n "${SATCHEL_TEST_CLAMD_ADDR:-}" ]; then extra+=(--clamd-addr "$SATCHEL_TEST_CLAMD_ADDR"); fi
SATCHEL_DEMO_PUBLIC_KEY=$PYCLIENT_PUB_KEY SATCHEL_DEMO_SECRET_KEY=$PYCLIENT_SECRET_KEY SATCHEL_RATE_LIMIT=0 \
  "$work/satchel" serve --addr "127.0.0.1:$port" --data-dir "$work/data" --fetch-allow-private \
  --log-level warn "${extra[@]}" >"$work/satchel.log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do
  if curl -fs -o /dev/null "$PYCLIENT_URL/healthz"; then break; fi
  sleep 0.2
done
curl -fs -o /dev/null "$PYCLIENT_URL/healthz" || { echo "satchel did not start" >&2; cat "$work/satchel.log" >&2; exit 1; }
# A custom storage for remote copies, and a second project that requires
# signed delivery URLs (SQLite takes these from a second process).
"$work/satchel" project update --data-dir "$work/data" --public-key "$PYCLIENT_PUB_KEY" \
  --storage "remote=file://$work/remote" >/dev/null
export PYCLIENT_SECURE_PUB_KEY=pysecurekey PYCLIENT_SECURE_SECRET_KEY=pysecuresecret
export PYCLIENT_DELIVERY_SECRET=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
"$work/satchel" project create --data-dir "$work/data" --name secure --public-key "$PYCLIENT_SECURE_PUB_KEY" \
  --secret-key "$PYCLIENT_SECURE_SECRET_KEY" --secure-delivery "$PYCLIENT_DELIVERY_SECRET" >/dev/null

# pyuploadcare reads these at import; the Django fields have no API base setting.
export UPLOADCARE_API_BASE="$PYCLIENT_URL/" UPLOADCARE_UPLOAD_BASE="$PYCLIENT_URL/" UPLOADCARE_CDN_BASE="$PYCLIENT_URL/"
export PYTHONPATH="$PYUPLOADCARE_SRC${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1
echo "== pyuploadcare $("$py" -c 'import pyuploadcare; print(pyuploadcare.__version__)') against satchel at $PYCLIENT_URL"
status=0
(cd clients/python && "$py" -m pytest -p no:cacheprovider -q "$@") || status=$?
if [ $status -ne 0 ]; then
  echo "== satchel log (last 40 lines)"; tail -n 40 "$work/satchel.log" || true
fi
exit $status
