#!/usr/bin/env bash
# `npm run build`: compile src/, sidecar/ and router/ to CommonJS in dist/ with tsc
# (tsconfig.build.json; tests, e2e/ and bench/ are not part of the build), and bundle the web
# console's page (console/: app.ts with esbuild, index.html, app.css) into dist/console.
#   bash scripts/build.sh             build (incremental: dist/.tsbuildinfo)
#   bash scripts/build.sh --if-stale  build only if dist/ is missing or older than the sources;
#                                     what bin/conveyor, the demo, npm test and the e2e tests run
# Concurrent callers wait on one lock, so parallel starts of bin/conveyor build once.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
stamp="$root/dist/.build-stamp"
if_stale=false
[[ "${1:-}" == "--if-stale" ]] && if_stale=true

# Prints the first source newer than the last good build ("" when dist/ is current).
stale_source() {
  if [[ ! -f "$stamp" || ! -f "$root/dist/src/cli/main.js" ]]; then
    echo "nothing built yet"
    return
  fi
  local dirs=()
  for d in src sidecar router schemas console; do [[ -d "$root/$d" ]] && dirs+=("$root/$d"); done
  find "${dirs[@]}" "$root/tsconfig.json" "$root/tsconfig.build.json" "$root/package.json" \
    -newer "$stamp" -type f -not -name '*.test.ts' -not -path '*/testdata/*' -print -quit 2>/dev/null
}

if $if_stale && [[ -z "$(stale_source)" ]]; then exit 0; fi
mkdir -p "$root/dist"
exec 9>"$root/dist/.build.lock"
flock 9
# Another caller may have built while this one waited for the lock.
if $if_stale; then
  why="$(stale_source)"
  [[ -z "$why" ]] && exit 0
  [[ "$why" == "nothing built yet" ]] || why="${why#"$root"/} changed since the last build"
  echo "conveyor: building dist/ with tsc ($why) ..." >&2
fi
tsc="$root/node_modules/.bin/tsc"
if [[ ! -x "$tsc" ]]; then
  echo "conveyor: dist/ is missing or older than the sources, and TypeScript is not installed here: run 'npm ci && npm run build'" >&2
  exit 1
fi
# The stamp takes the time the build started: a source saved during the build makes the next call build again.
touch "$stamp.next"
"$tsc" -p "$root/tsconfig.build.json"
esbuild="$root/node_modules/.bin/esbuild"
if [[ ! -x "$esbuild" ]]; then
  echo "conveyor: esbuild is not installed here (it bundles the console page): run 'npm ci'" >&2
  exit 1
fi
mkdir -p "$root/dist/console"
"$esbuild" "$root/console/app.ts" --bundle --format=iife --target=es2020 --minify --log-level=warning \
  --outfile="$root/dist/console/app.js"
cp "$root/console/index.html" "$root/console/app.css" "$root/dist/console/"
mv "$stamp.next" "$stamp"
