#!/usr/bin/env bash
# Starts a clamd for the tests on 127.0.0.1:3310 (or $CLAMD_PORT) with the
# signature database the repository ships (testdata/clamav: the EICAR test
# file), so no signature download is needed; installs Debian's clamav-daemon
# when clamd is missing. Prints the export line for SATCHEL_TEST_CLAMD_ADDR.
# Idempotent: a clamd already answering on the port is reused.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
port=${CLAMD_PORT:-3310}
dir=${CLAMD_DIR:-/tmp/satchel-clamd}
clamd=$(command -v clamd || echo /usr/sbin/clamd)
if [ ! -x "$clamd" ]; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq --no-install-recommends clamav-daemon >/dev/null
  clamd=/usr/sbin/clamd
fi
ping() { exec 3<>"/dev/tcp/127.0.0.1/$port" && printf 'zPING\0' >&3 && timeout 2 head -c 4 <&3 | grep -q PONG; } 2>/dev/null
if ! ping; then
  mkdir -p "$dir/db"
  cp "$root"/testdata/clamav/*.hdb "$dir/db/"
  cat >"$dir/clamd.conf" <<CONF
TCPSocket $port
TCPAddr 127.0.0.1
DatabaseDirectory $dir/db
PidFile $dir/clamd.pid
LogFile $dir/clamd.log
StreamMaxLength 100M
MaxFileSize 100M
MaxScanSize 100M
Foreground no
CONF
  if [ "$(id -u)" = 0 ]; then echo "User root" >>"$dir/clamd.conf"; fi
  "$clamd" --config-file="$dir/clamd.conf" >&2
  for _ in $(seq 1 60); do ping && break; sleep 0.5; done
  ping || { echo "clamd did not start; see $dir/clamd.log" >&2; exit 1; }
fi
echo "export SATCHEL_TEST_CLAMD_ADDR='tcp:127.0.0.1:$port'"
