#!/usr/bin/env bash
# Builds (once per machine) or finds the binaries of the local cluster (`npm run cluster`): kubelet,
# kube-controller-manager, kube-scheduler, kube-proxy (the Kubernetes release pinned in
# scripts/envtest/go.mod, the same as the envtest binaries), CoreDNS (scripts/coredns/go.mod) and
# Prometheus (scripts/prometheus/go.mod) for the images.
#   bash scripts/cluster-binaries.sh    logs go to stderr; the LAST line of stdout is the binaries' directory
# Cached in $CLUSTER_CACHE_DIR (default /var/tmp/concert-booking/cluster) in a folder named after the pins,
# behind a lock, like scripts/envtest.sh. The API server, etcd and kubectl come from scripts/envtest.sh.
set -euo pipefail

K8S_MODULE="$(cd "$(dirname "$0")/envtest" && pwd)"
COREDNS_MODULE="$(cd "$(dirname "$0")/coredns" && pwd)"
PROMETHEUS_MODULE="$(cd "$(dirname "$0")/prometheus" && pwd)"
CACHE_ROOT="${CLUSTER_CACHE_DIR:-/var/tmp/concert-booking/cluster}"
BINARIES=(kubelet kube-controller-manager kube-scheduler kube-proxy coredns prometheus)
LOG_PREFIX=cluster-binaries
NO_GO_HINT="Install Go (>= 1.26: scripts/coredns/go.mod), or fetch the toolchain through the module proxy."
# shellcheck source=scripts/lib/go-binaries.sh
source "$(dirname "$0")/lib/go-binaries.sh"

K8S_VERSION="$(pinned "$K8S_MODULE" k8s.io/kubernetes)"
COREDNS_VERSION="$(pinned "$COREDNS_MODULE" github.com/coredns/coredns)"
PROMETHEUS_MODULE_VERSION="$(pinned "$PROMETHEUS_MODULE" github.com/prometheus/prometheus)"
if [ -z "$K8S_VERSION" ] || [ -z "$COREDNS_VERSION" ] || [ -z "$PROMETHEUS_MODULE_VERSION" ]; then
  log "cannot read the k8s.io/kubernetes, coredns and prometheus versions from the go.mod files"
  exit 1
fi
# Prometheus 3.x.y is published to the module proxy as v0.3XX.y (3.5.0 is v0.305.0).
minor="${PROMETHEUS_MODULE_VERSION#v0.}"
minor="${minor%%.*}"
PROMETHEUS_VERSION="$((minor / 100)).$((minor % 100)).${PROMETHEUS_MODULE_VERSION##*.}"
HASH="$(pin_hash "$K8S_MODULE"/go.{mod,sum} "$COREDNS_MODULE"/go.{mod,sum} "$COREDNS_MODULE/main.go" \
  "$PROMETHEUS_MODULE"/go.{mod,sum})"
TARGET="$CACHE_ROOT/${K8S_VERSION}-coredns${COREDNS_VERSION#v}-prometheus${PROMETHEUS_VERSION}-$HASH"

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
  (
    cd "$PROMETHEUS_MODULE"
    local v=github.com/prometheus/common/version
    go build -trimpath -ldflags="-s -w -X $v.Version=$PROMETHEUS_VERSION -X $v.Branch=release -X $v.Revision=$PROMETHEUS_MODULE_VERSION" \
      -o "$work/prometheus" github.com/prometheus/prometheus/cmd/prometheus
  )
  "$work/kubelet" --version >&2
  "$work/coredns" -version >&2
  "$work/prometheus" --version >&2
  printf 'kubernetes=%s\ncoredns=%s\nprometheus=%s\n' "$K8S_VERSION" "$COREDNS_VERSION" "$PROMETHEUS_VERSION" \
    >"$work/BUILD-INFO"
}

reuse_or_build "$TARGET" "${BINARIES[@]}"
