#!/usr/bin/env bash
# The whole test suite (`npm test`): servers up (installed with apt if missing), the envtest
# binaries built once per machine (or taken from KUBEBUILDER_ASSETS), the local cluster's packages,
# binaries and images (`npm run cluster -- prepare`), then jest over every component.
# Lint, format and type checks run as jest tests (test/static.test.ts). The pure tests (*.unit.test.ts) run here
# too; `npm run test:unit` runs only them, with no server started or needed (jest.unit.config.js).
#
# Three jest runs: everything else two files at a time; then the local cluster suite alone (a real node
# whose pods need the CPU); then the incident drill alone: its capped workers need the CPU they are
# promised (a quota is a ceiling, not a reservation), which other suites would take.
# Arguments go to jest and run one pass only, e.g. `npm test -- service/test/catalog.test.ts`.
# TEST_RESULTS_DIR=dir writes each pass's jest JSON results there (.ci/run sums them).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci
bash scripts/services.sh up
if [ "${EXCLUDE_CLUSTER_TESTS:-}" = 1 ]; then
  echo "test: EXCLUDE_CLUSTER_TESTS=1: the cluster suites are left out on purpose (each says so)" >&2
elif [ -n "${KUBEBUILDER_ASSETS:-}" ] || command -v go >/dev/null 2>&1; then
  # Built here rather than inside a test so its minutes (first run only) never meet a test timeout.
  bash scripts/envtest.sh >/dev/null
  # kube-linter and pint for the chart checks (cdk8s/test/external-checks.test.ts).
  bash scripts/check-tools.sh >/dev/null
else
  echo "test: the cluster tests need Go or KUBEBUILDER_ASSETS (or EXCLUDE_CLUSTER_TESTS=1 to leave them out)" >&2
  exit 1
fi
# The local cluster's packages, binaries and images likewise (root only: the node needs it). If this
# fails the cluster suite still runs, and fails saying why: it never skips.
npm run -s cluster -- prepare >/dev/null || echo "test: npm run cluster -- prepare failed; the cluster suite says why" >&2

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
jest main --testPathIgnorePatterns '/node_modules/' '/dist/' '<rootDir>/.stryker-tmp/' 'drill/test/drill.test.ts' '/devkit/test/cluster/' || status=$?
jest cluster --runInBand devkit/test/cluster/ || status=$?
jest drill --runInBand drill/test/drill.test.ts || status=$?
exit "$status"
