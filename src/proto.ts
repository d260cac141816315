/**
 * Loads the wire contract (proto/conveyor/v1) once and exposes typed service
 * definitions and client constructors. Types come from src/generated
 * (scripts/gen-proto.sh); the loader options here must match that script.
 */
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { protoPath as healthProtoPath } from "grpc-health-check";
import { loadRoot, packageDefinitionOf } from "./grpc/package-definition";
import { PROJECT_ROOT } from "./project-root";
import type { ProtoGrpcType as StagesGrpc } from "./generated/stages";
import type { ProtoGrpcType as RouterGrpc } from "./generated/router";

export const PROTO_DIR = path.join(PROJECT_ROOT, "proto");
export const PROTO_FILES = [
  "conveyor/v1/record.proto",
  "conveyor/v1/stages.proto",
  "conveyor/v1/dataplane.proto",
  "conveyor/v1/router.proto",
];

export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

/**
 * Every service and message of the contract, plus grpc.health.v1, as proto-loader would build them
 * with PROTO_LOADER_OPTIONS, without the descriptors it computes for reflection (see
 * grpc/package-definition.ts: that was most of a sidecar's start-up).
 */
export const packageDefinition = packageDefinitionOf(
  loadRoot([...PROTO_FILES, healthProtoPath], { includeDirs: [PROTO_DIR] }),
  PROTO_LOADER_OPTIONS,
);

let reflectionDefinition: protoLoader.PackageDefinition | undefined;
/** What server reflection serves: the .proto's own field names, map entries named as protoc names them. */
export function reflectionPackageDefinition(): protoLoader.PackageDefinition {
  const { withFixedMapEntries } =
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require("./grpc/reflection-descriptors") as typeof import("./grpc/reflection-descriptors");
  reflectionDefinition ??= withFixedMapEntries(
    protoLoader.loadSync([...PROTO_FILES, healthProtoPath], { ...PROTO_LOADER_OPTIONS, keepCase: true }),
  );
  return reflectionDefinition;
}

type ConveyorGrpc = StagesGrpc & RouterGrpc;
export const conveyorProto = grpc.loadPackageDefinition(packageDefinition) as unknown as ConveyorGrpc;
export const v1 = conveyorProto.conveyor.v1;

/** Fully-qualified service names. */
export const SERVICE = {
  source: "conveyor.v1.Source",
  transform: "conveyor.v1.Transform",
  sink: "conveyor.v1.Sink",
  dataPlane: "conveyor.v1.DataPlane",
  router: "conveyor.v1.Router",
  admin: "conveyor.v1.Admin",
  health: "grpc.health.v1.Health",
} as const;

/** Default message size limit on every channel and server (batches of 1 KB records fit easily). */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * Channels between our own processes (sidecar ↔ sidecar, sidecar ↔ router, CLI
 * → router) and our servers: a keepalive ping every 30 s while a call is open
 * finds a dead peer quickly. grpc-js servers — all of ours — enforce no ping
 * policy, so they accept it (see docs/architecture.md, "Keepalive").
 */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
  "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  "grpc.keepalive_time_ms": 30_000,
  "grpc.keepalive_timeout_ms": 10_000,
};

/**
 * Keepalive on channels to stage services, which may be any gRPC server. gRPC
 * C-core (Python, C++, Ruby), Go and Java servers accept a ping only every 5
 * minutes by default (none at all without a call open) and close the connection
 * with GOAWAY ENHANCE_YOUR_CALM "too_many_pings" after two strikes, failing
 * every call on it. So: one ping every 6 minutes, only while a call is open.
 */
export const STAGE_KEEPALIVE_TIME_MS = 6 * 60_000;

/** Channels to stage services in this pod (see STAGE_KEEPALIVE_TIME_MS). */
export const STAGE_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
  "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  "grpc.keepalive_time_ms": STAGE_KEEPALIVE_TIME_MS,
  "grpc.keepalive_timeout_ms": 20_000,
  "grpc.keepalive_permit_without_calls": 0,
};

/** A deadline `ms` from now, for grpc call options. */
export function deadlineIn(ms: number): Date {
  return new Date(Date.now() + ms);
}
