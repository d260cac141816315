/**
 * Built-in stages, keyed by the name a pipeline uses in `builtin:`. Each
 * built-in's folder exports one entry (src/builtins/builtin.ts): the stage
 * kinds it can be (`sling` is both a source and a sink), per kind a config
 * schema and a factory. The pipeline validator checks configs with these
 * entries at apply time (src/config/pipeline.ts); the sidecar creates the
 * stages in-process with them (sidecar/local-stages.ts). Light to import: the
 * entries load their stage modules only when they create one.
 */
import { STAGE_KINDS, type StageKind } from "../stages/contract";
import type { Builtin, BuiltinKind } from "./builtin";
import { fileBuiltin } from "./file";
import { mirrorBuiltin } from "./mirror";
import { sseBuiltin } from "./relay";
import { slingBuiltin } from "./sling";

export const BUILTINS: readonly Builtin[] = [fileBuiltin, sseBuiltin, slingBuiltin, mirrorBuiltin];

const byName = new Map(BUILTINS.map((b) => [b.name, b]));

export function findBuiltin(name: string): Builtin | undefined {
  return byName.get(name);
}

export function builtinNames(): string[] {
  return BUILTINS.map((b) => b.name);
}

/** The kinds of stage a built-in can be, in pipeline order (source, transform, sink). */
export function builtinKinds(builtin: Builtin): StageKind[] {
  return STAGE_KINDS.filter((k) => builtin.kinds[k] !== undefined);
}

/** The built-in as a stage of `kind`, or undefined when it cannot be one. */
export function builtinKindOf<K extends StageKind>(builtin: Builtin, kind: K): BuiltinKind<K> | undefined {
  return builtin.kinds[kind];
}
