/**
 * The relay loop: SSE stream → publisher, resume id saved after each
 * successful publish.
 *
 *   load state ─▶ connectSse(Last-Event-ID = last published id)
 *        ▲              │ for each event:
 *        │              │   publish ─▶ window (≤ publisher.maxPending outstanding: files 32, Kafka 2000)
 *        │              │              └─ in order: once an event and all before it are durable,
 *        │              │                 save its lastEventId (one save per run of acks)
 *        │              ▼
 *        └─ backoff ◀─ stream ended / failed / publish failed (the window drains first)
 *           (server's retry: as base, ×2 per attempt without progress, capped, ±20 % jitter)
 *
 * With maxPending 1 the next event is read only after the previous one is
 * published; with more, publishes overlap (files: fsyncs in parallel) or are
 * batched (Kafka: one produce request per batch). stop() (SIGTERM) lets the
 * outstanding publishes finish and their id be saved, closes the connection
 * and resolves when run() returned.
 */
import type { Logger } from "../../telemetry/log";
import { relayMetrics } from "./metrics";
import { pleiadesMetrics } from "./pleiades-metrics";
import { PublishWindow } from "./publish-window";
import { eventTimeMs, type Publisher, type RelayEvent } from "./publisher";
import { connectSse, SseIdleTimeout } from "./sse-client";
import { SSE_LINE_TYPES } from "./sse-parser";
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
    let from = this.savedId !== undefined ? "the saved event id" : "";
    if (this.options.resume && saved === undefined && publisher.lastPublishedId !== undefined) {
      // No local state (a pod without a volume): the destination says where the last run got to.
      this.savedId = await this.destinationResumeId(publisher, initialBackoffMs, maxBackoffMs);
      from = `the ${publisher.kind} destination's newest event`;
    }
    this.lastEventId = this.options.resume ? this.savedId : undefined;
    log.info(
      { url: this.options.url, publisher: publisher.kind, lastEventId: this.lastEventId ?? null },
      this.lastEventId ? `relay started; resuming after ${from}` : "relay started",
    );

    let baseMs = initialBackoffMs;
    let failures = 0;
    let restartOf: "wmf_consumer" | "file_publisher" | "kafka_publisher" = "wmf_consumer";
    for (let attempt = 0; !this.stopping; attempt++) {
      if (attempt > 0) {
        relayMetrics.restarts.inc();
        pleiadesMetrics.restarts.inc({ component: restartOf });
      }
      let connected = false;
      const connection = new AbortController();
      this.connection = connection;
      let progressed = false;
      const window = new PublishWindow<RelayEvent>(
        publisher.maxPending ?? 1,
        async (last) => {
          await this.committed(last);
          progressed = true;
        },
        () => connection.abort(), // stop reading at once; the loop below reports the failure
      );
      try {
        const stream = await connectSse({
          url: this.options.url,
          lastEventId: this.lastEventId,
          signal: connection.signal,
          idleTimeoutMs: this.options.idleTimeoutMs ?? 60_000,
          onLines: (n, types) => {
            relayMetrics.receivedLines.inc(n);
            for (const type of SSE_LINE_TYPES)
              if (types[type] > 0) pleiadesMetrics.recvLines.inc({ type }, types[type]);
          },
        });
        connected = true;
        log.info({ url: stream.url, lastEventId: this.lastEventId ?? null }, "connected to the stream");
        for await (const item of stream) {
          if (item.kind === "retry") {
            baseMs = item.ms;
            continue;
          }
          relayMetrics.receivedEvents.inc();
          pleiadesMetrics.recvEvents.inc();
          await this.submit(window, { ...item.event, receivedAtMs: Date.now() });
          if (this.stopping) break;
        }
        await this.drained(window);
        if (!this.stopping) {
          relayMetrics.receiveErrors.inc();
          pleiadesMetrics.recvErrors.inc({ type: "eof" });
          restartOf = "wmf_consumer";
          log.warn("the server closed the stream; reconnecting");
        }
      } catch (err) {
        // Whatever ended the connection, the outstanding publishes settle before the resume id is read.
        const failure = await this.drained(window).then(
          () => undefined,
          (e: unknown) => e,
        );
        const cause = failure ?? err;
        if (!this.stopping || failure !== undefined) {
          if (!(cause instanceof PublishFailed)) relayMetrics.receiveErrors.inc();
          restartOf = cause instanceof PublishFailed ? `${publisher.kind}_publisher` : "wmf_consumer";
          // pleiades counted timeouts, read errors and EOF; a refused or non-2xx request was not counted.
          if (cause instanceof SseIdleTimeout)
            pleiadesMetrics.recvErrors.inc({ type: connected ? "body_read_timeout" : "request_timeout" });
          else if (connected && !(cause instanceof PublishFailed))
            pleiadesMetrics.recvErrors.inc({ type: "read_error" });
          log.warn(
            { err: cause instanceof PublishFailed ? cause.cause : cause },
            cause instanceof Error ? cause.message : "",
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

  /** Asks the destination for its newest event's resume id, retrying with backoff until it answers or stop(). */
  private async destinationResumeId(
    publisher: Publisher,
    baseMs: number,
    maxMs: number,
  ): Promise<string | undefined> {
    for (let failures = 1; !this.stopping; failures++) {
      try {
        return await publisher.lastPublishedId!();
      } catch (err) {
        const delay = backoffMs(baseMs, failures, maxMs);
        this.options.log.warn(
          { err, delayMs: delay },
          `no local state, and reading the resume id from the ${publisher.kind} destination failed; retrying`,
        );
        await this.sleep(delay);
      }
    }
    return undefined;
  }

  /** Hands one event to the publisher; waits while the window is full; throws once a publish failed. */
  private async submit(window: PublishWindow<RelayEvent>, event: RelayEvent): Promise<void> {
    const { publisher, log } = this.options;
    let publishing: Promise<unknown>;
    try {
      publishing = publisher.publish(event);
    } catch (err) {
      publishing = Promise.reject(err);
    }
    if (log.isLevelEnabled("debug")) {
      publishing.then(
        (outcome) => log.debug({ id: event.id ?? null, outcome }, "event published"),
        () => undefined,
      );
    }
    await window.add(event, publishing);
    throwIfFailed(window);
  }

  /** Waits for the outstanding publishes; throws the window's failure, if any. */
  private async drained(window: PublishWindow<RelayEvent>): Promise<void> {
    await window.drain();
    throwIfFailed(window);
  }

  /** `last` and every event before it are published: remember and save its id. */
  private async committed(last: RelayEvent): Promise<void> {
    const time = eventTimeMs(last);
    if (time !== undefined) relayMetrics.publishLag.set((Date.now() - time) / 1000);
    this.lastEventId = last.lastEventId || undefined;
    if (last.lastEventId !== "" && last.lastEventId !== this.savedId) {
      try {
        await this.options.state.save({ lastEventId: last.lastEventId });
      } catch (err) {
        throw new PublishFailed(`saving the resume id failed; will retry`, { cause: err });
      }
      this.savedId = last.lastEventId;
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

function throwIfFailed(window: PublishWindow<RelayEvent>): void {
  const failure = window.failure;
  if (failure === undefined) return;
  if (failure.error instanceof PublishFailed) throw failure.error;
  throw new PublishFailed("publishing an event failed; will retry from the last published event", {
    cause: failure.error,
  });
}

/** base × 2^(failures-1) for consecutive failures without progress (base after progress), capped, ±20 %. */
export function backoffMs(baseMs: number, failures: number, maxMs: number, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(exp * (0.8 + 0.4 * random()));
}
