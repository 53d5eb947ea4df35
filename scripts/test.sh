#!/usr/bin/env bash
# The whole test suite (`npm test`): servers up (installed with apt if missing), the envtest
# binaries built once per machine (or taken from KUBEBUILDER_ASSETS), then one jest run over
# every component. Lint, format and type checks run as jest tests (test-support/test/static.test.ts).
# Extra arguments go to jest, e.g. `npm test -- service/test/catalog.test.ts`.
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
exec npm run -s test:jest -- "$@"
