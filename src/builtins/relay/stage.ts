/**
 * `builtin: sse`: a Server-Sent-Events stream as a pipeline Source
 * (SourceReader, src/stages/contract.ts). Pull with credits, cursor = SSE id:
 *
 *   load acked cursor ─▶ connectSse(Last-Event-ID = last received id)
 *                           │ event ─▶ Record ─▶ buffer (≤ batchSize; full → stop reading: the
 *                           │                     socket pauses, TCP pushes back on the server)
 *                           ▼
 *   onBatch({records, cursor = last event id of the batch})  only within granted credits,
 *                           when min(batchSize, credits) records are buffered or maxBatchWaitMs passed
 *   grant(credits, ackCursor) ─▶ more credit; the acked cursor is saved durably (state-store.ts)
 *
 * A dropped connection is reopened with backoff (the server's retry: as base)
 * after the last *received* event: within one reader nothing is sent twice. A
 * new reader (after close(), a crash, a reassignment) starts after the last
 * *acked* cursor, so what was sent but not acked comes again: at-least-once,
 * no gaps. Record: id = the event identity (SSE id, else meta.id, else a data
 * hash), key = its wiki (else meta.domain, else the identity), value = the
 * data bytes, headers sse-event-type / sse-event-id, eventTimeMs = meta.dt.
 */
import { CreditedSourceReader } from "../../stages/credited-reader";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { ConveyorError } from "../../errors";
import type { Record } from "../../stages/contract";
import type { Logger } from "../../telemetry/log";
import { relayMetrics } from "./metrics";
import { eventIdentity, eventKey, eventTimeMs, sha256, type RelayEvent } from "./publisher";
import { backoffMs } from "./relay";
import { connectSse } from "./sse-client";
import { SSE_SOURCE_DEFAULTS, type SseSourceConfig } from "./config";
import { StateStore } from "./state-store";

export const SSE_EVENT_TYPE_HEADER = "sse-event-type";
export const SSE_EVENT_ID_HEADER = "sse-event-id";

export interface SseSourceOptions {
  /** Directory for the acked cursor (config.stateDir wins). */
  stateDir: string;
  log: Logger;
  /** Reconnect delay before the server sent a retry: field (default 1000 ms). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/** The record for an SSE event (pure). */
export function sseRecord(event: RelayEvent): Record {
  const identity = eventIdentity(event).value;
  const headers: { [key: string]: string } = { [SSE_EVENT_TYPE_HEADER]: event.type };
  if (event.id !== undefined && event.id !== "") headers[SSE_EVENT_ID_HEADER] = event.id;
  return {
    id: identity,
    key: Buffer.from(eventKey(event), "utf8"),
    value: Buffer.from(event.data, "utf8"),
    headers,
    eventTimeMs: eventTimeMs(event) ?? event.receivedAtMs,
  };
}

/** The state file of a stream: one per URL in the state directory. */
export function sseStateFile(stateDir: string, url: string): string {
  return path.join(stateDir, `sse-${sha256(url).slice(0, 16)}.state.json`);
}

export function openSseSource(config: SseSourceConfig, opts: SseSourceOptions): SseSource {
  return new SseSource(config, opts);
}

export class SseSource extends CreditedSourceReader {
  readonly stateFile: string;
  private readonly store: StateStore;
  private readonly batchSize: number;
  private readonly maxBatchWaitMs: number;
  protected readonly log: Logger;
  protected readonly label = "sse source";
  private buffer: Array<{ record: Record; cursor: string }> = [];
  private timer: NodeJS.Timeout | undefined;
  private timerExpired = false;
  private connection: AbortController | undefined;
  /** The id a reconnect asks to follow (the last event received, buffered or sent). */
  private lastReceivedId: string | undefined;

  constructor(
    private readonly config: SseSourceConfig,
    private readonly opts: SseSourceOptions,
  ) {
    super();
    this.batchSize = config.batchSize ?? SSE_SOURCE_DEFAULTS.batchSize;
    this.maxBatchWaitMs = config.maxBatchWaitMs ?? SSE_SOURCE_DEFAULTS.maxBatchWaitMs;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new ConveyorError("CONFIG_INVALID", `sse source: batchSize must be a positive integer`, {
        field: "batchSize",
        actual: this.batchSize,
      });
    }
    this.stateFile = sseStateFile(config.stateDir ?? opts.stateDir, config.url);
    this.store = new StateStore(this.stateFile);
    this.log = opts.log.child({ source: "sse", url: config.url });
    this.running = this.run();
  }

  protected stopReading(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.connection?.abort();
  }

  protected saveCursor(cursor: string): Promise<void> {
    return this.store.save({ lastEventId: cursor });
  }

  private async run(): Promise<void> {
    const initialBackoffMs = this.opts.initialBackoffMs ?? 1000;
    const maxBackoffMs = this.opts.maxBackoffMs ?? 30_000;
    try {
      await fs.mkdir(path.dirname(this.stateFile), { recursive: true });
      this.savedCursor = (await this.store.load())?.lastEventId;
    } catch (err) {
      this.end(err);
      return;
    }
    this.lastReceivedId = this.savedCursor;
    this.log.info(
      { stateFile: this.stateFile, cursor: this.savedCursor ?? null },
      this.savedCursor ? "sse source: resuming after the acked cursor" : "sse source: starting",
    );
    let baseMs = initialBackoffMs;
    let failures = 0;
    for (let attempt = 0; !this.closed; attempt++) {
      if (attempt > 0) relayMetrics.restarts.inc();
      const connection = new AbortController();
      this.connection = connection;
      let progressed = false;
      try {
        const stream = await connectSse({
          url: this.config.url,
          lastEventId: this.lastReceivedId,
          signal: connection.signal,
          idleTimeoutMs: this.config.idleTimeoutMs ?? SSE_SOURCE_DEFAULTS.idleTimeoutMs,
          headers: this.config.headers,
          onLines: (n) => relayMetrics.receivedLines.inc(n),
        });
        this.log.info({ lastEventId: this.lastReceivedId ?? null }, "sse source: connected");
        for await (const item of stream) {
          if (item.kind === "retry") {
            baseMs = item.ms;
            continue;
          }
          relayMetrics.receivedEvents.inc();
          const event: RelayEvent = { ...item.event, receivedAtMs: Date.now() };
          this.buffer.push({ record: sseRecord(event), cursor: event.lastEventId });
          if (event.lastEventId !== "") this.lastReceivedId = event.lastEventId;
          progressed = true;
          this.flush();
          this.armTimer();
          // Out of credits with a full buffer: stop reading (backpressure) until grant() or close().
          while (!this.closed && this.buffer.length >= this.batchSize) await this.signal.changed();
          if (this.closed) break;
        }
        if (!this.closed) {
          relayMetrics.receiveErrors.inc();
          this.log.warn("sse source: the server closed the stream; reconnecting");
        }
      } catch (err) {
        if (!this.closed) {
          relayMetrics.receiveErrors.inc();
          this.log.warn({ err }, `sse source: ${err instanceof Error ? err.message : String(err)}`);
        }
      } finally {
        connection.abort();
        this.connection = undefined;
      }
      if (this.closed) break;
      failures = progressed ? 0 : failures + 1;
      const delay = backoffMs(baseMs, failures, maxBackoffMs);
      this.log.info({ delayMs: delay, lastEventId: this.lastReceivedId ?? null }, "sse source: reconnecting");
      await this.signal.sleep(delay);
    }
  }

  /** Sends batches while there are credits and a batch is due (full to min(batchSize, credits), or timed out). */
  protected flush(): void {
    const handler = this.batchHandler;
    if (handler === undefined || this.closed) return;
    let sent = false;
    while (this.credits > 0 && this.buffer.length > 0) {
      const cap = Math.min(this.credits, this.batchSize);
      if (this.buffer.length < cap && !this.timerExpired) break;
      const taken = this.buffer.splice(0, Math.min(cap, this.buffer.length));
      this.credits -= taken.length;
      sent = true;
      handler({ records: taken.map((t) => t.record), cursor: taken[taken.length - 1].cursor });
    }
    if (this.buffer.length === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.timerExpired = false;
    }
    if (sent) this.signal.notify();
  }

  private armTimer(): void {
    if (this.timer !== undefined || this.timerExpired || this.buffer.length === 0 || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerExpired = true;
      this.flush();
    }, this.maxBatchWaitMs);
  }
}
