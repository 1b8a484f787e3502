#!/usr/bin/env bash
# Browser tests: installs what is missing (Debian's chromium, the npm packages
# of e2e/), builds Satchel and the form example, starts them on free loopback
# ports with a temporary data dir and known demo keys, and runs the node tests
# in e2e/ (all of them, or the files given as arguments). Screenshots go to
# .ci/out/. Never downloads a browser: Chromium comes from apt.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
started=$(date +%s)
source scripts/deps.sh

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v curl >/dev/null 2>&1 || need+=(curl)
if ((${#need[@]})); then
  echo "== installing ${need[*]} (apt)"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
lock_sum="$(sha256sum e2e/package-lock.json | cut -d' ' -f1)"
if [ "$(cat e2e/node_modules/.satchel-lock 2>/dev/null)" != "$lock_sum" ]; then
  echo "== npm ci (e2e)"
  (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" >e2e/node_modules/.satchel-lock
fi

work=$(mktemp -d /tmp/satchel-e2e.XXXXXX)
pids=()
own_clamd=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "$own_clamd" ] && [ -s "$own_clamd" ]; then kill "$(cat "$own_clamd")" 2>/dev/null || true; fi
  if [ "${E2E_KEEP:-}" = "" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

echo "== building satchel and examples/formapp"
go build -o "$work/satchel" ./cmd/satchel
go build -o "$work/formapp" ./examples/formapp

freeport() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
waitup() {
  for _ in $(seq 1 150); do
    if curl -fs -o /dev/null "$1"; then return 0; fi
    sleep 0.2
  done
  echo "not up: $1" >&2
  return 1
}

# clamd for the virus-scan add-on of clients.test.mjs: the one scripts/test.sh
# started, or our own on a free port with the repository's test signatures.
clamd_addr=${SATCHEL_TEST_CLAMD_ADDR:-}
if [ -z "$clamd_addr" ]; then
  eval "$(CLAMD_PORT=$(freeport) CLAMD_DIR="$work/clamd" bash scripts/clamd.sh)"
  clamd_addr=$SATCHEL_TEST_CLAMD_ADDR
  own_clamd="$work/clamd/clamd.pid"
fi

port=$(freeport)
export SATCHEL_URL="http://127.0.0.1:$port"
export SATCHEL_PUB_KEY=e2epublickey SATCHEL_SECRET_KEY=e2esecretkey
export SATCHEL_PUB=$SATCHEL_PUB_KEY SATCHEL_SECRET=$SATCHEL_SECRET_KEY
export SATCHEL_ADMIN_TOKEN="e2e-admin-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
SATCHEL_DEMO_PUBLIC_KEY=$SATCHEL_PUB_KEY SATCHEL_DEMO_SECRET_KEY=$SATCHEL_SECRET_KEY SATCHEL_RATE_LIMIT=0 \
  "$work/satchel" serve --addr "127.0.0.1:$port" --data-dir "$work/data" --fetch-allow-private \
  --clamd-addr "$clamd_addr" --log-level warn >"$work/satchel.log" 2>&1 &
pids+=($!)
waitup "$SATCHEL_URL/healthz"
# The binary and data dir, for tests that add projects with `satchel project`.
export SATCHEL_BIN="$work/satchel" SATCHEL_DATA_DIR="$work/data"

fport=$(freeport)
export FORMAPP_URL="http://127.0.0.1:$fport"
"$work/formapp" --addr "127.0.0.1:$fport" --satchel "$SATCHEL_URL" --pub-key "$SATCHEL_PUB_KEY" \
  --secret-key "$SATCHEL_SECRET_KEY" >"$work/formapp.log" 2>&1 &
pids+=($!)
waitup "$FORMAPP_URL/"

mkdir -p .ci/out
export E2E_OUT="$root/.ci/out"
echo "== browser tests (satchel at $SATCHEL_URL, form example at $FORMAPP_URL)"
cd e2e
status=0
if [ $# -gt 0 ]; then
  node --test --test-concurrency=1 "$@" || status=$?
else
  node --test --test-concurrency=1 ./*.test.mjs || status=$?
fi
if [ $status -ne 0 ]; then
  echo "== satchel log (last 40 lines)"; tail -n 40 "$work/satchel.log" || true
  echo "== formapp log (last 40 lines)"; tail -n 40 "$work/formapp.log" || true
fi
echo "== e2e took $(( $(date +%s) - started ))s"
exit $status
