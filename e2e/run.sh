#!/usr/bin/env bash
# Browser tests: installs what is missing (Debian chromium, Node, the npm
# packages of package-lock.json; never a downloaded browser), builds Satchel,
# starts it on a free loopback port with a temporary data dir and demo keys,
# and runs the node:test files given (default: every e2e/*.test.mjs).
# Screenshots land in .ci/out/ (gitignored).
#
#   bash e2e/run.sh                      # all browser tests
#   bash e2e/run.sh dashboard.test.mjs   # one feature
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

source scripts/deps.sh

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if ((${#need[@]})); then
  echo "e2e: installing ${need[*]}" >&2
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
lock_sum="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$here/node_modules/.satchel-lock" 2>/dev/null)" != "$lock_sum" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" >"$here/node_modules/.satchel-lock"
fi

work="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/satchel" ./cmd/satchel

port="$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')"
export SATCHEL_URL="http://127.0.0.1:$port"
export SATCHEL_PUB="e2edemopublic"
export SATCHEL_SECRET="e2edemosecret"
export SATCHEL_ADMIN_TOKEN="e2e-admin-$(node -e 'console.log(require("crypto").randomBytes(8).toString("hex"))')"
mkdir -p "$root/.ci/out"
export E2E_OUT="$root/.ci/out"

SATCHEL_DEMO_PUBLIC_KEY="$SATCHEL_PUB" SATCHEL_DEMO_SECRET_KEY="$SATCHEL_SECRET" \
  SATCHEL_FETCH_ALLOW_PRIVATE=1 SATCHEL_RATE_LIMIT=0 \
  "$work/satchel" serve --addr "127.0.0.1:$port" --data-dir "$work/data" >"$E2E_OUT/satchel.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  if curl -fsS "$SATCHEL_URL/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "e2e: satchel did not start:" >&2
    cat "$E2E_OUT/satchel.log" >&2
    exit 1
  fi
  sleep 0.1
done

cd "$here"
if (($#)); then
  files=("$@")
else
  files=(*.test.mjs)
fi
node --test --test-concurrency=1 "${files[@]}"
