/**
 * Applies the router's commands: fences out commands from an older
 * generation, swaps the routing table, and starts or stops the Source
 * runners of the source stages this sidecar is assigned.
 */
import { ConveyorError } from "../src/errors";
import type { RouterCommand__Output } from "../src/generated/conveyor/v1/RouterCommand";
import type { Logger } from "../src/telemetry/log";
import type { SourceReader } from "../src/stages/contract";
import type { ClientPool } from "./client-pool";
import type { Forwarder } from "./forwarder";
import type { LocalStages } from "./local-stages";
import { RoutingTable, type StageRoute } from "./routing-table";
import { GrpcSourceReader } from "./stage-clients";
import { SourceRunner } from "./source-runner";
import type { StageStats } from "./stage-stats";

interface Assignment {
  pipeline: string;
  stage: string;
  stageIndex: number;
  partitions: number[];
  generation: number;
}

export interface AssignmentsDeps {
  sidecarId: string;
  forwarder: Forwarder;
  pool: ClientPool;
  localStages: LocalStages;
  stats: StageStats;
  drainGraceMs: number;
  log: Logger;
}

const keyOf = (a: { pipeline: string; stage: string }): string => `${a.pipeline}/${a.stage}`;

export class Assignments {
  private generation = 0;
  private assigned = new Map<string, Assignment>();
  /**
   * Set on a new heartbeat stream, where the router sends its full state
   * (Assign × n, then UpdateRoutes): assignments collect here and replace
   * `assigned` when the table arrives, so anything the router no longer gives
   * this sidecar (it moved while this sidecar was away) is dropped.
   */
  private incoming: Map<string, Assignment> | undefined;
  /** Revoked with drain_first: the runner finishes its in-flight records before it stops. */
  private readonly drainRequested = new Set<string>();
  private readonly runners = new Map<string, { runner: SourceRunner; signature: string }>();

  constructor(private readonly deps: AssignmentsDeps) {}

  get currentGeneration(): number {
    return this.generation;
  }

  list(): Assignment[] {
    return [...this.assigned.values()];
  }

  /** A new heartbeat stream: what follows is the router's full state for this sidecar. */
  startSession(): void {
    this.incoming = new Map();
  }

  handle(cmd: RouterCommand__Output): void {
    const { log } = this.deps;
    if (cmd.generation < this.generation) {
      const err = new ConveyorError(
        "STALE_GENERATION",
        `ignoring a command of generation ${cmd.generation}; this sidecar is at ${this.generation}`,
      );
      log.warn({ code: err.code, command: cmd.command }, err.message);
      return;
    }
    this.generation = cmd.generation;
    switch (cmd.command) {
      case "assign": {
        const a = cmd.assign!;
        (this.incoming ?? this.assigned).set(keyOf(a), {
          pipeline: a.pipeline,
          stage: a.stage,
          stageIndex: a.stageIndex,
          partitions: [...a.partitions],
          generation: a.generation,
        });
        log.info(
          { pipeline: a.pipeline, stage: a.stage, generation: a.generation, partitions: a.partitions },
          "stage assigned",
        );
        break;
      }
      case "revoke": {
        const r = cmd.revoke!;
        (this.incoming ?? this.assigned).delete(keyOf(r));
        if (r.drainFirst) this.drainRequested.add(keyOf(r));
        log.info({ pipeline: r.pipeline, stage: r.stage, drainFirst: r.drainFirst }, "stage revoked");
        break;
      }
      case "updateRoutes": {
        const table = RoutingTable.fromProto(cmd.updateRoutes!.table!, this.deps.sidecarId);
        if (this.incoming) {
          this.assigned = this.incoming;
          this.incoming = undefined;
        }
        this.deps.forwarder.setTable(table);
        log.info({ version: table.version, pipelines: table.pipelineNames() }, "routing table updated");
        break;
      }
      default:
        log.warn({ command: cmd.command }, "unknown router command ignored");
        return;
    }
    if (!this.incoming) this.reconcile();
  }

  /** Stops every source runner, draining in-flight records first. */
  async stopAll(): Promise<void> {
    const runners = [...this.runners.values()];
    this.runners.clear();
    await Promise.all(runners.map(({ runner }) => runner.stop(this.deps.drainGraceMs)));
  }

  /** Source runners follow the assignments and the table: start what is missing, stop what was revoked. */
  private reconcile(): void {
    const { forwarder, stats, log } = this.deps;
    const table = forwarder.table;
    const wanted = new Map<
      string,
      { a: Assignment; stage: StageRoute; endpoint: string; signature: string }
    >();
    for (const a of this.assigned.values()) {
      if (a.stageIndex !== 0) continue;
      // Until the table for this pipeline arrives (the next UpdateRoutes) there is nothing to read into.
      const stage = table.hasPipeline(a.pipeline) ? table.stageAt(a.pipeline, 0) : undefined;
      if (!stage?.local) continue;
      const endpoint = stage.builtin ? `builtin:${stage.builtin}` : stage.local.serviceEndpoint;
      if (!endpoint) continue;
      wanted.set(keyOf(a), {
        a,
        stage,
        endpoint,
        signature: `${endpoint}|${a.partitions.join(",")}|${a.generation}`,
      });
    }
    for (const [key, r] of this.runners) {
      if (wanted.get(key)?.signature !== r.signature) {
        this.runners.delete(key);
        // Drain when the router asked for it or the stage stays here (new partitions); a stage that
        // moved away without a drain request moved because this sidecar was presumed dead: its
        // in-flight records are abandoned (never acked), and the new owner reads them again.
        const drain = this.drainRequested.delete(key) || wanted.has(key);
        if (!drain)
          log.warn(
            { pipeline: r.runner.pipeline, stage: r.runner.stage },
            "source moved away; abandoning in-flight records",
          );
        void r.runner.stop(drain ? this.deps.drainGraceMs : 0);
      }
    }
    this.drainRequested.clear();
    for (const [key, w] of wanted) {
      if (this.runners.has(key)) continue;
      const runnerLog = log.child({ pipeline: w.a.pipeline, stage: w.a.stage });
      const runner = new SourceRunner({
        pipeline: w.a.pipeline,
        stage: w.a.stage,
        endpoint: w.endpoint,
        partitions: w.a.partitions,
        open: (partitions) => this.openSource(w.stage, w.endpoint, partitions, runnerLog),
        settings: table.pipeline(w.a.pipeline).settings,
        forwarder,
        stats,
        log: runnerLog,
      });
      this.runners.set(key, { runner, signature: w.signature });
      runner.start();
    }
  }

  private openSource(stage: StageRoute, endpoint: string, partitions: number[], log: Logger): SourceReader {
    if (stage.builtin) return this.deps.localStages.openSource(stage, log);
    return new GrpcSourceReader(this.deps.pool.source(endpoint), { pipeline: stage.pipeline, partitions });
  }
}
