/**
 * The mirror core: copies one Kafka partition to a destination, exactly once.
 *
 *   start: source.start ─► (this process holds the partition: the source calls
 *          takeOver) destination.open (list + validate the chain / read the last
 *          committed record) ─► next offset ─► source watermarks (high < next:
 *          SOURCE_BACKWARDS; low > next: OFFSET_GONE) ─► the source reads from next
 *   loop:  records ─► offset < next? (already copied: skip) ─► batch ─► next = offset + 1,
 *          then next = what the source's answer covered (offsets it proved to hold no
 *          record: compaction, transaction markers, aborted records) ─► trigger
 *          (max-offsets | max-bytes | max-time) ─► flush
 *   batch: segment stores cover [from, to] = [previous to + 1, next - 1], records or
 *          not; Kafka ends a batch at its last record (the target knows records only)
 *   flush: destination.check: still ends at `from`? (else DESTINATION_CHANGED; ends at
 *          `to` + 1 after a failed attempt: that attempt had succeeded) ─► destination.write
 *          (never overwrites; transient errors retried within the budget, then
 *          DESTINATION_UNREACHABLE) ─► log.  One flush writes while the next batch fills.
 *   stop:  source.stop ─► flush what is buffered ("shutdown") ─► destination.close
 *
 * The destination is the only checkpoint: nothing is committed to Kafka, a
 * restart reads the destination and continues after what it holds.
 */
import type { MirrorProgress } from "../../stages/contract";
import type { Logger } from "../../telemetry/log";
import type { FlushPolicy } from "./config";
import type { DestinationBatch, PartitionDestination } from "./destination";
import { mirrorMetrics, mirrorV3Metrics } from "./metrics";
import { MirrorError } from "./mirror-error";
import type { MirrorRecord } from "./record-line";
import { SourceOffsetOutOfRange, type PartitionSource } from "./source-kafka";

export type FlushTrigger = "max-offsets" | "max-bytes" | "max-time" | "shutdown";

export interface PartitionMirrorOptions {
  name: string;
  topic: string;
  partition: number;
  startOffset: number;
  flush: FlushPolicy;
  source: PartitionSource;
  destination: PartitionDestination;
  log: Logger;
  /** Heartbeat log line + source/destination checks (default 30 s; 0 disables them). */
  heartbeatMs?: number;
  /** How long an unreachable destination is retried (open, each flush) before the mirror fails (default 30 s). */
  retryBudgetMs?: number;
  /** Told after every durable flush (the `builtin: mirror` pipeline source turns these into records). */
  onFlush?(flush: FlushInfo): void;
}

/** One durable flush, as logged. */
export interface FlushInfo {
  mirror: string;
  topic: string;
  partition: number;
  path: string;
  from: number;
  to: number;
  count: number;
  bytes: number;
  trigger: FlushTrigger;
}

export type MirrorState = "starting" | "running" | "stopping" | "stopped" | "failed";

/** Records encoded between two turns of the event loop. */
const YIELD_EVERY = 256;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class PartitionMirror {
  state: MirrorState = "starting";
  /** Next offset expected from the source (everything below is buffered or durable). */
  private next = 0;
  /** Next offset the destination does not hold yet. */
  private durableNext = 0;
  private batch: DestinationBatch;
  /** The first offset the current batch covers (the previous flush's `to` + 1). */
  private bufferFrom = 0;
  /** When the current batch got its first record or covered offset (0: nothing yet). */
  private bufferSince = 0;
  /** The offset of the current batch's last record. */
  private lastRecord = -1;
  private lastFlushAt: number | undefined;
  /** The high watermark of the last watermarks() answer (at takeover, at each heartbeat). */
  private checkedHigh: number | undefined;
  private opened = false;
  private flushChain: Promise<void> = Promise.resolve();
  private failure: MirrorError | undefined;
  private timers: NodeJS.Timeout[] = [];
  private recordsSinceHeartbeat = 0;
  private sinceYield = 0;
  private resolveFinished!: (err: MirrorError | undefined) => void;
  /** Resolves when the mirror stopped: with undefined after stop(), with the error when it failed. */
  readonly finished: Promise<MirrorError | undefined>;
  private readonly labels: { topic: string; partition: string };

  constructor(private readonly o: PartitionMirrorOptions) {
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    this.labels = { topic: o.topic, partition: String(o.partition) };
    this.batch = o.destination.newBatch();
  }

  get nextOffset(): number {
    return this.durableNext;
  }

  get error(): MirrorError | undefined {
    return this.failure;
  }

  /** Where it stands now, for the console (SidecarStatus.stages[].mirrors). */
  progress(): MirrorProgress {
    const fetched = this.o.source.lastHighWatermark?.();
    const highs = [fetched, this.checkedHigh].filter((h): h is number => h !== undefined);
    return {
      name: this.o.name,
      topic: this.o.topic,
      partition: this.o.partition,
      sourceHigh: highs.length > 0 ? Math.max(...highs) : null,
      destNext: this.opened ? this.durableNext : null,
      lastFlushMs: this.lastFlushAt ?? null,
      state: this.state,
      error: this.failure?.message ?? "",
    };
  }

  /**
   * Starts the source, which calls takeOver once this process holds the
   * partition: at once normally (errors then reject start), later for a
   * standby whose lease another process holds.
   */
  async start(): Promise<void> {
    mirrorMetrics.restarts.inc(this.labels);
    this.timers.push(
      setInterval(() => this.onTick(), Math.max(10, Math.min(250, this.o.flush.maxTimeMs / 4))),
    );
    const heartbeatMs = this.o.heartbeatMs ?? 30_000;
    if (heartbeatMs > 0) this.timers.push(setInterval(() => void this.heartbeat(), heartbeatMs));
    try {
      await this.o.source.start(
        () => this.takeOver(),
        (records, through) => this.onRecords(records, through),
        (err) => void this.onSourceCrash(err),
      );
    } catch (err) {
      for (const t of this.timers) clearInterval(t);
      this.timers = [];
      if (err instanceof MirrorError) throw err;
      throw new MirrorError(
        "MIRROR_SOURCE_UNREACHABLE",
        `cannot consume ${this.o.topic}/${this.o.partition}: ${(err as Error).message}`,
        {},
        { cause: err },
      );
    }
  }

  /** Opens the destination, checks the source against it, and says where to read from. */
  private async takeOver(): Promise<number> {
    const { destination, log } = this.o;
    const { next, last, facts } = await this.retrying("open", this.o.startOffset, () =>
      destination.open(this.o.startOffset),
    );
    this.next = this.durableNext = this.bufferFrom = next;
    this.opened = true;
    this.batch = destination.newBatch(); // the destination knows its format only now
    mirrorMetrics.destinationOffset.set(this.labels, next);
    mirrorV3Metrics.offsetVerified.set(this.labels, next);
    mirrorV3Metrics.inflightRetry.set(this.labels, 0);
    const wm = await this.sourceWatermarks();
    this.checkWatermarks(wm, next);
    mirrorMetrics.lag.set(this.labels, wm.high - next);
    log.info(
      { destination: destination.location, ...facts, last, next, low: wm.low, high: wm.high },
      "mirror starting: destination chain valid",
    );
    this.state = "running";
    return next;
  }

  /** Stops reading, flushes what is buffered (unless the mirror failed), waits for every write. */
  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    const failed = this.failure !== undefined;
    if (!failed) this.state = "stopping";
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    try {
      await this.o.source.stop();
    } catch (err) {
      this.o.log.warn({ err }, "source did not stop cleanly");
    }
    if (!this.failure && this.hasBuffered()) void this.enqueueFlush("shutdown");
    await this.flushChain;
    try {
      await this.o.destination.close();
    } catch (err) {
      this.o.log.warn({ err }, "destination did not close cleanly");
    }
    if (this.failure) {
      this.state = "failed";
      this.resolveFinished(this.failure);
    } else {
      this.state = "stopped";
      this.o.log.info({ next: this.durableNext }, "mirror stopped");
      this.resolveFinished(undefined);
    }
  }

  /**
   * The source gave up (or a standby's takeOver failed): an offset it cannot
   * serve is named by the watermarks, anything else is unreachable.
   */
  private async onSourceCrash(err: Error): Promise<void> {
    if (err instanceof MirrorError) return this.fail(err);
    // Whatever the source's failure, a source that went backwards or lost the offset says more (a re-created
    // topic shows up as an offset out of range, a lost partition, or fetch errors).
    try {
      this.checkWatermarks(
        await this.sourceWatermarks(),
        err instanceof SourceOffsetOutOfRange ? err.offset : this.next,
      );
    } catch (named) {
      if (named instanceof MirrorError && named.code !== "MIRROR_SOURCE_UNREACHABLE") return this.fail(named);
    }
    this.fail(
      new MirrorError("MIRROR_SOURCE_UNREACHABLE", `source failed: ${err.message}`, {}, { cause: err }),
    );
  }

  /**
   * Records from the source, and `through`: the source's answer covers every
   * offset below it (the offsets in between hold no record, as the broker's
   * batches show). Offsets are never assumed: a record past `next` is only
   * taken because the source read every batch between them.
   */
  private async onRecords(records: MirrorRecord[], through: number): Promise<void> {
    for (const r of records) {
      // A fetch holds thousands of records: let a flush's I/O steps run between slices of them.
      if (++this.sinceYield === YIELD_EVERY) {
        this.sinceYield = 0;
        await new Promise(setImmediate);
      }
      if (this.failure || this.state !== "running") return;
      if (r.offset < this.next) continue; // before the seek took effect: already copied
      if (this.bufferSince === 0) this.bufferSince = Date.now();
      this.batch.add(r);
      this.next = r.offset + 1;
      this.lastRecord = r.offset;
      this.recordsSinceHeartbeat++;
      if (this.batch.count >= this.o.flush.maxOffsets) await this.enqueueFlush("max-offsets");
      else if (this.batch.bytes >= this.o.flush.maxBytes) await this.enqueueFlush("max-bytes");
    }
    if (this.failure || this.state !== "running") return;
    if (through > this.next) {
      this.next = through;
      if (this.bufferSince === 0 && this.o.destination.coversOffsets) this.bufferSince = Date.now();
    }
    this.o.log.debug({ next: this.next, buffered: this.batch.count }, "records received");
  }

  /** Something to flush: records, or (segment stores) offsets the source proved empty. */
  private hasBuffered(): boolean {
    return this.batch.count > 0 || (this.o.destination.coversOffsets && this.next > this.bufferFrom);
  }

  private onTick(): void {
    if (this.state !== "running" || this.failure || !this.hasBuffered()) return;
    if (Date.now() - this.bufferSince >= this.o.flush.maxTimeMs) void this.enqueueFlush("max-time");
  }

  /**
   * Takes the batch (synchronously) and queues its write behind earlier
   * flushes. Resolves when the flush before it is done, so one flush writes
   * while the next batch fills, and no more than that is buffered.
   */
  private enqueueFlush(trigger: FlushTrigger): Promise<void> {
    const batch = this.batch;
    const from = this.bufferFrom;
    const to = this.o.destination.coversOffsets ? this.next - 1 : this.lastRecord;
    this.batch = this.o.destination.newBatch();
    this.bufferFrom = to + 1;
    this.bufferSince = 0;
    const previous = this.flushChain;
    this.flushChain = previous.then(async () => {
      if (this.failure) return;
      try {
        await this.writeBatch(from, to, batch, trigger);
      } catch (err) {
        this.fail(
          err instanceof MirrorError
            ? err
            : new MirrorError("MIRROR_DESTINATION_UNREACHABLE", String(err), {}, { cause: err }),
        );
      }
    });
    return previous;
  }

  private async writeBatch(
    from: number,
    to: number,
    batch: DestinationBatch,
    trigger: FlushTrigger,
  ): Promise<void> {
    const started = Date.now();
    const { destination } = this.o;
    let failedBefore = false;
    const where = await this.retrying(`write offsets ${from}-${to}`, from, async () => {
      const head = await this.checkDestination(from, failedBefore ? to + 1 : undefined);
      if (head.next === to + 1) {
        this.o.log.warn(
          { from, to, last: head.last },
          "the destination holds this batch: the previous attempt had succeeded",
        );
        return head.last ?? destination.location;
      }
      try {
        return await destination.write(from, to, batch);
      } catch (err) {
        failedBefore = true;
        throw err;
      }
    });
    this.durableNext = to + 1;
    const count = batch.count;
    const now = Date.now();
    const interval = this.lastFlushAt === undefined ? 0 : now - this.lastFlushAt;
    this.lastFlushAt = now;
    mirrorMetrics.records.inc(this.labels, count);
    mirrorMetrics.bytes.inc(this.labels, batch.bytes);
    mirrorMetrics.flushes.inc(this.labels);
    mirrorMetrics.lastFlush.set(this.labels, Date.now() / 1000);
    mirrorMetrics.destinationOffset.set(this.labels, this.durableNext);
    mirrorV3Metrics.records.inc(this.labels, count);
    mirrorV3Metrics.bytes.inc(this.labels, batch.bytes);
    mirrorV3Metrics.flushes.inc(this.labels);
    mirrorV3Metrics.lastFlush.set(this.labels, now / 1000);
    mirrorV3Metrics.offsetVerified.set(this.labels, this.durableNext);
    mirrorV3Metrics.inflightRetry.set(this.labels, 0);
    this.o.log.info(
      {
        path: where,
        from,
        to,
        count,
        bytes: batch.bytes,
        elapsed_ms: now - started,
        interval_ms: interval,
        trigger,
      },
      "flushed batch",
    );
    const { name: mirror, topic, partition } = this.o;
    this.o.onFlush?.({ mirror, topic, partition, path: where, from, to, count, bytes: batch.bytes, trigger });
  }

  /**
   * Runs `fn` until it resolves, retrying what is not a MirrorError (a
   * transient failure of the destination) with exponential backoff and jitter
   * until the retry budget is spent: then MIRROR_DESTINATION_UNREACHABLE.
   */
  private async retrying<T>(what: string, offset: number, fn: () => Promise<T>): Promise<T> {
    const started = Date.now();
    const budget = this.o.retryBudgetMs ?? 30_000;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof MirrorError) throw err;
        const elapsed = Date.now() - started;
        if (elapsed >= budget || this.failure) {
          throw new MirrorError(
            "MIRROR_DESTINATION_UNREACHABLE",
            `destination ${this.o.destination.location} unreachable: cannot ${what} after ${attempt} attempt(s) in ` +
              `${elapsed} ms (retry budget ${budget} ms): ${(err as Error).message}`,
            { destination: this.o.destination.location, attempts: attempt, elapsed_ms: elapsed },
            { cause: err },
          );
        }
        mirrorV3Metrics.inflightRetry.set(this.labels, offset);
        const delay = Math.min(5000, 100 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2);
        this.o.log.warn(
          { err, attempt, delay_ms: Math.round(delay), destination: this.o.destination.location },
          `destination: cannot ${what}; retrying`,
        );
        await sleep(Math.min(delay, Math.max(0, budget - elapsed)));
      }
    }
  }

  /**
   * The destination must still end exactly where this mirror left it
   * (`expected`), or at `orAt` (a previous attempt of this flush succeeded).
   */
  private async checkDestination(
    expected: number,
    orAt: number | undefined,
    full = false,
  ): Promise<{ next: number; last: string | undefined }> {
    const { destination } = this.o;
    let head: { next: number; last: string | undefined };
    try {
      head = await destination.check(expected, full);
    } catch (err) {
      if (!(err instanceof MirrorError) || err.code !== "MIRROR_DESTINATION_INVALID") throw err;
      throw new MirrorError(
        "MIRROR_DESTINATION_CHANGED",
        `destination changed underneath the mirror: ${err.message}`,
        { ...err.details },
        { cause: err },
      );
    }
    if (head.next !== expected && head.next !== orAt) {
      throw new MirrorError(
        "MIRROR_DESTINATION_CHANGED",
        `destination ${destination.location} changed underneath the mirror: it now ends before offset ${head.next}` +
          `${head.last ? ` (last entry ${head.last})` : ""}, but this mirror wrote up to ${expected - 1} ` +
          "(another writer, or entries removed)",
        { expected, actual: head.next, ...(head.last ? { file: head.last } : {}) },
      );
    }
    return head;
  }

  private async heartbeat(): Promise<void> {
    if (this.state !== "running" || this.failure) return;
    const records = this.recordsSinceHeartbeat;
    this.recordsSinceHeartbeat = 0;
    // mirror-v3's fields: expected_offset (the next source offset), progressed (records since the last heartbeat).
    this.o.log.info(
      { expected_offset: this.next, progressed: records, next_durable: this.durableNext },
      "heartbeat",
    );
    try {
      const wm = await this.sourceWatermarks();
      mirrorMetrics.lag.set(this.labels, Math.max(0, wm.high - this.durableNext));
      if (wm.high < this.durableNext) this.checkWatermarks(wm, this.durableNext);
      // Behind earlier flushes, so a write in progress is not mistaken for a change.
      this.flushChain = this.flushChain.then(async () => {
        if (this.failure) return;
        await this.checkDestination(this.durableNext, undefined, true).catch((err: unknown) => {
          if (err instanceof MirrorError) this.fail(err);
          else this.o.log.warn({ err }, "heartbeat: destination unavailable");
        });
      });
    } catch (err) {
      if (err instanceof MirrorError) this.fail(err);
      else this.o.log.warn({ err }, "heartbeat: source watermarks unavailable");
    }
  }

  private checkWatermarks(wm: { low: number; high: number }, next: number): void {
    const where = `${this.o.topic}/${this.o.partition}`;
    if (wm.high < next) {
      throw new MirrorError(
        "MIRROR_SOURCE_BACKWARDS",
        `source ${where} went backwards: its high watermark is ${wm.high} but the destination holds offsets up to ` +
          `${next - 1} (was the topic deleted and re-created?)`,
        { expected: next, high: wm.high },
      );
    }
    if (wm.low > next) {
      throw new MirrorError(
        "MIRROR_OFFSET_GONE",
        `offset ${next} of ${where} is gone from the source: its low watermark is ${wm.low} (retention or ` +
          "deleteRecords removed it before it was mirrored)",
        { expected: next, low: wm.low, high: wm.high },
      );
    }
  }

  private async sourceWatermarks(): Promise<{ low: number; high: number }> {
    try {
      const wm = await this.o.source.watermarks();
      this.checkedHigh = wm.high;
      return wm;
    } catch (err) {
      throw new MirrorError(
        "MIRROR_SOURCE_UNREACHABLE",
        `cannot read the watermarks of ${this.o.topic}/${this.o.partition}: ${(err as Error).message}`,
        {},
        { cause: err },
      );
    }
  }

  private fail(err: MirrorError): void {
    if (this.failure) return;
    this.failure = err;
    this.state = "failed";
    this.o.log.error({ err, code: err.code, ...err.details }, `mirror failed: ${err.message}`);
    // stop() is left to the owner (it awaits the source, which may be inside onRecords right now).
    this.resolveFinished(err);
  }
}
