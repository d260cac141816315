/**
 * The data path. A batch of records for stage i of a pipeline:
 *
 *    deliver(pipeline, i, records)
 *        │  routing table vN: who runs stage i?
 *        ├── this sidecar ──► transform (local service or built-in) ──► deliver(pipeline, i+1, output)
 *        │                └─► sink ──► confirmed (durable)
 *        └── a peer ──────► Forward(batch) ──► peer's deliver(pipeline, i, …) ──► ack
 *
 * deliver() resolves only when every record (and everything it became) has
 * been confirmed by the sink, so the caller can ack the source cursor: that
 * is the whole at-least-once argument. Any failure rejects; the caller retries.
 */
import { ConveyorError, asConveyorError } from "../src/errors";
import type { Record, RecordError } from "../src/stages/contract";
import { metrics } from "../src/telemetry/metrics";
import type { Logger } from "../src/telemetry/log";
import type { ClientPool } from "./client-pool";
import type { LocalStages } from "./local-stages";
import { RoutingTable, type StageInstance, type StageRoute } from "./routing-table";
import type { StageStats } from "./stage-stats";
import type { Taps } from "./taps";

export interface ForwarderDeps {
  sidecarId: string;
  pool: ClientPool;
  localStages: LocalStages;
  stats: StageStats;
  taps: Taps;
  log: Logger;
}

export class Forwarder {
  private current = RoutingTable.empty();

  constructor(private readonly deps: ForwarderDeps) {}

  get table(): RoutingTable {
    return this.current;
  }

  /** Swaps the routing table; batches in flight finish on the table they started with. */
  setTable(table: RoutingTable): void {
    this.current = table;
    metrics.routingTableVersion.set(table.version);
    this.deps.localStages.retain(table.localStages());
  }

  async deliver(pipeline: string, index: number, records: Record[], table = this.current): Promise<void> {
    if (records.length === 0) return;
    const stage = table.stageAt(pipeline, index);
    if (!stage) return;
    await Promise.all(
      table
        .route(stage, records)
        .map(({ destination, records: group }) =>
          destination.local
            ? this.runLocal(table, stage, destination.instance, group)
            : this.hop(table, stage, destination.instance, group),
        ),
    );
  }

  private async runLocal(
    table: RoutingTable,
    stage: StageRoute,
    instance: StageInstance,
    records: Record[],
  ): Promise<void> {
    const { stats, taps, localStages } = this.deps;
    stats.in(stage.pipeline, stage.name, records.length);
    if (taps.active) taps.offer(stage.pipeline, stage.name, records);
    const timer = metrics.hopDuration.labels(stage.pipeline, stage.name, "local").startTimer();
    try {
      switch (stage.kind) {
        case "transform": {
          const results = await localStages.transform(stage, instance).process(records);
          this.throwOnRecordErrors(
            stage,
            records,
            results.map((r) => r.error),
          );
          const output: Record[] = [];
          for (const r of results) for (const o of r.records) output.push(o);
          stats.out(stage.pipeline, stage.name, output.length);
          await this.deliver(stage.pipeline, stage.index + 1, output, table);
          return;
        }
        case "sink": {
          const results = await localStages.sink(stage, instance).write(records);
          this.throwOnRecordErrors(
            stage,
            records,
            results.map((r) => r.error),
          );
          stats.out(stage.pipeline, stage.name, records.length);
          return;
        }
        case "source":
          throw new ConveyorError(
            "PROTOCOL_VIOLATION",
            `records cannot be delivered to source stage "${stage.name}"`,
          );
      }
    } catch (err) {
      const e = asConveyorError(err, "STAGE_FAILED");
      // Errors from further downstream were already counted where they happened.
      if (!(e.details as { counted?: boolean }).counted) {
        stats.error(stage.pipeline, stage.name, e.code, e.message, records.length);
        throw new ConveyorError(
          e.code,
          e.message,
          { ...e.details, pipeline: stage.pipeline, stage: stage.name, counted: true },
          { cause: e },
        );
      }
      throw e;
    } finally {
      timer();
    }
  }

  private async hop(
    table: RoutingTable,
    stage: StageRoute,
    instance: StageInstance,
    records: Record[],
  ): Promise<void> {
    const timer = metrics.hopDuration.labels(stage.pipeline, stage.name, "peer").startTimer();
    try {
      await this.deps.pool.peer(instance.peerAddress, this.deps.sidecarId).forward({
        pipeline: stage.pipeline,
        stageIndex: stage.index,
        generation: table.generation,
        records,
      });
    } finally {
      timer();
    }
  }

  private throwOnRecordErrors(stage: StageRoute, records: Record[], errors: Array<RecordError | null>): void {
    let failed = 0;
    let first: { id: string; error: RecordError } | undefined;
    let retryable = true;
    errors.forEach((error, i) => {
      if (!error) return;
      failed++;
      first ??= { id: records[i]!.id, error };
      retryable &&= error.retryable;
    });
    if (!first) return;
    throw new ConveyorError(
      "STAGE_FAILED",
      `${stage.kind} "${stage.name}" failed ${failed} of ${records.length} records; first: record ${first.id}: ${first.error.message}`,
      { pipeline: stage.pipeline, stage: stage.name, recordId: first.id, failed, retryable },
    );
  }
}
