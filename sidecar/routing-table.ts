/**
 * The sidecar's view of where every stage of every pipeline runs. Immutable:
 * each table the router sends becomes a new RoutingTable swapped into the
 * TableHolder, so a batch in flight keeps the table it started with.
 * Pure logic, no I/O.
 */
import type { RoutingTable__Output } from "../src/generated/conveyor/v1/RoutingTable";
import type { StageInstance__Output } from "../src/generated/conveyor/v1/StageInstance";
import type { PipelineSettings__Output } from "../src/generated/conveyor/v1/PipelineSettings";
import type { RoutingTable as RoutingTableProto } from "../src/generated/conveyor/v1/RoutingTable";
import { DEFAULT_SETTINGS, type PipelineSettings } from "../src/config/pipeline";
import { STAGE_KIND_TO_PROTO } from "../src/stages/contract";
import { ConveyorError } from "../src/errors";
import { hashKey } from "../src/records";
import { Rendezvous } from "./rendezvous";
import { stageKindFromProto, type Record, type StageKind } from "../src/stages/contract";

export interface StageInstance {
  sidecarId: string;
  peerAddress: string;
  serviceEndpoint: string;
  serviceName: string;
  partitions: number[];
  /** The table generation in which this instance last changed (what a source reads for). */
  generation: number;
}

export interface StageRoute {
  pipeline: string;
  index: number;
  name: string;
  kind: StageKind;
  builtin?: string;
  builtinConfig?: { [key: string]: unknown };
  /** The pipeline's dead-letter sink: reached only by records that failed elsewhere. */
  deadLetter: boolean;
  instances: StageInstance[];
  /** This sidecar's own instance, when it runs the stage. */
  local?: StageInstance;
}

export interface PipelineRoute {
  name: string;
  stages: StageRoute[];
  settings: PipelineSettings;
  /** The table generation in which this pipeline's routes last changed: the fence of its peer hops. */
  generation: number;
}

/** Where a group of records goes next. */
export type Destination =
  { local: true; instance: StageInstance } | { local: false; instance: StageInstance };

export class RoutingTable {
  private readonly pipelines: ReadonlyMap<string, PipelineRoute>;
  private roundRobin = 0;
  /** Per stage, the instances' rendezvous seeds: hashed once per table, not per record. */
  private readonly pickers = new WeakMap<StageRoute, Rendezvous>();

  constructor(
    readonly version: number,
    readonly generation: number,
    pipelines: PipelineRoute[],
  ) {
    this.pipelines = new Map(pipelines.map((p) => [p.name, p]));
  }

  static empty(): RoutingTable {
    return new RoutingTable(0, 0, []);
  }

  /** Builds a table from the router's; stages this sidecar runs get `local`. */
  static fromProto(table: RoutingTable__Output, selfId: string): RoutingTable {
    const pipelines: PipelineRoute[] = table.pipelines.map((p) => ({
      name: p.pipeline,
      settings: settingsFromProto(p.settings),
      // Tables from routers before per-pipeline generations: the table's own.
      generation: Number(p.generation) || Number(table.generation),
      stages: p.stages.map((s) => {
        const kind = stageKindFromProto(s.kind);
        if (!kind)
          throw new ConveyorError(
            "PROTOCOL_VIOLATION",
            `pipeline ${p.pipeline}: stage ${s.name} has no kind`,
          );
        const instances = s.instances.map(toInstance);
        const local = instances.find((i) => i.sidecarId === selfId);
        return {
          pipeline: p.pipeline,
          index: s.index,
          name: s.name,
          kind,
          ...(s.builtin ? { builtin: s.builtin, builtinConfig: parseConfig(s.builtinConfigJson) } : {}),
          deadLetter: s.deadLetter,
          instances,
          ...(local ? { local } : {}),
        };
      }),
    }));
    return new RoutingTable(Number(table.version), Number(table.generation), pipelines);
  }

  pipelineNames(): string[] {
    return [...this.pipelines.keys()];
  }

  hasPipeline(name: string): boolean {
    return this.pipelines.has(name);
  }

  pipeline(name: string): PipelineRoute {
    const p = this.pipelines.get(name);
    if (!p)
      throw new ConveyorError(
        "PIPELINE_NOT_FOUND",
        `pipeline "${name}" is not in routing table v${this.version}`,
        { pipeline: name },
      );
    return p;
  }

  /** The stage at `index`, or undefined past the sink (nothing left to do). */
  stageAt(pipeline: string, index: number): StageRoute | undefined {
    const p = this.pipeline(pipeline);
    if (index < 0) throw new ConveyorError("STAGE_NOT_FOUND", `pipeline "${pipeline}" has no stage ${index}`);
    return p.stages[index];
  }

  /** The pipeline's dead-letter sink, when it has one. */
  deadLetterStage(pipeline: string): StageRoute | undefined {
    return this.pipeline(pipeline).stages.find((s) => s.deadLetter);
  }

  stageByName(pipeline: string, name: string): StageRoute {
    const s = this.pipeline(pipeline).stages.find((st) => st.name === name);
    if (!s)
      throw new ConveyorError("STAGE_NOT_FOUND", `pipeline "${pipeline}" has no stage "${name}"`, {
        pipeline,
        stage: name,
      });
    return s;
  }

  /**
   * Splits records among the stage's instances:
   * - all local when this sidecar runs the stage: locality wins, no hop (so a
   *   stage served here and elsewhere gets every record this sidecar routes,
   *   and keys are spread over its instances only by which sidecars route them);
   * - keyed records by rendezvous hashing of the key over the instances' sidecar
   *   ids, so one key goes to one instance whatever the order of instances, and
   *   an instance joining or leaving moves only ~1/N of the keys;
   * - keyless records stay together per batch, and batches rotate over the
   *   instances (one hop per batch, the batch's order kept).
   */
  route(stage: StageRoute, records: Record[]): Array<{ destination: Destination; records: Record[] }> {
    if (stage.local) return [{ destination: { local: true, instance: stage.local }, records }];
    const n = stage.instances.length;
    if (n === 0) {
      throw new ConveyorError(
        "NO_ROUTE",
        `no sidecar runs stage "${stage.name}" of pipeline "${stage.pipeline}"`,
        {
          pipeline: stage.pipeline,
          stage: stage.name,
        },
      );
    }
    if (n === 1) return [{ destination: { local: false, instance: stage.instances[0]! }, records }];
    const picker = this.picker(stage);
    const groups = new Map<number, Record[]>();
    const rotate = this.roundRobin++ % n;
    for (const r of records) {
      const i = r.key.length > 0 ? picker.pick(hashKey(r.key)) : rotate;
      const g = groups.get(i);
      if (g) g.push(r);
      else groups.set(i, [r]);
    }
    return [...groups].map(([i, recs]) => ({
      destination: { local: false, instance: stage.instances[i]! },
      records: recs,
    }));
  }

  private picker(stage: StageRoute): Rendezvous {
    let p = this.pickers.get(stage);
    if (!p) {
      p = new Rendezvous(stage.instances.map((i) => i.sidecarId));
      this.pickers.set(stage, p);
    }
    return p;
  }

  toProto(): RoutingTableProto {
    return {
      version: this.version,
      generation: this.generation,
      pipelines: [...this.pipelines.values()].map((p) => ({
        pipeline: p.name,
        generation: p.generation,
        settings: p.settings,
        stages: p.stages.map((s) => ({
          index: s.index,
          name: s.name,
          kind: STAGE_KIND_TO_PROTO[s.kind],
          builtin: s.builtin ?? "",
          builtinConfigJson: s.builtin ? JSON.stringify(s.builtinConfig ?? {}) : "",
          deadLetter: s.deadLetter,
          instances: s.instances,
        })),
      })),
    };
  }

  /** Stages this sidecar runs. */
  localStages(): StageRoute[] {
    return [...this.pipelines.values()].flatMap((p) => p.stages.filter((s) => s.local));
  }
}

/** Zero means "not set" in proto3: fall back to the default for that field. */
function settingsFromProto(p: PipelineSettings__Output | null): PipelineSettings {
  const pick = (v: number | undefined, d: number): number => (v ? Number(v) : d);
  return {
    batchSize: pick(p?.batchSize, DEFAULT_SETTINGS.batchSize),
    maxInFlightRecords: pick(p?.maxInFlightRecords, DEFAULT_SETTINGS.maxInFlightRecords),
    maxInFlightBytes: pick(p?.maxInFlightBytes, DEFAULT_SETTINGS.maxInFlightBytes),
    maxRecordBytes: pick(p?.maxRecordBytes, DEFAULT_SETTINGS.maxRecordBytes),
    stageTimeoutMs: pick(p?.stageTimeoutMs, DEFAULT_SETTINGS.stageTimeoutMs),
    ordering: p?.ordering === "key" ? "key" : "none",
    // Inside the policy zero is meaningful (no retries, no backoff).
    retry: p?.retry
      ? { maxRetries: p.retry.maxRetries, backoffMs: p.retry.backoffMs, maxBackoffMs: p.retry.maxBackoffMs }
      : DEFAULT_SETTINGS.retry,
  };
}

function toInstance(i: StageInstance__Output): StageInstance {
  return {
    sidecarId: i.sidecarId,
    peerAddress: i.peerAddress,
    serviceEndpoint: i.serviceEndpoint,
    serviceName: i.serviceName,
    partitions: [...i.partitions],
    generation: Number(i.generation),
  };
}

function parseConfig(json: string): { [key: string]: unknown } {
  if (!json) return {};
  try {
    return JSON.parse(json) as { [key: string]: unknown };
  } catch (err) {
    throw new ConveyorError("PROTOCOL_VIOLATION", `built-in config is not JSON: ${(err as Error).message}`);
  }
}
