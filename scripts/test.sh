#!/usr/bin/env bash
# One command that runs Satchel's tests: installs what is missing, then vets
# and tests every package (the crash test, the official-client conformance
# tests and the SDK module included).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
# clamd with the repository's test signatures, for the virus-scan add-on tests.
eval "$(bash scripts/clamd.sh)"
go vet ./...
# The Go SDK is its own module (ucare/go.mod), which ./... does not enter;
# its tests that need a real server are in sdktest/, in this module.
(cd ucare && CGO_ENABLED=0 go build ./... && go vet ./...)
go test -count=1 -timeout 20m ./...
(cd ucare && go test -count=1 ./...)
# Browser tests in the system Chromium (installed from apt when missing):
# the dashboard, the upload page, the form example and the official uploader.
bash e2e/run.sh
