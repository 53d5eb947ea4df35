# Shared by scripts/envtest.sh and scripts/cluster-binaries.sh (sourced, not run): building a set of Go
# binaries once per machine into a cache folder named after their pins, behind a lock, so concurrent
# callers wait for one build and a changed pin gives a new folder.
# The caller sets LOG_PREFIX (and NO_GO_HINT, said when there is no Go toolchain) and defines
# build_into WORK_DIR; then calls reuse_or_build TARGET BINARY... (not in an `||` or `if`: bash would then
# ignore errexit inside it, and a failed build would count as complete).

log() { echo "$LOG_PREFIX: $*" >&2; }

# pinned MODULE_DIR MODULE: the version go.mod requires, read without touching the network.
pinned() { awk -v m="$2" '$1 == "require" { $1 = ""; $0 = $0 } $1 == m && $2 ~ /^v/ { print $2; exit }' "$1/go.mod"; }

# pin_hash FILE...: 8 hex digits of the files' content (go.mod and go.sum of the modules built).
pin_hash() { cat "$@" | sha256sum | cut -c1-8; }

has_binaries() {
  local dir="$1" bin
  shift
  for bin in "$@"; do
    [ -x "$dir/$bin" ] || return 1
  done
}

is_complete() { has_binaries "$@" && [ -f "$1/.complete" ]; }

# k8s_version_ldflags VERSION: what upstream's hack/lib/version.sh stamps, so `--version` and /version
# tell the real release.
k8s_version_ldflags() {
  local version="$1" minor pkg flags=""
  minor="${version#v1.}"
  minor="${minor%%.*}"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

# reuse_or_build TARGET BINARY...: prints TARGET (last line of stdout) once it holds every BINARY.
reuse_or_build() {
  local target="$1"
  shift
  if is_complete "$target" "$@"; then
    log "reusing $target"
    echo "$target"
    return 0
  fi
  if ! command -v go >/dev/null 2>&1; then
    log "no Go toolchain on PATH: cannot build $*.${NO_GO_HINT:+ $NO_GO_HINT}"
    exit 3
  fi
  local root
  root="$(dirname "$target")"
  mkdir -p "$root"
  exec 9>"$root/.build.lock"
  if ! flock -n 9; then
    log "another build holds $root/.build.lock; waiting for it"
    flock 9
  fi
  # The other holder may have built it meanwhile.
  if is_complete "$target" "$@"; then
    log "reusing $target"
    echo "$target"
    return 0
  fi
  local work start elapsed
  work="$(mktemp -d "$root/.build.XXXXXX")"
  chmod 755 "$work"
  # shellcheck disable=SC2064 # expand now: the trap must remove this build's folder
  trap "rm -rf '$work'" EXIT
  log "building $* with $(go version | cut -d' ' -f3-) into $target"
  log "first build on 2 cores: module download + compile take several minutes; later runs reuse the result"
  start=$SECONDS
  export CGO_ENABLED=0
  build_into "$work"
  elapsed=$((SECONDS - start))
  {
    echo "go=$(go version)"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "build_seconds=$elapsed"
  } >>"$work/BUILD-INFO"
  touch "$work/.complete"
  rm -rf "$target"
  mv "$work" "$target"
  trap - EXIT
  log "built in ${elapsed}s ($((elapsed / 60))m$((elapsed % 60))s): $target"
  echo "$target"
}
