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
 * A batch split among a stage's instances (rendezvous by key) goes as one group
 * per instance; deliverSettled() says which groups' records failed, so the
 * source retries only those (a live instance never gets its group twice).
 * A stage the table does not have is a rejection too (NO_ROUTE, retryable),
 * never a silent success. Record sizes are checked here, per record, at the
 * stage that receives them, whatever the placement: an oversize record fails
 * alone (RECORD_TOO_LARGE, not retryable) and goes to the dead-letter sink.
 *
 * Traced records (a sampled `traceparent` header, src/telemetry/tracing.ts) get a span per stage call
 * and attempt, and one per peer hop; a transform's outputs continue the trace of their input.
 */
import { ConveyorError, asConveyorError } from "../src/errors";
import type { CallOptions, Record, RecordError } from "../src/stages/contract";
import { metrics } from "../src/telemetry/metrics";
import {
  SpanKind,
  endSpan,
  inTraceOf,
  setTraceOf,
  startBatchSpan,
  startStepSpans,
  tracingOn,
  type RecordSpans,
} from "../src/telemetry/tracing";
import type { Attributes, Span } from "@opentelemetry/api";
import { eventTimeMsOf } from "../src/sdk/wire";
import type { Logger } from "../src/telemetry/log";
import type { ClientPool } from "./client-pool";
import type { LocalStages } from "./local-stages";
import { recordSize } from "../src/records";
import type { Destination, RoutingTable, StageInstance, StageRoute } from "./routing-table";
import { batchBytes, type StageStats } from "./stage-stats";
import type { TableHolder } from "./table-holder";
import type { Taps } from "./taps";
import { deadLetterRecord, retryFailedRecords, type DeadRecord } from "./record-retries";
import { splitDlqError } from "../src/dlq/dead-letters";

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

/** The records a delivery left unconfirmed (those of its failed groups) and the first group's failure. */
export interface Undelivered {
  records: Record[];
  error: unknown;
}

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
  /** The pod's name, for span attributes. */
  podName?: string;
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
  /** Attributes every span of this sidecar's data path carries. */
  readonly spanAttributes: Attributes;

  constructor(private readonly deps: ForwarderDeps) {
    this.spanAttributes = {
      "conveyor.sidecar.id": deps.sidecarId,
      ...(deps.podName ? { "k8s.pod.name": deps.podName } : {}),
    };
  }

  /** Span attributes of a step at `stage`. */
  stageAttributes(stage: StageRoute): Attributes {
    return {
      ...this.spanAttributes,
      "conveyor.pipeline": stage.pipeline,
      "conveyor.stage": stage.name,
      "conveyor.stage.kind": stage.kind,
      "conveyor.stage.index": stage.index,
      ...(stage.deadLetter ? { "conveyor.dead_letter": true } : {}),
    };
  }

  /** The current table; a batch in flight finishes on the table it started with. */
  get table(): RoutingTable {
    return this.deps.tables.current;
  }

  /** Delivers all records or rejects (with the first failure, once every group of a split batch settled). */
  async deliver(pipeline: string, index: number, records: Record[], table = this.table): Promise<Outcome> {
    const settled = await this.deliverSettled(pipeline, index, records, table);
    if (settled.undelivered) throw settled.undelivered.error;
    return settled.outcome;
  }

  /**
   * Delivers the records and says which were not: a batch split among a stage's
   * instances goes as one group per instance, and a group that failed leaves its
   * records undelivered while the other groups are confirmed. The caller retries
   * only the undelivered records (rerouted on the table of the retry), so a dead
   * instance still in the table costs no duplicates at the live ones. Resolves once
   * every group settled, never rejects; `outcome` counts the confirmed groups.
   */
  async deliverSettled(
    pipeline: string,
    index: number,
    records: Record[],
    table = this.table,
  ): Promise<{ outcome: Outcome; undelivered?: Undelivered }> {
    if (records.length === 0) return { outcome: NOTHING };
    let groups: Array<{ destination: Destination; records: Record[] }>;
    let stage: StageRoute;
    try {
      this.deps.fence?.check();
      const found = table.stageAt(pipeline, index);
      if (!found)
        throw new ConveyorError(
          "NO_ROUTE",
          `routing table v${table.version} has no stage ${index} in pipeline "${pipeline}"`,
          { pipeline, stageIndex: index },
        );
      stage = found;
      groups = table.route(stage, records);
    } catch (error) {
      return { outcome: NOTHING, undelivered: { records, error } };
    }
    if (groups.length === 1) {
      const { destination } = groups[0]!;
      try {
        return { outcome: await this.toDestination(table, stage, destination, records) };
      } catch (error) {
        return { outcome: NOTHING, undelivered: { records, error } };
      }
    }
    const settled = await Promise.allSettled(
      groups.map(({ destination, records: group }) => this.toDestination(table, stage, destination, group)),
    );
    const confirmed: Outcome[] = [];
    const failed = new Set<Record>();
    let error: unknown;
    settled.forEach((s, i) => {
      if (s.status === "fulfilled") confirmed.push(s.value);
      else {
        if (failed.size === 0) error = s.reason;
        for (const r of groups[i]!.records) failed.add(r);
      }
    });
    const outcome = addOutcomes(confirmed);
    if (failed.size === 0) return { outcome };
    // In the batch's order, so a retry keeps each key's records (and keyless batches) in order.
    return { outcome, undelivered: { records: records.filter((r) => failed.has(r)), error } };
  }

  private toDestination(
    table: RoutingTable,
    stage: StageRoute,
    destination: Destination,
    records: Record[],
  ): Promise<Outcome> {
    return destination.local
      ? this.runLocal(table, stage, destination.instance, records)
      : this.hop(table, stage, destination.instance, records);
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
    const inFlight = metrics.stageInFlight.labels(stage.pipeline, stage.name);
    inFlight.inc(records.length);
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
      let attempt = 0;
      const dead = await retryFailedRecords(
        records,
        async (batch) => {
          attempt++;
          // The dead-letter sink takes any size: a record too large elsewhere is kept for inspection.
          const max = stage.deadLetter ? Infinity : maxRecordBytes;
          const { fit, errors: sizeErrors } = splitOversize(batch, max, stage);
          if (tracingOn())
            traceSizeErrors(batch, sizeErrors, stage, {
              ...this.stageAttributes(stage),
              "conveyor.attempt": attempt,
            });
          if (fit.length === 0) return sizeErrors;
          const call = await this.callStage(table, stage, instance, fit, attempt);
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
            inTraceOf([first.record], () =>
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
              ),
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
      inFlight.dec(records.length);
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
    attempt: number,
  ): Promise<{ errors: Array<RecordError | null>; output: Record[]; written: number; filtered: number }> {
    const { localStages, stats } = this.deps;
    const labels = [stage.pipeline, stage.name] as const;
    metrics.stageBatchRecords.labels(...labels).observe(records.length);
    const traced = tracingOn() ? this.startStageSpans(stage, records, attempt) : undefined;
    const queuedAt = performance.now();
    const started = queuedAt;
    const options: CallOptions = {
      timeoutMs: table.pipeline(stage.pipeline).settings.stageTimeoutMs,
      onSent: (batchId) => {
        metrics.stageQueueWait.labels(...labels).observe((performance.now() - queuedAt) / 1000);
        if (traced) {
          traced.records.setAttributes({ "conveyor.batch.id": batchId });
          traced.batch.setAttribute("conveyor.batch.id", batchId);
        }
      },
    };
    let errors: Array<RecordError | null>;
    try {
      if (stage.kind === "transform") {
        const results = await localStages.transform(stage, instance).process(records, options);
        const output: Record[] = [];
        let filtered = 0;
        results.forEach((r, i) => {
          if (r.error) return;
          if (r.records.length === 0) filtered++;
          // Mapped or split, the outputs continue the trace of their input.
          const span = traced?.records.spans[i];
          for (const o of r.records) {
            if (span) setTraceOf(o, span);
            output.push(o);
          }
        });
        stats.out(stage.pipeline, stage.name, output.length);
        errors = results.map((r) => r.error);
        traced?.end(errors, output.length);
        return { errors, output, written: 0, filtered };
      }
      const results = await localStages.sink(stage, instance).write(records, options);
      const written = results.filter((r) => !r.error).length;
      stats.out(stage.pipeline, stage.name, written);
      errors = results.map((r) => r.error);
      if (!stage.deadLetter) observeLatency(stage.pipeline, records, errors);
      traced?.end(errors, written);
      return { errors, output: [], written, filtered: 0 };
    } catch (err) {
      const e = asConveyorError(err, "STAGE_FAILED");
      const error: RecordError = { message: e.message, retryable: e.retryable, code: e.code };
      traced?.end(
        records.map(() => error),
        0,
      );
      // The table decides (src/errors.ts, countsAgainstStage): a transport or placement failure is retried whole.
      if (!e.countsAgainstStage) throw e;
      return { errors: records.map(() => error), output: [], written: 0, filtered: 0 };
    } finally {
      stats.latency(stage.pipeline, stage.name, performance.now() - started, records.length);
    }
  }

  /** A span per traced record of a stage call and one for the call, linking them; undefined if none is traced. */
  private startStageSpans(
    stage: StageRoute,
    records: Record[],
    attempt: number,
  ):
    | { records: RecordSpans; batch: Span; end(errors: Array<RecordError | null>, out: number): void }
    | undefined {
    const attributes = { ...this.stageAttributes(stage), "conveyor.attempt": attempt };
    const traced = startStepSpans(records, `${stage.kind} ${stage.name}`, SpanKind.INTERNAL, attributes);
    if (!traced) return undefined;
    if (stage.deadLetter) traced.spans.forEach((s, i) => s?.setAttributes(deadLetterAttributes(records[i]!)));
    const batch = startBatchSpan(`batch ${stage.kind} ${stage.name}`, traced, {
      ...attributes,
      "conveyor.batch.records": records.length,
      "conveyor.batch.traced": traced.count,
    });
    return {
      records: traced,
      batch,
      end(errors, out) {
        let failed = 0;
        traced.spans.forEach((s, i) => {
          const error = errors[i];
          if (error) failed++;
          if (s) endSpan(s, error);
        });
        batch.setAttributes({ "conveyor.batch.failed": failed, "conveyor.batch.out": out });
        endSpan(batch, failed === records.length && errors[0] ? errors[0] : undefined);
      },
    };
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
    inTraceOf(
      dead.map((d) => d.record),
      () =>
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
        ),
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
    // Traced records travel with the hop's span as their traceparent; the peer's spans are its children.
    const traced = tracingOn()
      ? startStepSpans(
          records,
          `forward ${stage.name}`,
          SpanKind.PRODUCER,
          { ...this.stageAttributes(stage), "conveyor.peer.address": instance.peerAddress },
          true,
        )
      : undefined;
    try {
      const outcome = await this.deps.pool.peer(instance.peerAddress, this.deps.sidecarId).forward(
        {
          pipeline: stage.pipeline,
          stageIndex: stage.index,
          generation: table.pipeline(stage.pipeline).generation,
          records,
        },
        traced && ((batchId) => traced.setAttributes({ "conveyor.batch.id": batchId })),
      );
      traced?.end();
      return outcome;
    } catch (err) {
      if (traced) {
        const e = asConveyorError(err);
        traced.end({ code: e.code, message: e.message, retryable: e.retryable });
        traced.restoreHeaders(records);
      }
      throw err;
    } finally {
      timer();
    }
  }
}

/** Observes the end-to-end latency of the records a sink confirmed (event time → now). */
function observeLatency(pipeline: string, records: Record[], errors: Array<RecordError | null>): void {
  const histogram = metrics.pipelineLatency.labels(pipeline);
  const now = Date.now();
  records.forEach((r, i) => {
    if (errors[i]) return;
    const t = eventTimeMsOf(r);
    if (t > 0 && t <= now) histogram.observe((now - t) / 1000);
  });
}

/** Why a dead letter is one, from its `_dlq_*` headers: on its span at the dead-letter sink. */
function deadLetterAttributes(r: Record): Attributes {
  const h = r.headers;
  const error = h._dlq_error === undefined ? undefined : splitDlqError(h._dlq_error);
  return {
    ...(h._dlq_stage !== undefined ? { "conveyor.dead_letter.stage": h._dlq_stage } : {}),
    ...(h._dlq_attempts !== undefined ? { "conveyor.dead_letter.attempts": Number(h._dlq_attempts) } : {}),
    ...(error?.code ? { "conveyor.dead_letter.error.code": error.code } : {}),
    ...(error ? { "conveyor.dead_letter.error": error.message } : {}),
  };
}

/** A failed span for each traced record that is too large for the stage (it never reaches the stage). */
function traceSizeErrors(
  records: Record[],
  errors: Array<RecordError | null>,
  stage: StageRoute,
  attributes: Attributes,
): void {
  const oversize = records.flatMap((r, i) => (errors[i] ? [{ r, error: errors[i] }] : []));
  if (oversize.length === 0) return;
  const traced = startStepSpans(
    oversize.map((o) => o.r),
    `${stage.kind} ${stage.name}`,
    SpanKind.INTERNAL,
    attributes,
  );
  traced?.spans.forEach((s, i) => s && endSpan(s, oversize[i]!.error));
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
