#!/usr/bin/env bash
# One command that runs Satchel's tests: installs what is missing, then vets
# and tests every package (the crash test and the official-client conformance
# tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
go vet ./...
go test -count=1 -timeout 20m ./...
