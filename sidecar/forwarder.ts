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
 * A stage the table does not have is a rejection too (NO_ROUTE, retryable),
 * never a silent success. Record sizes are checked here, per record, at the
 * stage that receives them, whatever the placement: an oversize record fails
 * alone (RECORD_TOO_LARGE, not retryable) and goes to the dead-letter sink.
 */
import { ConveyorError, asConveyorError } from "../src/errors";
import type { Record, RecordError } from "../src/stages/contract";
import { metrics } from "../src/telemetry/metrics";
import type { Logger } from "../src/telemetry/log";
import type { ClientPool } from "./client-pool";
import type { LocalStages } from "./local-stages";
import { recordSize } from "../src/records";
import type { RoutingTable, StageInstance, StageRoute } from "./routing-table";
import { batchBytes, type StageStats } from "./stage-stats";
import type { TableHolder } from "./table-holder";
import type { Taps } from "./taps";
import { deadLetterRecord, retryFailedRecords, type DeadRecord } from "./record-retries";

/**
 * What became of the records of a delivery once it resolved: written by the
 * sink (a split record once per output), filtered out by a transform, or sent
 * to the dead-letter sink. Inject answers with it; peers send it in ForwardAck.
 */
export interface Outcome {
  written: number;
  filtered: number;
  deadLettered: number;
}

const NOTHING: Outcome = { written: 0, filtered: 0, deadLettered: 0 };

export function addOutcomes(outcomes: readonly Outcome[]): Outcome {
  const sum = { ...NOTHING };
  for (const o of outcomes) {
    sum.written += o.written;
    sum.filtered += o.filtered;
    sum.deadLettered += o.deadLettered;
  }
  return sum;
}

export interface ForwarderDeps {
  sidecarId: string;
  tables: TableHolder;
  /** Zombie protection: refuses deliveries after a long pause (see pause-fence.ts). */
  fence?: { check(): void };
  pool: ClientPool;
  localStages: LocalStages;
  stats: StageStats;
  taps: Taps;
  log: Logger;
}

export class Forwarder {
  constructor(private readonly deps: ForwarderDeps) {}

  /** The current table; a batch in flight finishes on the table it started with. */
  get table(): RoutingTable {
    return this.deps.tables.current;
  }

  async deliver(pipeline: string, index: number, records: Record[], table = this.table): Promise<Outcome> {
    if (records.length === 0) return NOTHING;
    this.deps.fence?.check();
    const stage = table.stageAt(pipeline, index);
    if (!stage)
      throw new ConveyorError(
        "NO_ROUTE",
        `routing table v${table.version} has no stage ${index} in pipeline "${pipeline}"`,
        { pipeline, stageIndex: index },
      );
    const outcomes = await Promise.all(
      table
        .route(stage, records)
        .map(({ destination, records: group }) =>
          destination.local
            ? this.runLocal(table, stage, destination.instance, group)
            : this.hop(table, stage, destination.instance, group),
        ),
    );
    return outcomes.length === 1 ? outcomes[0]! : addOutcomes(outcomes);
  }

  private async runLocal(
    table: RoutingTable,
    stage: StageRoute,
    instance: StageInstance,
    records: Record[],
  ): Promise<Outcome> {
    const { stats, taps } = this.deps;
    stats.in(stage.pipeline, stage.name, records.length, batchBytes(records));
    const settled = stats.begin(stage.pipeline, stage.name, records.length);
    if (taps.active) taps.offer(stage.pipeline, stage.name, records);
    const timer = metrics.hopDuration.labels(stage.pipeline, stage.name, "local").startTimer();
    try {
      if (stage.kind === "source") {
        throw new ConveyorError(
          "PROTOCOL_VIOLATION",
          `records cannot be delivered to source stage "${stage.name}"`,
        );
      }
      const { retry, maxRecordBytes } = table.pipeline(stage.pipeline).settings;
      // Outputs of a transform move on while its failed records are retried.
      const downstream: Array<Promise<Outcome>> = [];
      let written = 0;
      let filtered = 0;
      const dead = await retryFailedRecords(
        records,
        async (batch) => {
          // The dead-letter sink takes any size: a record too large elsewhere is kept for inspection.
          const max = stage.deadLetter ? Infinity : maxRecordBytes;
          const { fit, errors: sizeErrors } = splitOversize(batch, max, stage);
          if (fit.length === 0) return sizeErrors;
          const call = await this.callStage(table, stage, instance, fit);
          const { errors: stageErrors, output } = call;
          written += call.written;
          filtered += call.filtered;
          let next = 0;
          const errors = sizeErrors.map((e) => e ?? stageErrors[next++] ?? null);
          if (output.length > 0) {
            const delivered = this.deliver(stage.pipeline, stage.index + 1, output, table);
            delivered.catch(() => undefined); // awaited below; this only keeps it from being "unhandled"
            downstream.push(delivered);
          }
          return errors;
        },
        retry,
        {
          onRetry: ({ retrying, attempt, delayMs, first }) => {
            stats.error(
              stage.pipeline,
              stage.name,
              first.error.code || "STAGE_FAILED",
              first.error.message,
              retrying,
              { recordId: first.record.id, attempt },
            );
            stats.retried(stage.pipeline, stage.name, retrying);
            this.deps.log.warn(
              {
                pipeline: stage.pipeline,
                stage: stage.name,
                recordId: first.record.id,
                err: first.error.message,
                retrying,
                attempt,
                retryInMs: delayMs,
              },
              "records failed at a stage; retrying them",
            );
          },
        },
      );
      if (dead.length > 0) await this.deadLetter(table, stage, dead, records.length);
      else if (stats.state(stage.pipeline, stage.name) === "error")
        stats.setState(stage.pipeline, stage.name, "running");
      const here: Outcome = { written, filtered, deadLettered: dead.length };
      return addOutcomes([here, ...(await Promise.all(downstream))]);
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
      settled();
      timer();
    }
  }

  /**
   * One call of a local transform or sink: an error (or null) per record and,
   * for a transform, the outputs of the records that succeeded. A failure of
   * the whole call whose code counts against the stage (it hung past
   * stageTimeoutMs, broke the contract, answered a gRPC error of its own) fails
   * every record of the call, retryably if its code is; a transport failure (the
   * service is down, the connection dropped or was closed by a GOAWAY) rejects
   * instead, so the batch is retried whole and no record is dead-lettered for an
   * outage.
   */
  private async callStage(
    table: RoutingTable,
    stage: StageRoute,
    instance: StageInstance,
    records: Record[],
  ): Promise<{ errors: Array<RecordError | null>; output: Record[]; written: number; filtered: number }> {
    const { localStages, stats } = this.deps;
    const options = { timeoutMs: table.pipeline(stage.pipeline).settings.stageTimeoutMs };
    const started = performance.now();
    try {
      if (stage.kind === "transform") {
        const results = await localStages.transform(stage, instance).process(records, options);
        const output: Record[] = [];
        let filtered = 0;
        for (const r of results) {
          if (r.error) continue;
          if (r.records.length === 0) filtered++;
          for (const o of r.records) output.push(o);
        }
        stats.out(stage.pipeline, stage.name, output.length);
        return { errors: results.map((r) => r.error), output, written: 0, filtered };
      }
      const results = await localStages.sink(stage, instance).write(records, options);
      const written = results.filter((r) => !r.error).length;
      stats.out(stage.pipeline, stage.name, written);
      return { errors: results.map((r) => r.error), output: [], written, filtered: 0 };
    } catch (err) {
      const e = asConveyorError(err, "STAGE_FAILED");
      // The table decides (src/errors.ts, countsAgainstStage): a transport or placement failure is retried whole.
      if (!e.countsAgainstStage) throw e;
      const error: RecordError = { message: e.message, retryable: e.retryable, code: e.code };
      return { errors: records.map(() => error), output: [], written: 0, filtered: 0 };
    } finally {
      stats.latency(stage.pipeline, stage.name, performance.now() - started, records.length);
    }
  }

  /**
   * Records out of retries go to the pipeline's dead-letter sink, with headers
   * saying why. Without one (or when the dead-letter sink itself failed) the
   * batch fails: the source keeps retrying it and acks nothing past it, so the
   * stage is stopped and reported, never dropped.
   */
  private async deadLetter(
    table: RoutingTable,
    stage: StageRoute,
    dead: DeadRecord[],
    batch: number,
  ): Promise<void> {
    const { stats, log } = this.deps;
    const first = dead[0]!;
    const dlq = table.deadLetterStage(stage.pipeline);
    stats.error(
      stage.pipeline,
      stage.name,
      first.error.code || "STAGE_FAILED",
      first.error.message,
      dead.length,
      { recordId: first.record.id, attempt: first.attempts },
    );
    if (!dlq || stage.deadLetter) {
      stats.setState(stage.pipeline, stage.name, "error");
      throw new ConveyorError(
        "STAGE_FAILED",
        `${stage.kind} "${stage.name}" failed ${dead.length} of ${batch} records after ${first.attempts} attempt(s)` +
          `${stage.deadLetter ? " (this is the dead-letter sink)" : " and the pipeline has no dead-letter sink"}; ` +
          `first: record ${first.record.id}: ${first.error.message}`,
        {
          pipeline: stage.pipeline,
          stage: stage.name,
          recordId: first.record.id,
          failed: dead.length,
          counted: true,
        },
      );
    }
    log.warn(
      {
        pipeline: stage.pipeline,
        stage: stage.name,
        dlq: dlq.name,
        records: dead.length,
        recordIds: dead.slice(0, 10).map((d) => d.record.id),
        err: first.error.message,
        attempts: first.attempts,
      },
      "records sent to the dead-letter sink",
    );
    const now = Date.now();
    await this.deliver(
      stage.pipeline,
      dlq.index,
      dead.map((d) => deadLetterRecord(d, stage.name, now)),
      table,
    );
    stats.deadLettered(stage.pipeline, stage.name, dead.length);
  }

  private async hop(
    table: RoutingTable,
    stage: StageRoute,
    instance: StageInstance,
    records: Record[],
  ): Promise<Outcome> {
    const timer = metrics.hopDuration.labels(stage.pipeline, stage.name, "peer").startTimer();
    this.deps.stats.peer(stage.pipeline, stage.name, records.length);
    try {
      return await this.deps.pool.peer(instance.peerAddress, this.deps.sidecarId).forward({
        pipeline: stage.pipeline,
        stageIndex: stage.index,
        generation: table.pipeline(stage.pipeline).generation,
        records,
      });
    } finally {
      timer();
    }
  }
}

/**
 * The records of a batch that fit the pipeline's maxRecordBytes, and one error
 * (or null) per record of the batch: an oversize record fails alone, for good.
 */
function splitOversize(
  records: Record[],
  max: number,
  stage: StageRoute,
): { fit: Record[]; errors: Array<RecordError | null> } {
  let fit: Record[] | undefined;
  const errors: Array<RecordError | null> = new Array<RecordError | null>(records.length).fill(null);
  records.forEach((r, i) => {
    const size = recordSize(r);
    if (size <= max) {
      fit?.push(r);
      return;
    }
    fit ??= records.slice(0, i);
    errors[i] = {
      code: "RECORD_TOO_LARGE",
      message: `record ${r.id} is ${size} bytes; pipeline "${stage.pipeline}" allows ${max} (at ${stage.kind} "${stage.name}")`,
      retryable: false,
    };
  });
  return { fit: fit ?? records, errors };
}
