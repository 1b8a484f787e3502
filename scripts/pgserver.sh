#!/usr/bin/env bash
# Makes a PostgreSQL server available on 127.0.0.1:5432 for the tests (installing
# and starting Debian's package when none answers), creates the satchel_test
# database, and prints the export line for SATCHEL_TEST_DATABASE_URL.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
if ! command -v pg_isready >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >&2
  $SUDO apt-get install -y -qq postgresql >/dev/null
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  ver=$(ls /etc/postgresql | sort -V | tail -n1)
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
psqlc() { if [ "$(id -u)" = 0 ]; then su postgres -c "psql -q -v ON_ERROR_STOP=1 $*"; else sudo -u postgres psql -q -v ON_ERROR_STOP=1 "$@"; fi; }
if ! psqlc "-tAc \"SELECT 1 FROM pg_database WHERE datname='satchel_test'\"" | grep -q 1; then
  psqlc "-c \"CREATE DATABASE satchel_test\"" >&2
fi
psqlc "-c \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='satchel') THEN CREATE ROLE satchel LOGIN PASSWORD 'satchel' SUPERUSER; END IF; END \\\$\\\$\"" >&2
echo "export SATCHEL_TEST_DATABASE_URL='postgres://satchel:satchel@127.0.0.1:5432/satchel_test?sslmode=disable'"
