#!/usr/bin/env bash
# One command that runs Satchel with the embedded defaults: SQLite + local disk
# in ./satchel-data, a demo project whose keys are printed, every API on
# http://127.0.0.1:8080. Extra arguments go to `satchel serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
mkdir -p bin
go build -o bin/satchel ./cmd/satchel
exec ./bin/satchel serve "$@"
