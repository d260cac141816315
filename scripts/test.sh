#!/usr/bin/env bash
# `npm test`: install what is missing, then typecheck, lint, format check,
# unit tests and e2e tests, stopping at the first failure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

started=$SECONDS
step() {
  printf '\n==> %s  (%ss elapsed)\n' "$1" "$((SECONDS - started))"
}

step "setup"
bash scripts/setup.sh --quiet

step "typecheck: tsc --noEmit"
npx --no-install tsc --noEmit

step "lint: eslint ."
npx --no-install eslint .

step "format: prettier --check ."
npx --no-install prettier --check .

step "build: tsc -p tsconfig.build.json (dist/, what bin/conveyor and the e2e tests run)"
bash scripts/build.sh

step "unit tests: jest --selectProjects unit"
npx --no-install jest --selectProjects unit

step "e2e tests: jest --selectProjects e2e --runInBand"
npx --no-install jest --selectProjects e2e --runInBand

# The supported Node.js lines beside the machine's own (scripts/setup.sh installs them in the tool
# cache): the unit tests and the peer-hop e2e test, with that node first on PATH, so the processes the
# tests start (process.execPath, bin/conveyor) run on it too.
cache="${CONVEYOR_CACHE:-$HOME/.cache/conveyor}"
for major in 22 24; do
  step "node $major: unit tests and e2e/peer-hop.e2e.test.ts"
  PATH="$cache/node-$major/bin:$PATH" node --version
  PATH="$cache/node-$major/bin:$PATH" node node_modules/jest/bin/jest.js --selectProjects unit
  PATH="$cache/node-$major/bin:$PATH" node node_modules/jest/bin/jest.js --selectProjects e2e --runInBand \
    e2e/peer-hop.e2e.test.ts
done

printf '\n==> all checks passed in %ss\n' "$((SECONDS - started))"
