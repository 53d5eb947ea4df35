#!/usr/bin/env bash
# `npm run test:mutation`: StrykerJS over the decisions and the hot paths, one Stryker run per module of
# stryker.config.js (each with only its own test files), the score per module, which must be at least 85 %
# for each (scripts/mutation-report.ts), then the hand-written mutants of scripts/listed-mutants.ts, each of
# which must be killed. docs/testing.md holds the report of a real run.
#   npm run test:mutation                                   # every module, then the listed mutants
#   npm run test:mutation -- controller/src/policy.ts       # only these modules (no listed mutants)
#   npm run test:mutation -- --force                        # arguments starting with -- go to `stryker run`
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci
selected=()
stryker_args=()
for arg in "$@"; do
  case "$arg" in
    -*) stryker_args+=("$arg") ;;
    *) selected+=("$arg") ;;
  esac
done
# module<TAB>report name, for every module of stryker.config.js (or the selected ones, checked against it)
plan=$(node --input-type=module -e '
  const { modules, reportName } = await import("./stryker.config.js");
  const wanted = process.argv.slice(1);
  const unknown = wanted.filter((m) => !(m in modules));
  if (unknown.length > 0) {
    console.error(`mutation: not a module of stryker.config.js: ${unknown.join(", ")}`);
    process.exit(2);
  }
  for (const m of wanted.length > 0 ? wanted : Object.keys(modules)) console.log(`${m}\t${reportName(m)}`);
' "${selected[@]}")
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
mkdir -p reports/mutation
reports=()
while IFS=$'\t' read -r module name; do
  echo "mutation: $module" >&2
  rm -f "reports/mutation/$name.json"
  # One module at a time, each mutant one at a time: the tests share one Postgres, Redis and API server.
  STRYKER_MODULE="$module" npx stryker run "${stryker_args[@]}" ||
    { echo "mutation: the Stryker run of $module failed" >&2; exit 1; }
  reports+=("reports/mutation/$name.json")
done <<<"$plan"
npx tsx scripts/mutation-report.ts "${reports[@]}" | tee reports/mutation/scores.md
# The spot-check's hand-written mutants (SQL text and others Stryker does not generate): each must be killed.
[ "${#selected[@]}" -gt 0 ] || npx tsx scripts/listed-mutants.ts
