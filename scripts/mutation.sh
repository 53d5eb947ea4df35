#!/usr/bin/env bash
# `npm run test:mutation`: StrykerJS over the decisions and the hot paths (stryker.config.js lists the
# modules and the tests), the score per module, which must be at least 85 % for each
# (scripts/mutation-report.ts), then the hand-written mutants of scripts/listed-mutants.ts, each of which
# must be killed. docs/testing.md holds the report of a real run.
# Arguments go to `stryker run`, e.g. `npm run test:mutation -- --mutate controller/src/policy.ts`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci
bash scripts/services.sh up
if [ "${EXCLUDE_CLUSTER_TESTS:-}" = 1 ]; then
  echo "mutation: EXCLUDE_CLUSTER_TESTS=1: the controller's cluster tests are left out, so its modules score low" >&2
else
  # Built here rather than inside the dry run so its minutes (first run only) never meet Stryker's timeout.
  bash scripts/envtest.sh >/dev/null
fi
npx stryker run "$@"
npx tsx scripts/mutation-report.ts reports/mutation/mutation.json | tee reports/mutation/scores.md
# The spot-check's hand-written mutants (SQL text and others Stryker does not generate): each must be killed.
npx tsx scripts/listed-mutants.ts
