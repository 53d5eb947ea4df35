#!/usr/bin/env bash
# Builds (once per machine) or finds the external checkers the chart tests run (test/external-checks.test.ts):
#   kube-linter  the Kubernetes linter (v0.8.3), default checks, on charts/
#   pint         the Prometheus rule linter (v0.87.0), on monitoring/generated/
#   helm         Helm v3.22.0: `helm lint` and `helm template` of the generated chart, helm/concert-booking/
#   bash scripts/check-tools.sh    logs go to stderr; the LAST line of stdout is the binaries' directory
#
# pint and helm are pinned in scripts/check-tools/<tool>/go.mod and come from the Go module proxy (a plain
# `go install ...@v0.87.0` fails here: the proxy refuses the module's version list, which it reads for
# deprecations; a go.mod with a go.sum does not need it). kube-linter's module path (golang.stackrox.io/kube-linter) is on a host the proxy here refuses
# ("Go module fetches are limited to the module-host allowlist"), so it is built from a git clone of
# github.com/stackrox/kube-linter at the pinned commit: KUBE_LINTER_GIT names its git directory (default: the
# machine's mirror, /work/.mirror/stackrox+kube-linter/repo). Its dependencies come from the proxy.
# Cached in $CHECK_TOOLS_CACHE_DIR (default /var/tmp/concert-booking/check-tools) under a folder named after
# the pins, behind a lock, like scripts/envtest.sh.
set -euo pipefail

TOOLS_DIR="$(cd "$(dirname "$0")/check-tools" && pwd)"
CACHE_ROOT="${CHECK_TOOLS_CACHE_DIR:-/var/tmp/concert-booking/check-tools}"
BINARIES=(kube-linter pint helm)
LOG_PREFIX=check-tools
NO_GO_HINT="Install Go (>= 1.26) to build the chart checkers."
KUBE_LINTER_VERSION=v0.8.3
KUBE_LINTER_COMMIT=10ae003038c81855aca8489df5e35da150f4dc2e
KUBE_LINTER_GIT="${KUBE_LINTER_GIT:-/work/.mirror/stackrox+kube-linter/repo}"
# shellcheck source=scripts/lib/go-binaries.sh
source "$(dirname "$0")/lib/go-binaries.sh"

HASH="$(pin_hash "$TOOLS_DIR"/*/go.mod "$TOOLS_DIR"/*/go.sum <(echo "$KUBE_LINTER_COMMIT"))"
TARGET="$CACHE_ROOT/kube-linter${KUBE_LINTER_VERSION#v}-pint$(pinned "$TOOLS_DIR/pint" github.com/cloudflare/pint | tr -d v)-$HASH"

build_into() {
  local work="$1" tool module source
  for tool in pint helm; do
    module="$(awk '$1 == "tool" { print $2; exit }' "$TOOLS_DIR/$tool/go.mod")"
    (cd "$TOOLS_DIR/$tool" && go build -trimpath -ldflags="-s -w" -o "$work/$tool" "$module")
  done
  if ! git --git-dir="$KUBE_LINTER_GIT" cat-file -e "$KUBE_LINTER_COMMIT^{commit}" 2>/dev/null; then
    log "KUBE_LINTER_GIT=$KUBE_LINTER_GIT holds no commit $KUBE_LINTER_COMMIT (kube-linter $KUBE_LINTER_VERSION):"
    log "clone https://github.com/stackrox/kube-linter and point KUBE_LINTER_GIT at its .git directory"
    exit 3
  fi
  source="$work/kube-linter-src"
  mkdir "$source"
  git --git-dir="$KUBE_LINTER_GIT" archive "$KUBE_LINTER_COMMIT" | tar -x -C "$source"
  (cd "$source" && go build -trimpath -ldflags="-s -w -X golang.stackrox.io/kube-linter/internal/version.version=$KUBE_LINTER_VERSION" \
    -o "$work/kube-linter" ./cmd/kube-linter)
  rm -rf "$source"
  "$work/kube-linter" version >&2
  "$work/pint" version >&2
  "$work/helm" version --short >&2
  printf 'kube-linter=%s (%s)\n' "$KUBE_LINTER_VERSION" "$KUBE_LINTER_COMMIT" >"$work/BUILD-INFO"
}

reuse_or_build "$TARGET" "${BINARIES[@]}"
