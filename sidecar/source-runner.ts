/**
 * Runs one Source stage assigned to this sidecar:
 *
 *   Source.Read ──records, cursor──► chunks of batchSize ──► forwarder.deliver(stage 1) ──► sink confirmed
 *        ▲                                                                                      │
 *        └──────────── ReadRequest{credits, ack_cursor} (in cursor order) ◄─────────────────────┘
 *
 * Credits bound what is in flight (records and bytes), so a slow sink stops
 * the reading instead of filling memory. A cursor is acked only when it and
 * every cursor before it are confirmed. If the stream breaks, a new session
 * resumes from the last acked cursor (unacked records come again: at least once).
 *
 * With `ordering: key` the records of a read go through a KeyGate: a record
 * is delivered only once the record of its key before it was confirmed, so
 * each key has at most one record in flight and reaches every stage in order.
 */
import { asConveyorError } from "../src/errors";
import { batchSize } from "../src/records";
import type { PipelineSettings } from "../src/config/pipeline";
import type { Record, SourceBatch, SourceReader } from "../src/stages/contract";
import { metrics } from "../src/telemetry/metrics";
import { endSpan, inTraceOf, startEntrySpans, tracingOn } from "../src/telemetry/tracing";
import type { Span } from "@opentelemetry/api";
import type { Logger } from "../src/telemetry/log";
import type { Forwarder } from "./forwarder";
import { KeyGate } from "./key-gate";
import type { StageStats } from "./stage-stats";
import { Backoff, sleep } from "../src/backoff";

export interface SourceRunnerOptions {
  pipeline: string;
  stage: string;
  /** Where the source is read from, for logs: a service endpoint or "builtin:<name>". */
  endpoint: string;
  partitions: number[];
  /** Opens a read of the source (a user service's Read stream, or a built-in reader). */
  open(partitions: number[]): SourceReader;
  settings: PipelineSettings;
  forwarder: Forwarder;
  stats: StageStats;
  log: Logger;
}

interface Pending {
  cursor: string;
  count: number;
  bytes: number;
  /** Records of this read not yet confirmed (ordering: key). */
  unconfirmed: number;
  done: boolean;
}

/** How long stop() waits for the source to apply its last acks and end the stream. */
export const SOURCE_CLOSE_TIMEOUT_MS = 5000;

/** A record of a read, with the read it belongs to (ordering: key). */
interface Item {
  record: Record;
  entry: Pending;
}

interface Session {
  reader: SourceReader;
  queue: Pending[];
  alive: boolean;
  /** Set with `ordering: key`: one record per key in flight, per session. */
  gate?: KeyGate<Item>;
}

/** The entry span of each sampled record read, until its delivery is confirmed (tracing on only). */
const entrySpans = new WeakMap<Record, Span>();

export class SourceRunner {
  private session: Session | undefined;
  private stopping = false;
  private inFlightRecords = 0;
  private inFlightBytes = 0;
  /** Credits earned by confirmed records but held back while over the byte bound. */
  private heldCredits = 0;
  private readonly reconnect = new Backoff(100, 5000);
  private drained: (() => void) | undefined;
  private readonly gauge;

  constructor(private readonly opts: SourceRunnerOptions) {
    this.gauge = metrics.stageInFlight.labels(opts.pipeline, opts.stage);
  }

  get pipeline(): string {
    return this.opts.pipeline;
  }

  get stage(): string {
    return this.opts.stage;
  }

  start(): void {
    this.opts.stats.setState(this.opts.pipeline, this.opts.stage, "running");
    this.open();
  }

  /** Stops reading; waits (up to graceMs) for in-flight records to be confirmed and acked. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    if (this.inFlightRecords > 0 && graceMs > 0) {
      await Promise.race([new Promise<void>((r) => (this.drained = r)), sleep(graceMs)]);
    }
    if (this.inFlightRecords > 0) {
      this.opts.log.warn(
        { inFlight: this.inFlightRecords },
        "grace period over; unacked records will be read again",
      );
    }
    const closing = this.session?.reader.close();
    this.endSession();
    // Never two readers: the claim is dropped (and the next reader starts) only once the source has
    // applied the last ack sent, or it failed to within a bound.
    if (closing !== undefined) {
      const closed = await Promise.race([
        closing.then(
          () => true,
          (err: unknown) => {
            this.opts.log.warn({ err }, "source did not close cleanly");
            return true;
          },
        ),
        sleep(SOURCE_CLOSE_TIMEOUT_MS).then(() => false),
      ]);
      if (!closed) {
        this.opts.log.warn(
          { timeoutMs: SOURCE_CLOSE_TIMEOUT_MS },
          "source did not confirm its last acks in time; letting go of it anyway",
        );
      }
    }
    this.opts.stats.setState(this.opts.pipeline, this.opts.stage, "stopped");
  }

  private open(): void {
    const { endpoint, partitions, settings, log } = this.opts;
    const reader = this.opts.open(partitions);
    const session: Session = {
      reader,
      queue: [],
      alive: true,
      ...(settings.ordering === "key"
        ? { gate: new KeyGate<Item>((i) => i.record.key.toString("latin1")) }
        : {}),
    };
    this.session = session;
    if (reader.mirrorProgress)
      this.opts.stats.setMirrors(this.opts.pipeline, this.opts.stage, () => reader.mirrorProgress?.() ?? []);
    this.inFlightRecords = 0;
    this.inFlightBytes = 0;
    this.heldCredits = 0;
    this.gauge.set(0);
    log.info({ endpoint, partitions }, "reading source");

    reader.onBatch((batch) => this.onBatch(session, batch));
    reader.onEnd((err) => {
      if (!session.alive) return;
      this.endSession();
      if (this.stopping) return;
      const delay = this.reconnect.next();
      log.warn(
        { endpoint, err: err?.message ?? "stream ended", retryInMs: delay },
        "source stream lost; resuming from the last acked cursor",
      );
      setTimeout(() => !this.stopping && this.open(), delay).unref();
    });
    reader.grant(settings.maxInFlightRecords);
  }

  private endSession(): void {
    if (this.session) this.session.alive = false;
    this.opts.stats.setMirrors(this.opts.pipeline, this.opts.stage, undefined);
    this.session = undefined;
  }

  private onBatch(session: Session, res: SourceBatch): void {
    const { pipeline, stage, settings, stats } = this.opts;
    // A stopped or replaced session may still receive what was buffered on its stream:
    // those records are not ours to deliver any more (they will be read again).
    if (res.records.length === 0 || !session.alive) return;
    this.reconnect.reset();
    const entry: Pending = {
      cursor: res.cursor,
      count: res.records.length,
      bytes: batchSize(res.records),
      unconfirmed: res.records.length,
      done: false,
    };
    session.queue.push(entry);
    this.inFlightRecords += entry.count;
    this.inFlightBytes += entry.bytes;
    this.gauge.set(this.inFlightRecords);
    stats.setInFlight(pipeline, stage, this.inFlightRecords);
    stats.in(pipeline, stage, entry.count, entry.bytes);
    stats.out(pipeline, stage, entry.count);
    if (res.lag !== undefined) metrics.sourceLag.labels(pipeline, stage).set(res.lag);
    if (tracingOn()) this.startTraces(res);

    if (session.gate) {
      this.deliverInKeyOrder(session, session.gate.admit(res.records.map((record) => ({ record, entry }))));
      return;
    }
    void Promise.all(
      chunksOf(res.records, settings.batchSize).map((c) => this.deliverWithRetry(session, c)),
    ).then((ok) => {
      if (ok.every(Boolean)) {
        entry.done = true;
        this.ackConfirmed(session);
      }
    });
  }

  /** Samples the records of a read: each sampled one gets an entry span and carries it as its traceparent. */
  private startTraces(res: SourceBatch): void {
    const { pipeline, stage, partitions, forwarder } = this.opts;
    const traced = startEntrySpans(res.records, `source ${stage}`, {
      ...forwarder.spanAttributes,
      "conveyor.pipeline": pipeline,
      "conveyor.stage": stage,
      "conveyor.stage.kind": "source",
      "conveyor.stage.index": 0,
      "conveyor.cursor": res.cursor,
      ...(partitions.length > 0 ? { "conveyor.partitions": partitions } : {}),
      ...(res.lag === undefined ? {} : { "conveyor.source.lag": res.lag }),
    });
    traced?.spans.forEach((s, i) => s && entrySpans.set(res.records[i]!, s));
  }

  /** Ends the entry spans of records whose delivery finished (confirmed, or given up with `error`). */
  private endTraces(records: Record[], error?: { code: string; message: string }): void {
    for (const r of records) {
      const span = entrySpans.get(r);
      if (!span) continue;
      entrySpans.delete(r);
      endSpan(span, error);
    }
  }

  /** ordering: key — delivers admitted items; each confirmed item lets the next of its key go. */
  private deliverInKeyOrder(session: Session, ready: Item[]): void {
    for (const chunk of chunksOf(ready, this.opts.settings.batchSize)) {
      void this.deliverWithRetry(
        session,
        chunk.map((i) => i.record),
      ).then((ok) => {
        if (!ok) return;
        const next: Item[] = [];
        for (const item of chunk) {
          const following = session.gate!.release(item);
          if (following) next.push(following);
          if (--item.entry.unconfirmed === 0) item.entry.done = true;
        }
        this.ackConfirmed(session);
        if (next.length > 0) this.deliverInKeyOrder(session, next);
      });
    }
  }

  /**
   * Retries until confirmed; gives up (false) only when the session ended, since a new one re-reads.
   * A retry sends only the records still unconfirmed: of a batch split among a stage's instances,
   * the groups that were confirmed are done (forwarder.deliverSettled), so they are not sent twice.
   */
  private async deliverWithRetry(session: Session, batch: Record[]): Promise<boolean> {
    const { forwarder, pipeline, log } = this.opts;
    const backoff = new Backoff(50, 10_000);
    const traced = tracingOn();
    let records = batch;
    for (let attempt = 1; ; attempt++) {
      const { undelivered } = await forwarder.deliverSettled(pipeline, 1, records);
      if (!undelivered) {
        if (traced) this.endTraces(records);
        return true;
      }
      if (traced) {
        const failed = new Set(undelivered.records);
        this.endTraces(records.filter((r) => !failed.has(r)));
      }
      records = undelivered.records;
      const e = asConveyorError(undelivered.error);
      const gone = { code: "SESSION_ENDED", message: "the read ended; these records will be read again" };
      if (!session.alive) {
        if (traced) this.endTraces(records, gone);
        return false;
      }
      const delay = backoff.next();
      if (traced) {
        for (const r of records)
          entrySpans.get(r)?.addEvent("batch not confirmed; retrying", {
            "conveyor.error.code": e.code,
            "conveyor.attempt": attempt,
            "conveyor.retry_in_ms": delay,
          });
      }
      inTraceOf(records, () =>
        log.warn(
          { code: e.code, err: e.message, records: records.length, attempt, retryInMs: delay },
          "batch not confirmed; retrying",
        ),
      );
      await sleep(delay);
      if (!session.alive) {
        if (traced) this.endTraces(records, gone);
        return false;
      }
    }
  }

  private ackConfirmed(session: Session): void {
    if (!session.alive) return;
    let ackCursor: string | undefined;
    let freedRecords = 0;
    while (session.queue.length > 0 && session.queue[0]!.done) {
      const e = session.queue.shift()!;
      ackCursor = e.cursor;
      freedRecords += e.count;
      this.inFlightRecords -= e.count;
      this.inFlightBytes -= e.bytes;
    }
    if (ackCursor === undefined) return;
    this.gauge.set(this.inFlightRecords);
    this.opts.stats.setInFlight(this.opts.pipeline, this.opts.stage, this.inFlightRecords);
    let credits = 0;
    if (!this.stopping) {
      this.heldCredits += freedRecords;
      if (this.inFlightBytes < this.opts.settings.maxInFlightBytes) {
        credits = this.heldCredits;
        this.heldCredits = 0;
      }
    }
    session.reader.grant(credits, ackCursor);
    if (this.inFlightRecords === 0) this.drained?.();
  }
}

function chunksOf<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
