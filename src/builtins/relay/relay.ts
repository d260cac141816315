/**
 * The relay loop: SSE stream → publisher, one event at a time, resume id
 * saved after each successful publish.
 *
 *   load state ─▶ connectSse(Last-Event-ID = last published id)
 *        ▲              │ for each event:
 *        │              │   publish (durable, or "duplicate") ─▶ save lastEventId ─▶ next
 *        │              ▼
 *        └─ backoff ◀─ stream ended / failed / publish failed
 *           (server's retry: as base, ×2 per attempt without progress, capped, ±20 % jitter)
 *
 * stop() (SIGTERM) lets the event being published finish and its id be
 * saved, closes the connection and resolves when run() returned.
 */
import type { Logger } from "../../telemetry/log";
import { relayMetrics } from "./metrics";
import { eventTimeMs, type Publisher, type RelayEvent } from "./publisher";
import { connectSse } from "./sse-client";
import type { StateStore } from "./state-store";

export interface RelayOptions {
  url: string;
  /** Start from the saved id (Last-Event-ID); false starts from "now" (the server's default). */
  resume: boolean;
  publisher: Publisher;
  state: StateStore;
  log: Logger;
  /** Reconnect delay before the server sent a retry: field. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  idleTimeoutMs?: number;
}

class PublishFailed extends Error {}

export class Relay {
  private stopping = false;
  private connection: AbortController | undefined;
  private wakeUp: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private lastEventId: string | undefined;
  private savedId: string | undefined;

  constructor(private readonly options: RelayOptions) {}

  /** Runs until stop(); rejects only when the start-up fails (state unreadable, destination unusable). */
  run(): Promise<void> {
    this.running ??= this.loop();
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.connection?.abort();
    this.wakeUp?.();
    await this.running;
  }

  private async loop(): Promise<void> {
    const { publisher, state, log } = this.options;
    const initialBackoffMs = this.options.initialBackoffMs ?? 1000;
    const maxBackoffMs = this.options.maxBackoffMs ?? 30_000;
    await publisher.open();
    const saved = await state.load();
    this.savedId = saved?.lastEventId;
    this.lastEventId = this.options.resume ? this.savedId : undefined;
    log.info(
      { url: this.options.url, publisher: publisher.kind, lastEventId: this.lastEventId ?? null },
      this.lastEventId ? "relay started; resuming after the saved event id" : "relay started",
    );

    let baseMs = initialBackoffMs;
    let failures = 0;
    for (let attempt = 0; !this.stopping; attempt++) {
      if (attempt > 0) relayMetrics.restarts.inc();
      const connection = new AbortController();
      this.connection = connection;
      let progressed = false;
      try {
        const stream = await connectSse({
          url: this.options.url,
          lastEventId: this.lastEventId,
          signal: connection.signal,
          idleTimeoutMs: this.options.idleTimeoutMs ?? 60_000,
          onLines: (n) => relayMetrics.receivedLines.inc(n),
        });
        log.info({ url: stream.url, lastEventId: this.lastEventId ?? null }, "connected to the stream");
        for await (const item of stream) {
          if (item.kind === "retry") {
            baseMs = item.ms;
            continue;
          }
          relayMetrics.receivedEvents.inc();
          await this.publish({ ...item.event, receivedAtMs: Date.now() });
          progressed = true;
          if (this.stopping) break;
        }
        if (!this.stopping) {
          relayMetrics.receiveErrors.inc();
          log.warn("the server closed the stream; reconnecting");
        }
      } catch (err) {
        if (!this.stopping) {
          if (!(err instanceof PublishFailed)) relayMetrics.receiveErrors.inc();
          log.warn(
            { err: err instanceof PublishFailed ? err.cause : err },
            err instanceof Error ? err.message : "",
          );
        }
      } finally {
        connection.abort();
        this.connection = undefined;
      }
      if (this.stopping) break;
      failures = progressed ? 0 : failures + 1;
      const delay = backoffMs(baseMs, failures, maxBackoffMs);
      log.info({ delayMs: delay, lastEventId: this.lastEventId ?? null }, "reconnecting after a delay");
      await this.sleep(delay);
    }
    await publisher.close();
    log.info({ lastEventId: this.savedId ?? null }, "relay stopped");
  }

  private async publish(event: RelayEvent): Promise<void> {
    const { publisher, state, log } = this.options;
    let outcome;
    try {
      outcome = await publisher.publish(event);
    } catch (err) {
      throw new PublishFailed(`publishing event ${event.lastEventId || "(no id)"} failed; will retry`, {
        cause: err,
      });
    }
    const time = eventTimeMs(event);
    if (time !== undefined) relayMetrics.publishLag.set((Date.now() - time) / 1000);
    log.debug({ id: event.id ?? null, outcome }, "event published");
    this.lastEventId = event.lastEventId || undefined;
    if (event.lastEventId !== "" && event.lastEventId !== this.savedId) {
      try {
        await state.save({ lastEventId: event.lastEventId });
      } catch (err) {
        throw new PublishFailed(`saving the resume id failed; will retry`, { cause: err });
      }
      this.savedId = event.lastEventId;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }
}

/** base × 2^(failures-1) for consecutive failures without progress (base after progress), capped, ±20 %. */
export function backoffMs(baseMs: number, failures: number, maxMs: number, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(exp * (0.8 + 0.4 * random()));
}
