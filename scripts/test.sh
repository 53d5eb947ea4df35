#!/usr/bin/env bash
# The whole test suite (`npm test`): servers up (installed with apt if missing), the envtest
# binaries built once per machine (or taken from KUBEBUILDER_ASSETS), then jest over every component.
# Lint, format and type checks run as jest tests (test/static.test.ts). The pure tests (*.unit.test.ts) run here
# too; `npm run test:unit` runs only them, with no server started or needed (jest.unit.config.js).
#
# Two jest runs: everything else two files at a time, then the incident drill alone: its capped workers need
# the CPU they are promised (a quota is a ceiling, not a reservation), which other suites would take.
# Arguments go to jest and run one pass only, e.g. `npm test -- service/test/catalog.test.ts`.
# TEST_RESULTS_DIR=dir writes each pass's jest JSON results there (.ci/run sums them).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci
bash scripts/services.sh up
if [ -n "${KUBEBUILDER_ASSETS:-}" ] || command -v go >/dev/null 2>&1; then
  # Built here rather than inside a test so its minutes (first run only) never meet a test timeout.
  bash scripts/envtest.sh >/dev/null
elif [ "${CI:-}" = true ]; then
  echo "test: CI needs the cluster tests: install Go or set KUBEBUILDER_ASSETS" >&2
  exit 1
fi

jest() {
  local name=$1
  shift
  local report=()
  [ -n "${TEST_RESULTS_DIR:-}" ] && report=(--json --outputFile="$TEST_RESULTS_DIR/$name.json")
  npm run -s test:jest -- "${report[@]}" "$@"
}

if [ $# -gt 0 ]; then
  jest selected "$@"
  exit
fi
status=0
jest main --testPathIgnorePatterns '/node_modules/' '/dist/' 'drill/test/drill.test.ts' || status=$?
jest drill --runInBand drill/test/drill.test.ts || status=$?
exit "$status"
