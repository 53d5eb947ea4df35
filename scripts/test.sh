#!/usr/bin/env bash
# The whole test suite: servers up (installed if missing), then one jest run over every component.
# Lint, format and type checks run as jest tests too (test-support/test/static.test.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci
bash scripts/services.sh up
exec npm run -s test:jest -- "$@"
