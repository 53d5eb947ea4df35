#!/usr/bin/env bash
# Builds (once per machine) or finds the node binaries of the local cluster (`npm run cluster`): kubelet,
# kube-controller-manager, kube-scheduler, kube-proxy (the Kubernetes release pinned in
# scripts/envtest/go.mod, the same as the envtest binaries) and CoreDNS (scripts/coredns/go.mod).
#   bash scripts/cluster-binaries.sh    logs go to stderr; the LAST line of stdout is the binaries' directory
# Cached in $CLUSTER_CACHE_DIR (default /var/tmp/concert-booking/cluster) in a folder named after the pins,
# behind a lock, like scripts/envtest.sh. The API server, etcd and kubectl come from scripts/envtest.sh.
set -euo pipefail

K8S_MODULE="$(cd "$(dirname "$0")/envtest" && pwd)"
COREDNS_MODULE="$(cd "$(dirname "$0")/coredns" && pwd)"
CACHE_ROOT="${CLUSTER_CACHE_DIR:-/var/tmp/concert-booking/cluster}"
BINARIES=(kubelet kube-controller-manager kube-scheduler kube-proxy coredns)
LOG_PREFIX=cluster-binaries
NO_GO_HINT="Install Go (>= 1.26: scripts/coredns/go.mod), or fetch the toolchain through the module proxy."
# shellcheck source=scripts/lib/go-binaries.sh
source "$(dirname "$0")/lib/go-binaries.sh"

K8S_VERSION="$(pinned "$K8S_MODULE" k8s.io/kubernetes)"
COREDNS_VERSION="$(pinned "$COREDNS_MODULE" github.com/coredns/coredns)"
if [ -z "$K8S_VERSION" ] || [ -z "$COREDNS_VERSION" ]; then
  log "cannot read the k8s.io/kubernetes and github.com/coredns/coredns versions from the go.mod files"
  exit 1
fi
HASH="$(pin_hash "$K8S_MODULE"/go.{mod,sum} "$COREDNS_MODULE"/go.{mod,sum} "$COREDNS_MODULE/main.go")"
TARGET="$CACHE_ROOT/${K8S_VERSION}-coredns${COREDNS_VERSION#v}-$HASH"

build_into() {
  local work="$1"
  (
    cd "$K8S_MODULE"
    go build -trimpath -ldflags="-s -w$(k8s_version_ldflags "$K8S_VERSION")" -o "$work/" \
      k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-proxy
  )
  (
    cd "$COREDNS_MODULE"
    go build -trimpath -ldflags="-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" \
      -o "$work/coredns" .
  )
  "$work/kubelet" --version >&2
  "$work/coredns" -version >&2
  printf 'kubernetes=%s\ncoredns=%s\n' "$K8S_VERSION" "$COREDNS_VERSION" >"$work/BUILD-INFO"
}

reuse_or_build "$TARGET" "${BINARIES[@]}"
