/**
 * Resolves a stage this sidecar runs to something that implements the stage
 * contract: a gRPC client to the user service in this pod, or a built-in
 * running in-process. Built-ins are created once per pipeline and stage.
 */
import { ConveyorError } from "../src/errors";
import { BUILTINS, isBuiltinName } from "../src/builtins/registry";
import { FileSink } from "../src/builtins/file/sink";
import type { FileSinkConfig } from "../src/builtins/file/config";
import type { SinkStage, TransformStage } from "../src/stages/contract";
import type { ClientPool } from "./client-pool";
import type { StageInstance, StageRoute } from "./routing-table";

export class LocalStages {
  private readonly builtins = new Map<string, SinkStage | TransformStage>();

  constructor(
    private readonly pool: ClientPool,
    private readonly sidecarId: string,
  ) {}

  transform(stage: StageRoute, instance: StageInstance): TransformStage {
    if (stage.builtin) throw unsupported(stage);
    return this.pool.transform(instance.serviceEndpoint, stage.name);
  }

  sink(stage: StageRoute, instance: StageInstance): SinkStage {
    if (!stage.builtin) return this.pool.sink(instance.serviceEndpoint, stage.name);
    const key = `${stage.pipeline}/${stage.name}`;
    let sink = this.builtins.get(key) as SinkStage | undefined;
    if (!sink) {
      sink = this.createBuiltinSink(stage);
      this.builtins.set(key, sink);
    }
    return sink;
  }

  /** Drops built-ins of stages this sidecar no longer runs. */
  retain(stages: StageRoute[]): void {
    const keep = new Set(stages.map((s) => `${s.pipeline}/${s.name}`));
    for (const [key, b] of this.builtins) {
      if (!keep.has(key)) {
        b.close();
        this.builtins.delete(key);
      }
    }
  }

  close(): void {
    for (const b of this.builtins.values()) b.close();
    this.builtins.clear();
  }

  private createBuiltinSink(stage: StageRoute): SinkStage {
    const name = stage.builtin!;
    if (!isBuiltinName(name)) throw unsupported(stage);
    switch (name) {
      case "file":
        return new FileSink(stage.builtinConfig as unknown as FileSinkConfig, stage.pipeline, this.sidecarId);
    }
  }
}

function unsupported(stage: StageRoute): ConveyorError {
  return new ConveyorError(
    "UNKNOWN_BUILTIN",
    `this sidecar cannot run built-in "${stage.builtin}" as a ${stage.kind} (known: ${Object.keys(BUILTINS).join(", ")})`,
    { pipeline: stage.pipeline, stage: stage.name },
  );
}
