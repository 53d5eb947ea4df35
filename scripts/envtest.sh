#!/usr/bin/env bash
# Builds (once per machine) or finds the binaries the cluster tests run: kube-apiserver, kubectl, etcd.
#   bash scripts/envtest.sh     logs go to stderr; the LAST line of stdout is the binaries' directory
#
# - KUBEBUILDER_ASSETS (the envtest convention): a directory that already holds kube-apiserver, etcd
#   and kubectl. When it is set and complete, it is printed and nothing is built.
# - Otherwise the versions pinned in scripts/envtest/go.mod are built with the Go toolchain from the
#   Go module proxy into $ENVTEST_CACHE_DIR (default /var/tmp/concert-booking/envtest), in a folder
#   named after the pins: a changed pin gives a new folder, an unchanged one is reused.
# - No Go toolchain and no KUBEBUILDER_ASSETS: exits 3 with a message saying how to enable the tests.
# Concurrent callers (two jest workers, two terminals) wait on a lock: one build per machine.
set -euo pipefail

MODULE_DIR="$(cd "$(dirname "$0")/envtest" && pwd)"
CACHE_ROOT="${ENVTEST_CACHE_DIR:-/var/tmp/concert-booking/envtest}"
BINARIES=(kube-apiserver etcd kubectl)
LOG_PREFIX=envtest
NO_GO_HINT="To enable the cluster tests, install Go (>= 1.25) or set KUBEBUILDER_ASSETS to a directory holding ${BINARIES[*]}."
# shellcheck source=scripts/lib/go-binaries.sh
source "$(dirname "$0")/lib/go-binaries.sh"

if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  if has_binaries "$KUBEBUILDER_ASSETS" "${BINARIES[@]}"; then
    log "using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
    echo "$KUBEBUILDER_ASSETS"
    exit 0
  fi
  log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks one of: ${BINARIES[*]} (executable); building instead"
fi

K8S_VERSION="$(pinned "$MODULE_DIR" k8s.io/kubernetes)"
ETCD_VERSION="$(pinned "$MODULE_DIR" go.etcd.io/etcd/server/v3)"
if [ -z "$K8S_VERSION" ] || [ -z "$ETCD_VERSION" ]; then
  log "cannot read the k8s.io/kubernetes and go.etcd.io/etcd/server/v3 versions from $MODULE_DIR/go.mod"
  exit 1
fi
TARGET="$CACHE_ROOT/${K8S_VERSION}-etcd${ETCD_VERSION#v}-$(pin_hash "$MODULE_DIR/go.mod" "$MODULE_DIR/go.sum")"

build_into() {
  local work="$1"
  (
    cd "$MODULE_DIR"
    go build -trimpath -ldflags="-s -w$(k8s_version_ldflags "$K8S_VERSION")" -o "$work/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
    go build -trimpath -ldflags="-s -w" -o "$work/etcd" go.etcd.io/etcd/server/v3
  )
  "$work/kube-apiserver" --version >&2
  "$work/kubectl" version --client >&2
  "$work/etcd" --version >&2
  printf 'kubernetes=%s\netcd=%s\n' "$K8S_VERSION" "$ETCD_VERSION" >"$work/BUILD-INFO"
}

reuse_or_build "$TARGET" "${BINARIES[@]}"
