/**
 * The mirror core: copies one Kafka partition to a destination, exactly once.
 *
 *   start: destination.list ─► validateChain ─► next offset ─► source watermarks
 *          (high < next: SOURCE_BACKWARDS; low > next: OFFSET_GONE) ─► source.start(next)
 *   loop:  records ─► offset == next? (below: already copied, skip; above: OFFSET_GONE)
 *          ─► buffer ─► trigger (max-offsets | max-bytes | max-time) ─► flush
 *   flush: destination still ends at `from`? (else DESTINATION_CHANGED) ─► write segment
 *          (never overwrites; retried within the budget, then DESTINATION_UNREACHABLE) ─► log
 *   stop:  source.stop ─► flush what is buffered ("shutdown") ─► done
 *
 * The destination is the only checkpoint: nothing is committed to Kafka, a
 * restart lists the destination and continues at the last `to` + 1.
 */
import type { Logger } from "../../telemetry/log";
import { segmentName, validateChain, type Segment } from "./chain";
import type { FlushPolicy } from "./config";
import type { PartitionDestination } from "./destination";
import { mirrorMetrics } from "./metrics";
import { MirrorError } from "./mirror-error";
import { encodeRecordLine, type MirrorRecord } from "./record-line";
import type { PartitionSource } from "./source-kafka";

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
  /** Heartbeat log line + source/destination checks (default 30 s). */
  heartbeatMs?: number;
  /** How long writes to an unreachable destination are retried before the mirror fails (default 30 s). */
  retryBudgetMs?: number;
}

export type MirrorState = "starting" | "running" | "stopping" | "stopped" | "failed";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class PartitionMirror {
  state: MirrorState = "starting";
  /** Next offset expected from the source (everything below is buffered or durable). */
  private next = 0;
  /** Next offset the destination does not hold yet. */
  private durableNext = 0;
  private lines: string[] = [];
  private bufferFrom = 0;
  private bufferBytes = 0;
  private bufferSince = 0;
  private flushChain: Promise<void> = Promise.resolve();
  private failure: MirrorError | undefined;
  private timers: NodeJS.Timeout[] = [];
  private recordsSinceHeartbeat = 0;
  private resolveFinished!: (err: MirrorError | undefined) => void;
  /** Resolves when the mirror stopped: with undefined after stop(), with the error when it failed. */
  readonly finished: Promise<MirrorError | undefined>;
  private readonly labels: { topic: string; partition: string };

  constructor(private readonly o: PartitionMirrorOptions) {
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    this.labels = { topic: o.topic, partition: String(o.partition) };
  }

  get nextOffset(): number {
    return this.durableNext;
  }

  get error(): MirrorError | undefined {
    return this.failure;
  }

  async start(): Promise<void> {
    const { destination, source, log } = this.o;
    mirrorMetrics.restarts.inc(this.labels);
    await destination.cleanup();
    const { segments, next } = validateChain(
      await destination.list(),
      this.o.startOffset,
      destination.location,
    );
    this.next = this.durableNext = next;
    mirrorMetrics.destinationOffset.set(this.labels, next);
    const wm = await this.sourceWatermarks();
    this.checkWatermarks(wm, next);
    mirrorMetrics.lag.set(this.labels, wm.high - next);
    log.info(
      { destination: destination.location, segments: segments.length, next, low: wm.low, high: wm.high },
      "mirror starting: destination chain valid",
    );
    this.timers.push(
      setInterval(() => this.onTick(), Math.max(10, Math.min(250, this.o.flush.maxTimeMs / 4))),
    );
    this.timers.push(setInterval(() => void this.heartbeat(), this.o.heartbeatMs ?? 30_000));
    this.state = "running";
    try {
      await source.start(
        next,
        (records) => this.onRecords(records),
        (err) =>
          this.fail(
            new MirrorError(
              "MIRROR_SOURCE_UNREACHABLE",
              `source consumer crashed: ${err.message}`,
              {},
              { cause: err },
            ),
          ),
      );
    } catch (err) {
      throw new MirrorError(
        "MIRROR_SOURCE_UNREACHABLE",
        `cannot consume ${this.o.topic}/${this.o.partition}: ${(err as Error).message}`,
        {},
        { cause: err },
      );
    }
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
    if (!this.failure && this.lines.length > 0) this.enqueueFlush("shutdown");
    await this.flushChain;
    if (this.failure) {
      this.state = "failed";
      this.resolveFinished(this.failure);
    } else {
      this.state = "stopped";
      this.o.log.info({ next: this.durableNext }, "mirror stopped");
      this.resolveFinished(undefined);
    }
  }

  private async onRecords(records: MirrorRecord[]): Promise<void> {
    for (const r of records) {
      if (this.failure || this.state !== "running") return;
      if (r.offset < this.next) continue; // before the seek took effect: already copied
      if (r.offset > this.next) {
        const wm = await this.sourceWatermarks().catch(() => undefined);
        this.fail(
          new MirrorError(
            "MIRROR_OFFSET_GONE",
            `offset ${this.next} of ${this.o.topic}/${this.o.partition} is not in the source: the next record is at ` +
              `${r.offset}${wm ? ` (low watermark ${wm.low})` : ""}; the partition was compacted, truncated by ` +
              "retention, or holds transaction markers",
            { expected: this.next, actual: r.offset, low: wm?.low },
          ),
        );
        return;
      }
      if (this.lines.length === 0) {
        this.bufferFrom = r.offset;
        this.bufferSince = Date.now();
      }
      const line = encodeRecordLine(r);
      this.lines.push(line);
      this.bufferBytes += Buffer.byteLength(line);
      this.next = r.offset + 1;
      this.recordsSinceHeartbeat++;
      if (this.lines.length >= this.o.flush.maxOffsets) await this.enqueueFlush("max-offsets");
      else if (this.bufferBytes >= this.o.flush.maxBytes) await this.enqueueFlush("max-bytes");
    }
    this.o.log.debug({ next: this.next, buffered: this.lines.length }, "records received");
  }

  private onTick(): void {
    if (this.state !== "running" || this.failure || this.lines.length === 0) return;
    if (Date.now() - this.bufferSince >= this.o.flush.maxTimeMs) void this.enqueueFlush("max-time");
  }

  /** Takes the buffer (synchronously) and queues its segment behind earlier flushes. */
  private enqueueFlush(trigger: FlushTrigger): Promise<void> {
    const lines = this.lines;
    const from = this.bufferFrom;
    const to = this.next - 1;
    const bytes = this.bufferBytes;
    this.lines = [];
    this.bufferBytes = 0;
    this.flushChain = this.flushChain.then(async () => {
      if (this.failure) return;
      try {
        await this.writeSegment({ from, to, name: segmentName(from, to) }, lines, bytes, trigger);
      } catch (err) {
        this.fail(
          err instanceof MirrorError
            ? err
            : new MirrorError("MIRROR_DESTINATION_UNREACHABLE", String(err), {}, { cause: err }),
        );
      }
    });
    return this.flushChain;
  }

  private async writeSegment(
    segment: Segment,
    lines: string[],
    bytes: number,
    trigger: FlushTrigger,
  ): Promise<void> {
    const started = Date.now();
    const body = Buffer.from(lines.join(""));
    const budget = this.o.retryBudgetMs ?? 30_000;
    let attempt = 0;
    let path: string;
    for (;;) {
      attempt++;
      try {
        await this.verifyDestination(segment.from);
        path = await this.o.destination.write(segment, body);
        break;
      } catch (err) {
        if (err instanceof MirrorError) throw err;
        if ((err as NodeJS.ErrnoException).code === "EEXIST") {
          throw new MirrorError(
            "MIRROR_DESTINATION_CHANGED",
            `${this.o.destination.location}/${segment.name} appeared while this mirror was writing it: ` +
              "another writer is mirroring to the same destination",
            { file: `${this.o.destination.location}/${segment.name}` },
          );
        }
        const elapsed = Date.now() - started;
        if (elapsed >= budget) {
          throw new MirrorError(
            "MIRROR_DESTINATION_UNREACHABLE",
            `cannot write ${this.o.destination.location}/${segment.name} after ${attempt} attempts in ${elapsed} ms: ` +
              (err as Error).message,
            { attempts: attempt, elapsed_ms: elapsed },
            { cause: err },
          );
        }
        const delay = Math.min(5000, 100 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2);
        this.o.log.warn({ err, attempt, delay_ms: Math.round(delay) }, "destination write failed; retrying");
        await sleep(delay);
      }
    }
    this.durableNext = segment.to + 1;
    const count = segment.to - segment.from + 1;
    mirrorMetrics.records.inc(this.labels, count);
    mirrorMetrics.bytes.inc(this.labels, bytes);
    mirrorMetrics.flushes.inc(this.labels);
    mirrorMetrics.lastFlush.set(this.labels, Date.now() / 1000);
    mirrorMetrics.destinationOffset.set(this.labels, this.durableNext);
    this.o.log.info(
      { path, from: segment.from, to: segment.to, count, bytes, elapsed_ms: Date.now() - started, trigger },
      "flush",
    );
  }

  /** The destination must still end exactly where this mirror left it. */
  private async verifyDestination(expectedNext: number): Promise<void> {
    let next: number;
    try {
      next = validateChain(
        await this.o.destination.list(),
        this.o.startOffset,
        this.o.destination.location,
      ).next;
    } catch (err) {
      if (!(err instanceof MirrorError)) throw err;
      throw new MirrorError(
        "MIRROR_DESTINATION_CHANGED",
        `destination changed underneath the mirror: ${err.message}`,
        {
          ...err.details,
        },
      );
    }
    if (next !== expectedNext) {
      throw new MirrorError(
        "MIRROR_DESTINATION_CHANGED",
        `destination ${this.o.destination.location} changed underneath the mirror: it ends before offset ${next}, ` +
          `this mirror wrote up to ${expectedNext - 1} (another writer, or segments removed)`,
        { expected: expectedNext, actual: next },
      );
    }
  }

  private async heartbeat(): Promise<void> {
    if (this.state !== "running" || this.failure) return;
    const records = this.recordsSinceHeartbeat;
    this.recordsSinceHeartbeat = 0;
    this.o.log.info({ expected: this.next, next_durable: this.durableNext, records }, "heartbeat");
    try {
      const wm = await this.sourceWatermarks();
      mirrorMetrics.lag.set(this.labels, Math.max(0, wm.high - this.durableNext));
      if (wm.high < this.durableNext) this.checkWatermarks(wm, this.durableNext);
      // Behind earlier flushes, so a write in progress is not mistaken for a change.
      this.flushChain = this.flushChain.then(async () => {
        if (!this.failure) await this.verifyDestination(this.durableNext).catch((err) => this.fail(err));
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
      return await this.o.source.watermarks();
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
