/**
 * Built-in stages, keyed by the name a pipeline uses in `builtin:`. Each entry
 * says what kind of stage it is and how to validate its config; the sidecar
 * instantiates them in-process (sidecar/local-stages.ts).
 */
import type { JSONSchemaType } from "ajv";
import type { StageKind } from "../stages/contract";
import { fileSinkConfigSchema, type FileSinkConfig } from "./file/config";

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
} as const;

export type BuiltinName = keyof typeof BUILTINS;

export function isBuiltinName(name: string): name is BuiltinName {
  return Object.prototype.hasOwnProperty.call(BUILTINS, name);
}
