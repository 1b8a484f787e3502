#!/usr/bin/env bash
# Makes an S3-compatible server available on 127.0.0.1 for the tests of the S3
# blob store: versitygw (POSIX backend) is installed with `go install` when
# missing, started in the background when not running, the test bucket is
# created, and the export lines the tests read are printed on stdout:
#
#   eval "$(bash scripts/s3server.sh)" && go test ./blobstore/...
#
# Running it again while the server answers only prints the exports.
# `bash scripts/s3server.sh stop` stops the server (its data is kept).
#
# Settings (environment):
#   SATCHEL_S3_BIN_DIR where the versitygw binary is installed (default ~/.cache/satchel/bin)
#   SATCHEL_S3_DIR     server state: data, pid, port, log (default $TMPDIR/satchel-s3server-UID)
#   SATCHEL_S3_PORT    port to listen on (default: the first free one from 19000)
set -euo pipefail

VGW_MODULE=github.com/versity/versitygw
VGW_VERSION=v1.8.0
ACCESS_KEY=satchel
SECRET_KEY=satchelsecret
REGION=us-east-1
BUCKET=satchel-test

BIN_DIR=${SATCHEL_S3_BIN_DIR:-$HOME/.cache/satchel/bin}
BIN=$BIN_DIR/versitygw
STATE=${SATCHEL_S3_DIR:-${TMPDIR:-/tmp}/satchel-s3server-$(id -u)}
PID_FILE=$STATE/pid
PORT_FILE=$STATE/port
LOG=$STATE/server.log

log() { echo "s3server: $*" >&2; }

print_exports() {
  echo "export SATCHEL_TEST_S3_URL='s3://$BUCKET?endpoint=http://127.0.0.1:$1&region=$REGION&use_path_style=true'"
  echo "export AWS_ACCESS_KEY_ID='$ACCESS_KEY'"
  echo "export AWS_SECRET_ACCESS_KEY='$SECRET_KEY'"
}

running_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid=$(cat "$PID_FILE")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # The pid may have been reused by an unrelated process after a reboot.
  local exe
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [ "${exe% (deleted)}" = "$(readlink -f "$BIN")" ] || return 1
  echo "$pid"
}

# answers PORT: true when an HTTP server answers on 127.0.0.1:PORT.
answers() {
  local code
  code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1/" 2>/dev/null) || true
  [ -n "$code" ] && [ "$code" != 000 ]
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if [ "${1:-}" = stop ]; then
  if pid=$(running_pid); then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    log "stopped (pid $pid)"
  else
    log "not running"
  fi
  rm -f "$PID_FILE"
  exit 0
fi

if ! command -v curl >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq curl >/dev/null
fi

mkdir -p "$STATE"
if pid=$(running_pid) && [ -f "$PORT_FILE" ] && answers "$(cat "$PORT_FILE")"; then
  print_exports "$(cat "$PORT_FILE")"
  exit 0
fi
if pid=$(running_pid); then
  log "pid $pid does not answer: restarting it"
  kill "$pid" 2>/dev/null || true
  sleep 1
fi
rm -f "$PID_FILE"

# Install the pinned version unless that exact version is already there.
have=$( (go version -m "$BIN" 2>/dev/null || true) | awk -v m="$VGW_MODULE" '$1 == "mod" && $2 == m { print $3 }')
if [ "$have" != "$VGW_VERSION" ]; then
  log "installing $VGW_MODULE@$VGW_VERSION into $BIN_DIR (takes a minute or two)"
  mkdir -p "$BIN_DIR"
  GOBIN=$BIN_DIR GOFLAGS=-buildvcs=false go install "$VGW_MODULE/cmd/versitygw@$VGW_VERSION" >&2
fi

port=${SATCHEL_S3_PORT:-}
if [ -z "$port" ]; then
  port=19000
  while port_in_use "$port"; do
    port=$((port + 1))
    if [ "$port" -gt 19100 ]; then log "no free port in 19000-19100"; exit 1; fi
  done
elif port_in_use "$port"; then
  log "port $port is taken"
  exit 1
fi

mkdir -p "$STATE/data"
# Detached from this shell (own session, no inherited stdout), so that
# eval "$(...)" returns and the server outlives the caller.
setsid "$BIN" --access "$ACCESS_KEY" --secret "$SECRET_KEY" --region "$REGION" \
  --port "127.0.0.1:$port" --quiet posix "$STATE/data" \
  </dev/null >"$LOG" 2>&1 &
pid=$!
echo "$pid" >"$PID_FILE"
echo "$port" >"$PORT_FILE"

for _ in $(seq 1 100); do
  answers "$port" && break
  if ! kill -0 "$pid" 2>/dev/null; then
    log "server exited; its log ($LOG):"
    cat "$LOG" >&2
    rm -f "$PID_FILE"
    exit 1
  fi
  sleep 0.1
done
if ! answers "$port"; then
  log "server (pid $pid) does not answer on 127.0.0.1:$port; log: $LOG"
  exit 1
fi

# Create the bucket (200, or 409 when it exists).
code=$(curl -s -o "$STATE/create.out" -w '%{http_code}' -X PUT \
  --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
  -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
  "http://127.0.0.1:$port/$BUCKET") || code=000
case "$code" in
  200 | 409) ;;
  *)
    log "creating bucket $BUCKET failed (HTTP $code):"
    cat "$STATE/create.out" >&2 || true
    exit 1
    ;;
esac
log "versitygw $VGW_VERSION (pid $pid) serves 127.0.0.1:$port from $STATE/data"
print_exports "$port"
