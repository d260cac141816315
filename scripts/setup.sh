#!/usr/bin/env bash
# Installs what Conveyor needs to build and test, idempotently:
#   - node_modules (npm ci) when missing or older than package-lock.json
#   - tools under ${CONVEYOR_CACHE:-$HOME/.cache/conveyor}/bin (grpcurl, ...)
# Safe to run on every `npm test`: a second run only checks and skips.
#
# Usage: scripts/setup.sh [--quiet] [--node-only]   (--node-only: skip the test tools, e.g. for the demo)
# Tests find the tools through CONVEYOR_CACHE (src/testing/tools.ts); nothing is exported.
set -euo pipefail

QUIET=0
NODE_ONLY=0
for arg in "$@"; do
  case "$arg" in
    -q | --quiet) QUIET=1 ;;
    --node-only) NODE_ONLY=1 ;;
    -h | --help)
      sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "setup: unknown argument: $arg (use --quiet, --node-only or --help)" >&2
      exit 2
      ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${CONVEYOR_CACHE:-$HOME/.cache/conveyor}"
BIN="$CACHE/bin"

GRPCURL_MODULE="github.com/fullstorydev/grpcurl/cmd/grpcurl"
GRPCURL_VERSION="v1.9.3"

say() { [[ $QUIET == 1 ]] || echo "setup: $*"; }
note() { echo "setup: $*"; } # printed even with --quiet: something is being installed
die() {
  echo "setup: error: $*" >&2
  exit 1
}

# ---------------------------------------------------------------- prerequisites
require_node() {
  command -v node >/dev/null 2>&1 || die "node is not installed; Conveyor needs Node.js >= 20 (https://nodejs.org)"
  command -v npm >/dev/null 2>&1 || die "npm is not installed; it comes with Node.js >= 20"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  ((major >= 20)) || die "Node.js >= 20 is required, found $(node --version)"
}

require_go() {
  command -v go >/dev/null 2>&1 ||
    die "go is not installed; it is needed once to build grpcurl into $BIN (apt-get install golang-go, or https://go.dev/dl)"
}

# ---------------------------------------------------------------- node_modules
# run_logged LOG CMD...: output to LOG, and to the terminal too unless --quiet.
run_logged() {
  local log="$1"
  shift
  if [[ $QUIET == 1 ]]; then
    "$@" >"$log" 2>&1
  else
    "$@" 2>&1 | tee "$log"
  fi
}

install_node_modules() {
  cd "$ROOT"
  # -nt is also true when the marker is missing (fresh clone or interrupted install).
  if [[ -d node_modules && ! package-lock.json -nt node_modules/.package-lock.json ]]; then
    say "node_modules up to date"
    return
  fi
  note "installing node_modules (npm ci)"
  local log
  log="$(mktemp)"
  # package.json pins unrs-resolver (under jest) to 1.12.2: 1.13.0 lists platform bindings that were
  # never published, and npm 11's `npm ci` then rejects the lockfile on a fresh clone.
  if ! run_logged "$log" npm ci --no-audit --no-fund; then
    [[ $QUIET == 0 ]] || cat "$log" >&2
    rm -f "$log"
    die "npm ci failed (output above); if package.json changed, update package-lock.json with npm install"
  fi
  rm -f "$log"
  # npm may skip some install scripts; tsx (and esbuild under it) must still run.
  node_modules/.bin/tsx --version >/dev/null 2>&1 || die "node_modules installed but tsx does not run; see the npm output above"
}

# ---------------------------------------------------------------- go tools
# Builds a Go command into $BIN with its own GOPATH/GOMODCACHE/GOCACHE under
# $CACHE, so it works as any user and a rebuild reuses the compiled packages.
go_install() {
  local name="$1" module="$2" version="$3" ldflags="-s -w ${4:-}"
  if [[ -x "$BIN/$name" ]]; then
    say "$name present ($BIN/$name)"
    return
  fi
  require_go
  note "building $name $version with go install (first time only; takes a few minutes on 2 cores)"
  local tmp
  tmp="$(mktemp -d "$CACHE/.build-$name.XXXXXX")"
  local started=$SECONDS
  # CGO off: no C toolchain needed and much less to compile. -trimpath and
  # -s -w make a smaller binary; -modcacherw keeps the cache removable.
  local log="$tmp/go-install.log"
  if ! run_logged "$log" env \
    GOPATH="$CACHE/go" \
    GOMODCACHE="$CACHE/go/pkg/mod" \
    GOCACHE="$CACHE/go/build-cache" \
    GOBIN="$tmp" \
    GOTOOLCHAIN=local \
    GOFLAGS="-modcacherw -buildvcs=false" \
    CGO_ENABLED=0 \
    go install -trimpath -ldflags="$ldflags" -p "$(nproc 2>/dev/null || echo 2)" "$module@$version"; then
    [[ $QUIET == 0 ]] || cat "$log" >&2
    rm -rf "$tmp"
    die "go install $module@$version failed (output above)"
  fi
  mv -f "$tmp/$name" "$BIN/$name" # atomic: a half-built binary never appears in $BIN
  rm -rf "$tmp"
  note "installed $name $version in $((SECONDS - started))s ($BIN/$name)"
}

# ---------------------------------------------------------------- main
main() {
  require_node
  mkdir -p "$BIN"
  # One setup at a time per cache (parallel CI steps, two terminals).
  exec 9>"$CACHE/.setup.lock"
  if command -v flock >/dev/null 2>&1; then
    flock 9
  fi
  install_node_modules
  [[ $NODE_ONLY == 1 ]] && return
  go_install grpcurl "$GRPCURL_MODULE" "$GRPCURL_VERSION" "-X main.version=$GRPCURL_VERSION"
  say "done; tools in $BIN"
}

main
