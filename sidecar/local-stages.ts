/**
 * Resolves a stage this sidecar runs to something that implements the stage
 * contract: a gRPC client to the user service in this pod, or a built-in
 * running in-process. Built-ins are created once per pipeline and stage.
 */
import * as path from "node:path";
import { ConveyorError } from "../src/errors";
import { openSseSource } from "../src/builtins/relay/sse-source";
import { openMirrorSource } from "../src/builtins/mirror/pipeline-source";
import { openSlingSource } from "../src/builtins/sling/source";
import type { SlingSourceConfig } from "../src/builtins/sling/source-config";
import type { MirrorFileConfig } from "../src/builtins/mirror/config";
import type { SseSourceConfig } from "../src/builtins/relay/sse-source-config";
import type { Logger } from "../src/telemetry/log";
import { BUILTINS, isBuiltinName } from "../src/builtins/registry";
import { FileSink } from "../src/builtins/file/sink";
import type { FileSinkConfig } from "../src/builtins/file/config";
import { SlingSink } from "../src/builtins/sling/sink";
import type { SlingSinkConfig } from "../src/builtins/sling/sink-config";
import type { SinkStage, SourceReader, TransformStage } from "../src/stages/contract";
import type { ClientPool } from "./client-pool";
import type { StageInstance, StageRoute } from "./routing-table";

export class LocalStages {
  private readonly builtins = new Map<string, SinkStage | TransformStage>();

  constructor(
    private readonly pool: ClientPool,
    private readonly sidecarId: string,
    /** Where built-ins keep state (a built-in's own config may name another directory). */
    private readonly stateDir = ".conveyor-state",
  ) {}

  /** A read of a built-in source; the source runner owns (and closes) it. */
  openSource(stage: StageRoute, log: Logger): SourceReader {
    const name = stage.builtin;
    if (name === "sse") {
      return openSseSource(stage.builtinConfig as unknown as SseSourceConfig, {
        stateDir: path.join(this.stateDir, safeName(stage.pipeline), safeName(stage.name)),
        log,
      });
    }
    if (name === "sling") {
      return openSlingSource(stage.builtinConfig as unknown as SlingSourceConfig, {
        stateDir: path.join(this.stateDir, safeName(stage.pipeline), safeName(stage.name)),
        log,
      });
    }
    if (name === "mirror")
      return openMirrorSource(stage.builtinConfig as unknown as MirrorFileConfig, { log });
    throw unsupported(stage);
  }

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
      case "sling":
        return new SlingSink(stage.builtinConfig as unknown as SlingSinkConfig, stage.pipeline);
      case "sse":
      case "mirror":
        throw unsupported(stage);
    }
  }
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "_");
}

function unsupported(stage: StageRoute): ConveyorError {
  return new ConveyorError(
    "UNKNOWN_BUILTIN",
    `this sidecar cannot run built-in "${stage.builtin}" as a ${stage.kind} (known: ${Object.keys(BUILTINS).join(", ")})`,
    { pipeline: stage.pipeline, stage: stage.name },
  );
}
