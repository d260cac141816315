/**
 * `builtin: mirror` as a pipeline Source: the router assigns it to one sidecar
 * like any source, and that sidecar runs the mirrors of its config in-process
 * (config = a mirror config file's content: destination + mirrors). The
 * mirrored data goes to the destination exactly-once, as with `conveyor
 * mirror run`; what flows down the pipeline is one record per durable flush
 * (segment or transaction written: mirror, topic, partition, path, from, to,
 * count, bytes, trigger), e.g. to notify or index.
 *
 * The destination is the only checkpoint: a new reader (restart, failover to
 * another sidecar) resumes every mirror from what the destination holds, and a
 * stale owner that is still writing is stopped by the destination's own
 * fencing (no-overwrite rename, If-None-Match, transactional ids). Flush
 * records are at-least-once like any pipeline's records. A mirror that fails
 * ends the read with its error; the source runner opens a new one with backoff.
 */
import { ConveyorError } from "../../errors";
import type { MirrorProgress, Record, SourceBatch, SourceReader } from "../../stages/contract";
import type { Logger } from "../../telemetry/log";
import { mirrorPlansFrom, type MirrorFileConfig } from "./config";
import type { FlushInfo, PartitionMirror } from "./partition-mirror";
import { createMirror } from "./runner";

export function flushRecord(f: FlushInfo): Record {
  return {
    id: `${f.mirror}:${f.from}-${f.to}`,
    key: Buffer.from(`${f.topic}/${f.partition}`, "utf8"),
    value: Buffer.from(JSON.stringify(f), "utf8"),
    headers: { mirror: f.mirror, topic: f.topic, partition: String(f.partition) },
    eventTimeMs: Date.now(),
  };
}

export class MirrorSource implements SourceReader {
  private readonly mirrors: PartitionMirror[];
  private readonly queue: Record[] = [];
  private credits = 0;
  private batchHandler: ((b: SourceBatch) => void) | undefined;
  private endHandler: ((err?: Error) => void) | undefined;
  private started = false;
  private ended = false;

  constructor(
    config: MirrorFileConfig,
    private readonly log: Logger,
  ) {
    const plans = mirrorPlansFrom(config, "builtin mirror config");
    this.mirrors = plans.map((plan) => createMirror(plan, log, { onFlush: (f) => this.onFlush(f) }));
  }

  onBatch(handler: (b: SourceBatch) => void): void {
    this.batchHandler = handler;
  }

  onEnd(handler: (err?: Error) => void): void {
    this.endHandler = handler;
  }

  grant(credits: number): void {
    this.credits += credits;
    if (!this.started) {
      this.started = true;
      void this.start();
    }
    this.pump();
  }

  mirrorProgress(): MirrorProgress[] {
    return this.mirrors.map((m) => m.progress());
  }

  /** Each mirror flushes what it holds before it stops; resolves once all have. */
  async close(): Promise<void> {
    this.ended = true;
    await Promise.all(this.mirrors.map((m) => m.stop()));
  }

  private async start(): Promise<void> {
    try {
      await Promise.all(this.mirrors.map((m) => m.start()));
    } catch (err) {
      this.end(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.log.info({ mirrors: this.mirrors.length }, "mirrors running as a pipeline source");
    for (const m of this.mirrors) {
      void m.finished.then((err) => {
        if (err) this.end(err);
      });
    }
  }

  private onFlush(f: FlushInfo): void {
    if (this.ended) return;
    this.queue.push(flushRecord(f));
    this.pump();
  }

  private pump(): void {
    while (this.credits > 0 && this.queue.length > 0 && this.batchHandler && !this.ended) {
      const records = this.queue.splice(0, this.credits);
      this.credits -= records.length;
      this.batchHandler({ records, cursor: records[records.length - 1]!.id });
    }
  }

  private end(err: Error): void {
    if (this.ended) return;
    void this.close().catch(() => undefined); // already ending with err
    const e =
      err instanceof ConveyorError ? err : new ConveyorError("STAGE_FAILED", err.message, {}, { cause: err });
    this.endHandler?.(e);
  }
}

export function openMirrorSource(config: MirrorFileConfig, opts: { log: Logger }): SourceReader {
  return new MirrorSource(config, opts.log);
}
