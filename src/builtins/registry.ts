/**
 * Built-in stages, keyed by the name a pipeline uses in `builtin:`. Each entry
 * says what kind of stage it is and how to validate its config; the sidecar
 * instantiates them in-process (sidecar/local-stages.ts).
 */
import type { JSONSchemaType } from "ajv";
import type { StageKind } from "../stages/contract";
import { fileSinkConfigSchema, type FileSinkConfig } from "./file/config";
import { sseSourceConfigSchema, type SseSourceConfig } from "./relay/sse-source-config";
import { slingSinkConfigSchema, type SlingSinkConfig } from "./sling/sink-config";

export interface BuiltinSpec<C> {
  kind: StageKind;
  description: string;
  configSchema: JSONSchemaType<C>;
}

export const BUILTINS = {
  file: {
    kind: "sink",
    description:
      "Appends records as NDJSON to a file per sidecar under config.dir, fsynced before confirming.",
    configSchema: fileSinkConfigSchema,
  } satisfies BuiltinSpec<FileSinkConfig>,
  sse: {
    kind: "source",
    description:
      "Reads a Server-Sent-Events stream (config.url) as records; the cursor is the SSE id, resumed with Last-Event-ID after the last acked one.",
    configSchema: sseSourceConfigSchema,
  } satisfies BuiltinSpec<SseSourceConfig>,
  sling: {
    kind: "sink",
    description:
      "Writes each batch's JSON values through the Sling CLI (stdin, JSON lines) to any Sling target: config.target connection, config.object table or file.",
    configSchema: slingSinkConfigSchema,
  } satisfies BuiltinSpec<SlingSinkConfig>,
} as const;

export type BuiltinName = keyof typeof BUILTINS;

export function isBuiltinName(name: string): name is BuiltinName {
  return Object.prototype.hasOwnProperty.call(BUILTINS, name);
}
