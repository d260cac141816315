/**
 * Starts and stops the Source runners of the sources the routing table places
 * on this sidecar. It follows the table (table-holder.ts) and nothing else:
 *
 *   new table ─▶ wanted = local source stages (endpoint, partitions, instance generation)
 *             ─▶ per source key, one chain: stop the old runner (drain, or abandon) ─▶ start the new one
 *
 * Never two readers: for one key, the replacement starts only after the old
 * runner has stopped, its last ack sent (drained) or its records given up
 * (abandoned). Across sidecars the router does the same with `claims()`: a
 * partition moves only once its old owner stops claiming it (router/handoff.ts).
 *
 * The drain rule is derived: drain, unless this is the first table of a new
 * session and the source is no longer here — then the router presumed this
 * sidecar dead and gave the source away, and its in-flight records are
 * abandoned (never acked; the new owner reads them again).
 */
import type { SourceClaim } from "../src/generated/conveyor/v1/SourceClaim";
import type { SourceReader } from "../src/stages/contract";
import type { Logger } from "../src/telemetry/log";
import type { ClientPool } from "./client-pool";
import type { Forwarder } from "./forwarder";
import type { LocalStages } from "./local-stages";
import type { RoutingTable, StageRoute } from "./routing-table";
import { GrpcSourceReader } from "./stage-clients";
import { SourceRunner } from "./source-runner";
import type { StageStats } from "./stage-stats";
import type { TableChange } from "./table-holder";

export interface SourceRunnersDeps {
  forwarder: Forwarder;
  pool: ClientPool;
  localStages: LocalStages;
  stats: StageStats;
  drainGraceMs: number;
  /** What this sidecar reads changed (a runner started or stopped): tell the router now. */
  onClaimsChanged(): void;
  log: Logger;
}

/** One source this sidecar should read, as the table says. */
interface Wanted {
  stage: StageRoute;
  endpoint: string;
  partitions: number[];
  generation: number;
  signature: string;
}

interface Running {
  runner: SourceRunner;
  wanted: Wanted;
}

const keyOf = (pipeline: string, stage: string): string => JSON.stringify([pipeline, stage]);

export class SourceRunners {
  private wanted = new Map<string, Wanted>();
  private readonly running = new Map<string, Running>();
  private readonly chains = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private readonly deps: SourceRunnersDeps) {}

  /** The sources being read now, draining ones included (sent to the router in every status). */
  claims(): SourceClaim[] {
    return [...this.running.values()].map(({ wanted: w }) => ({
      pipeline: w.stage.pipeline,
      stage: w.stage.name,
      partitions: w.partitions,
      generation: w.generation,
    }));
  }

  /** Follows a new routing table. */
  apply({ table, newSession }: TableChange): void {
    if (this.stopped) return;
    const wanted = wantedSources(table);
    this.wanted = wanted;
    // A queued start checks `this.wanted` when it runs, so only what runs or is wanted needs a step.
    for (const key of new Set([...wanted.keys(), ...this.running.keys()])) {
      const running = this.running.get(key);
      const want = wanted.get(key);
      if (running ? running.wanted.signature === want?.signature : want === undefined) continue;
      // Abandon only what a new session's table took away: the router presumed this sidecar dead.
      const drain = !(newSession && want === undefined);
      this.converge(key, drain);
    }
  }

  /** Stops every runner, draining in-flight records first; no runner starts after this. */
  async stopAll(): Promise<void> {
    this.stopped = true;
    this.wanted = new Map();
    for (const key of this.running.keys()) this.converge(key, true);
    await Promise.all([...this.chains.values()]);
  }

  /** Queues, for one source key, the steps that bring what runs in line with what the table wants. */
  private converge(key: string, drain: boolean): void {
    const step = async (): Promise<void> => {
      const running = this.running.get(key);
      if (running !== undefined && running.wanted.signature !== this.wanted.get(key)?.signature) {
        if (!drain)
          this.deps.log.warn(
            { pipeline: running.runner.pipeline, stage: running.runner.stage },
            "source moved away while this sidecar was presumed dead; abandoning in-flight records",
          );
        await running.runner.stop(drain ? this.deps.drainGraceMs : 0);
        this.running.delete(key);
        this.deps.onClaimsChanged();
      }
      // What the table wants now, which may be newer than what queued this step.
      const wanted = this.wanted.get(key);
      if (wanted !== undefined && !this.running.has(key) && !this.stopped) {
        this.running.set(key, { runner: this.start(wanted), wanted });
        this.deps.onClaimsChanged();
      }
    };
    const chain = (this.chains.get(key) ?? Promise.resolve()).then(step).catch((err: unknown) => {
      this.deps.log.error({ err, source: key }, "could not start or stop a source runner");
    });
    this.chains.set(key, chain);
    void chain.then(() => {
      if (this.chains.get(key) === chain) this.chains.delete(key);
    });
  }

  private start(w: Wanted): SourceRunner {
    const { forwarder, stats, log } = this.deps;
    const { pipeline, name } = w.stage;
    const runnerLog = log.child({ pipeline, stage: name });
    const runner = new SourceRunner({
      pipeline,
      stage: name,
      endpoint: w.endpoint,
      partitions: w.partitions,
      open: (partitions) => this.openSource(w.stage, w.endpoint, partitions, w.generation, runnerLog),
      settings: forwarder.table.pipeline(pipeline).settings,
      forwarder,
      stats,
      log: runnerLog,
    });
    runnerLog.info({ partitions: w.partitions, generation: w.generation }, "source placed here");
    runner.start();
    return runner;
  }

  private openSource(
    stage: StageRoute,
    endpoint: string,
    partitions: number[],
    generation: number,
    log: Logger,
  ): SourceReader {
    if (stage.builtin) return this.deps.localStages.openSource(stage, log);
    return new GrpcSourceReader(this.deps.pool.source(endpoint), {
      pipeline: stage.pipeline,
      partitions,
      generation,
    });
  }
}

/** The local source stages of a table, by key. */
function wantedSources(table: RoutingTable): Map<string, Wanted> {
  const wanted = new Map<string, Wanted>();
  for (const stage of table.localStages()) {
    if (stage.index !== 0 || stage.kind !== "source" || stage.local === undefined) continue;
    const endpoint = stage.builtin ? `builtin:${stage.builtin}` : stage.local.serviceEndpoint;
    if (!endpoint) continue;
    const { partitions, generation } = stage.local;
    const settings = JSON.stringify(table.pipeline(stage.pipeline).settings);
    wanted.set(keyOf(stage.pipeline, stage.name), {
      stage,
      endpoint,
      partitions,
      generation,
      signature: JSON.stringify([endpoint, partitions, generation, stage.builtinConfig ?? null, settings]),
    });
  }
  return wanted;
}
