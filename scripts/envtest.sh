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

log() { echo "envtest: $*" >&2; }

has_binaries() {
  local dir="$1" bin
  for bin in "${BINARIES[@]}"; do
    [ -x "$dir/$bin" ] || return 1
  done
}

if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
  if has_binaries "$KUBEBUILDER_ASSETS"; then
    log "using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
    echo "$KUBEBUILDER_ASSETS"
    exit 0
  fi
  log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks one of: ${BINARIES[*]} (executable); building instead"
fi

# The pins, read from go.mod without touching the network.
pinned() { awk -v m="$1" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$MODULE_DIR/go.mod"; }
K8S_VERSION="$(pinned k8s.io/kubernetes)"
ETCD_VERSION="$(pinned go.etcd.io/etcd/server/v3)"
if [ -z "$K8S_VERSION" ] || [ -z "$ETCD_VERSION" ]; then
  log "cannot read the k8s.io/kubernetes and go.etcd.io/etcd/server/v3 versions from $MODULE_DIR/go.mod"
  exit 1
fi
PIN_HASH="$(cat "$MODULE_DIR/go.mod" "$MODULE_DIR/go.sum" | sha256sum | cut -c1-8)"
TARGET="$CACHE_ROOT/${K8S_VERSION}-etcd${ETCD_VERSION#v}-${PIN_HASH}"

if has_binaries "$TARGET" && [ -f "$TARGET/.complete" ]; then
  log "reusing $TARGET"
  echo "$TARGET"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  if [ -n "${KUBEBUILDER_ASSETS:-}" ]; then
    log "no Go toolchain on PATH and KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS is incomplete: cannot build kube-apiserver, etcd, kubectl."
  else
    log "no Go toolchain on PATH and KUBEBUILDER_ASSETS is not set: cannot build kube-apiserver, etcd, kubectl."
  fi
  log "to enable the cluster tests, install Go (>= 1.25) or set KUBEBUILDER_ASSETS to a directory holding kube-apiserver, etcd and kubectl."
  exit 3
fi

mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.build.lock"
if ! flock -n 9; then
  log "another build holds $CACHE_ROOT/.build.lock; waiting for it"
  flock 9
fi
# The other holder may have built it meanwhile.
if has_binaries "$TARGET" && [ -f "$TARGET/.complete" ]; then
  log "reusing $TARGET"
  echo "$TARGET"
  exit 0
fi

WORK="$(mktemp -d "$CACHE_ROOT/.build.XXXXXX")"
chmod 755 "$WORK"
trap 'rm -rf "$WORK"' EXIT

MINOR="${K8S_VERSION#v1.}"
MINOR="${MINOR%%.*}"
# What upstream's hack/lib/version.sh stamps, so `kubectl version` and /version tell the real release.
VERSION_LDFLAGS=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  VERSION_LDFLAGS+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$MINOR"
  VERSION_LDFLAGS+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

log "building kube-apiserver and kubectl $K8S_VERSION, etcd $ETCD_VERSION with $(go version | cut -d' ' -f3-) into $TARGET"
log "first build on 2 cores: module download + compile take several minutes; later runs reuse the result"
START=$SECONDS
cd "$MODULE_DIR"
export CGO_ENABLED=0
go build -trimpath -buildvcs=false -ldflags="-s -w$VERSION_LDFLAGS" -o "$WORK/" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
go build -trimpath -buildvcs=false -ldflags="-s -w" -o "$WORK/etcd" go.etcd.io/etcd/server/v3
ELAPSED=$((SECONDS - START))

"$WORK/kube-apiserver" --version >&2
"$WORK/kubectl" version --client >&2
"$WORK/etcd" --version >&2
{
  echo "kubernetes=$K8S_VERSION"
  echo "etcd=$ETCD_VERSION"
  echo "go=$(go version)"
  echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "build_seconds=$ELAPSED"
} >"$WORK/BUILD-INFO"
touch "$WORK/.complete"
rm -rf "$TARGET"
mv "$WORK" "$TARGET"
trap - EXIT
log "built in ${ELAPSED}s ($((ELAPSED / 60))m$((ELAPSED % 60))s): $TARGET"
echo "$TARGET"
