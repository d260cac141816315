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

printf '\n==> all checks passed in %ss\n' "$((SECONDS - started))"
