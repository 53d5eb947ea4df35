#!/usr/bin/env bash
# Measures `.ci/run` fully cold on this machine without touching its warm caches: a fresh clone of HEAD whose
# every cache (Go modules and builds, npm, buildah's image store, envtest, check tools, cluster binaries, images,
# cluster state, the test services) points at an empty folder under ROOT. The Debian packages stay installed.
#   bash scripts/ci-cold.sh [ROOT]      # ROOT defaults to a new folder under /var/tmp; prints the wall time last
# Uses the default service ports and the one local cluster: nothing else may run them meanwhile.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
root="${1:-$(mktemp -d /var/tmp/ci-cold.XXXXXX)}"
mkdir -p "$root"/{go-mod,go-build,npm,cache}
cat >"$root/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$root/containers/storage"
runroot = "$root/containers/run"
CONF
git clone -q "$repo" "$root/clone"
export GOMODCACHE="$root/go-mod" GOCACHE="$root/go-build" npm_config_cache="$root/npm"
export CONTAINERS_STORAGE_CONF="$root/storage.conf"
export ENVTEST_CACHE_DIR="$root/cache/envtest" CHECK_TOOLS_CACHE_DIR="$root/cache/check-tools"
export CLUSTER_CACHE_DIR="$root/cache/cluster" CLUSTER_IMAGES_DIR="$root/cache/cluster-images"
export CLUSTER_STATE_DIR="$root/cache/local-cluster" BOOKING_SERVICES_DIR="$root/cache/services"
echo "ci-cold: $(git -C "$root/clone" rev-parse --short HEAD) in $root, from $(date -u +%H:%M:%S) UTC" >&2
start=$(date +%s)
status=0
(cd "$root/clone" && .ci/run) || status=$?
echo "ci-cold: .ci/run exited $status after $(($(date +%s) - start)) s"
exit "$status"
