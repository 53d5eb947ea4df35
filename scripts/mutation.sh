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
  # One API server for every mutant's jest run (each would start its own otherwise).
  cluster_env=$(mktemp)
  # node itself (no npx wrapper), so the kill below reaches the process that stops the servers.
  node --import tsx scripts/mutation-cluster.ts "$cluster_env" &
  cluster_pid=$!
  trap 'kill "$cluster_pid" 2>/dev/null; rm -f "$cluster_env"' EXIT
  while [ ! -s "$cluster_env" ]; do
    kill -0 "$cluster_pid" 2>/dev/null || { echo "mutation: the test cluster did not start" >&2; exit 1; }
    sleep 1
  done
  # shellcheck disable=SC1090
  source "$cluster_env"
fi
rm -f reports/mutation/*.json
# The controller's and the service's mutants at once (no server is shared between them), each one at a time.
status=0
STRYKER_COMPONENT=controller npx stryker run "$@" > >(sed 's/^/controller: /') 2>&1 &
controller=$!
STRYKER_COMPONENT=service npx stryker run "$@" > >(sed 's/^/service: /') 2>&1 &
service=$!
wait "$controller" || status=$?
wait "$service" || status=$?
[ "$status" -eq 0 ] || { echo "mutation: a Stryker run failed (exit $status)" >&2; exit "$status"; }
npx tsx scripts/mutation-report.ts reports/mutation/controller.json reports/mutation/service.json | tee reports/mutation/scores.md
# The spot-check's hand-written mutants (SQL text and others Stryker does not generate): each must be killed.
npx tsx scripts/listed-mutants.ts
