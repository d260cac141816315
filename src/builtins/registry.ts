/**
 * Built-in stages, keyed by the name a pipeline uses in `builtin:`. Each entry
 * lists the stage kinds it can be (`sling` is both a source and a sink) and,
 * per kind, how to validate its config; the sidecar instantiates them
 * in-process (sidecar/local-stages.ts).
 */
import type { JSONSchemaType, Schema } from "ajv";
import type { StageKind } from "../stages/contract";
import { fileSinkConfigSchema, type FileSinkConfig } from "./file/config";
import { sseSourceConfigSchema, type SseSourceConfig } from "./relay/sse-source-config";
import { slingSinkConfigSchema, type SlingSinkConfig } from "./sling/sink-config";
import { slingSourceConfigSchema, type SlingSourceConfig } from "./sling/source-config";
import mirrorSchema from "../../schemas/mirror.schema.json";

/** One kind of stage a built-in can be. */
export interface BuiltinStageSpec<C> {
  description: string;
  configSchema: JSONSchemaType<C>;
}

/** A kind of stage with its config type erased, as the validator uses it. */
export interface AnyBuiltinStageSpec {
  description: string;
  configSchema: Schema;
}

export interface BuiltinSpec {
  kinds: { [K in StageKind]?: AnyBuiltinStageSpec };
}

export const BUILTINS = {
  file: {
    kinds: {
      sink: {
        description:
          "Appends records as NDJSON to a file per sidecar under config.dir, fsynced before confirming.",
        configSchema: fileSinkConfigSchema,
      } satisfies BuiltinStageSpec<FileSinkConfig>,
    },
  },
  sse: {
    kinds: {
      source: {
        description:
          "Reads a Server-Sent-Events stream (config.url) as records; the cursor is the SSE id, resumed with Last-Event-ID after the last acked one.",
        configSchema: sseSourceConfigSchema,
      } satisfies BuiltinStageSpec<SseSourceConfig>,
    },
  },
  sling: {
    kinds: {
      source: {
        description:
          "Reads a Sling stream (config.connection, config.stream table or SQL) as records, incrementally by config.updateKey; the cursor is the last acked update-key value.",
        configSchema: slingSourceConfigSchema,
      } satisfies BuiltinStageSpec<SlingSourceConfig>,
      sink: {
        description:
          "Writes each batch's JSON values through the Sling CLI (stdin, JSON lines) to any Sling target: config.target connection, config.object table or file.",
        configSchema: slingSinkConfigSchema,
      } satisfies BuiltinStageSpec<SlingSinkConfig>,
    },
  },
  mirror: {
    kinds: {
      source: {
        description:
          "Runs the mirrors of config (a `conveyor mirror` config: destination + mirrors) exactly-once on the sidecar the router picks; emits one record per durable flush.",
        configSchema: mirrorSchema as Schema,
      },
    },
  },
} as const satisfies { [name: string]: BuiltinSpec };

export type BuiltinName = keyof typeof BUILTINS;

export function isBuiltinName(name: string): name is BuiltinName {
  return Object.prototype.hasOwnProperty.call(BUILTINS, name);
}

/** The kinds of stage a built-in can be, in pipeline order (source, transform, sink). */
export function builtinKinds(name: BuiltinName): StageKind[] {
  const kinds: BuiltinSpec["kinds"] = BUILTINS[name].kinds;
  return (["source", "transform", "sink"] as const).filter((k) => kinds[k] !== undefined);
}

/** The spec of a built-in as a stage of `kind`, or undefined when it cannot be one. */
export function builtinStage(name: BuiltinName, kind: StageKind): AnyBuiltinStageSpec | undefined {
  const kinds: BuiltinSpec["kinds"] = BUILTINS[name].kinds;
  return kinds[kind];
}
