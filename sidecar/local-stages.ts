/**
 * Resolves a stage this sidecar runs to something that implements the stage
 * contract: a gRPC client to the user service in this pod, or a built-in
 * running in-process. Built-ins come from the registry (src/builtins/registry.ts):
 * the entry validates the stage's config with its schema and creates the
 * stage. Built-in sinks are created once per pipeline and stage; a built-in
 * source is created per read (the source runner owns and closes each reader).
 */
import * as path from "node:path";
import type { BuiltinContext, StageOfKind } from "../src/builtins/builtin";
import { builtinKindOf, builtinNames, findBuiltin } from "../src/builtins/registry";
import { ConveyorError } from "../src/errors";
import type { SinkStage, SourceReader, StageKind, TransformStage } from "../src/stages/contract";
import { createLogger, type Logger } from "../src/telemetry/log";
import type { ClientPool } from "./client-pool";
import type { StageInstance, StageRoute } from "./routing-table";

export class LocalStages {
  private readonly transforms = new Map<string, TransformStage>();
  private readonly sinks = new Map<string, SinkStage>();

  constructor(
    private readonly pool: ClientPool,
    private readonly sidecarId: string,
    /** Where built-ins keep state (a built-in's own config may name another directory). */
    private readonly stateDir = ".conveyor-state",
  ) {}

  /** A read of a built-in source; the source runner owns (and closes) it. */
  openSource(stage: StageRoute, log: Logger): SourceReader {
    return this.createBuiltin(stage, "source", log);
  }

  transform(stage: StageRoute, instance: StageInstance): TransformStage {
    if (!stage.builtin) return this.pool.transform(instance.serviceEndpoint, stage.name);
    return kept(this.transforms, stage, () => this.createBuiltin(stage, "transform"));
  }

  sink(stage: StageRoute, instance: StageInstance): SinkStage {
    if (!stage.builtin) return this.pool.sink(instance.serviceEndpoint, stage.name);
    return kept(this.sinks, stage, () => this.createBuiltin(stage, "sink"));
  }

  /** Drops built-ins of stages this sidecar no longer runs. */
  retain(stages: StageRoute[]): void {
    const keep = new Set(stages.map(stageKey));
    for (const held of [this.transforms, this.sinks]) {
      for (const [key, b] of held) {
        if (!keep.has(key)) {
          b.close();
          held.delete(key);
        }
      }
    }
  }

  close(): void {
    for (const held of [this.transforms, this.sinks]) {
      for (const b of held.values()) b.close();
      held.clear();
    }
  }

  private createBuiltin<K extends StageKind>(stage: StageRoute, kind: K, log?: Logger): StageOfKind[K] {
    const name = stage.builtin ?? "";
    const builtin = findBuiltin(name);
    const entry = builtin && builtinKindOf(builtin, kind);
    if (!entry) {
      throw new ConveyorError(
        "UNKNOWN_BUILTIN",
        `this sidecar cannot run built-in "${name}" as a ${kind} (known: ${builtinNames().join(", ")})`,
        { pipeline: stage.pipeline, stage: stage.name },
      );
    }
    const ctx: BuiltinContext = {
      pipeline: stage.pipeline,
      stage: stage.name,
      sidecarId: this.sidecarId,
      stateDir: path.join(this.stateDir, safeName(stage.pipeline), safeName(stage.name)),
      log: log ?? createLogger(`builtin-${name}`, { pipeline: stage.pipeline, stage: stage.name }),
    };
    return entry.create(stage.builtinConfig ?? {}, ctx);
  }
}

/** The built-in transform or sink of a stage, created on first use. */
function kept<S>(stages: Map<string, S>, stage: StageRoute, create: () => S): S {
  const key = stageKey(stage);
  let s = stages.get(key);
  if (s === undefined) {
    s = create();
    stages.set(key, s);
  }
  return s;
}

function stageKey(stage: StageRoute): string {
  return `${stage.pipeline}/${stage.name}`;
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "_");
}
