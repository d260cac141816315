#!/usr/bin/env bash
# Regenerates the TypeScript types for proto/ into src/generated (never edit by hand).
# The options must match PROTO_LOADER_OPTIONS in src/proto.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf src/generated
npx proto-loader-gen-types --grpcLib=@grpc/grpc-js --longs=Number --enums=String --defaults --oneofs \
  --includeDirs=proto --outDir=src/generated conveyor/v1/record.proto conveyor/v1/stages.proto \
  conveyor/v1/dataplane.proto conveyor/v1/router.proto >/dev/null
npx prettier --log-level warn --write src/generated
