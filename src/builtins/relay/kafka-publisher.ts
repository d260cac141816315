/**
 * The Kafka publisher: every event becomes one message on `topic`, batched
 * while the previous produce request is in flight (group commit):
 *
 *   publish(e) ─▶ queue ─▶ (no request in flight) send(batch ≤ maxBatchEvents / maxBatchBytes)
 *                   ▲                 │ acks = -1 (all in-sync replicas), idempotent producer,
 *                   │                 │ one request in flight (ordered per partition)
 *                   └─ next batch ◀───┘ acked: resolve the batch's publishes ─▶ relay saves the last id
 *
 *   message: key   = the event's wiki (data.wiki, else meta.domain), else its identity
 *            value = the event's data, as received
 *            headers relay-event-id (its identity: SSE id, else meta.id, else a data hash),
 *                    relay-event-type, relay-resume-id (only when the event had no id: field: the
 *                    last event id it inherited, which the relay resumes after)
 *            timestamp = meta.dt when present, else the receive time
 *
 * A failed request rejects its batch *and everything queued behind it*
 * (publishing those would put them ahead of the failed ones), and the
 * producer is replaced, so the next attempt starts with a fresh producer id.
 * The relay then reconnects and replays from the last acked event.
 *
 * Delivery is at-least-once across crashes: a kill -9 between the broker's
 * ack and the resume-id save republishes up to one window of events on
 * restart. Consumers dedupe by the relay-event-id header (docs/relay.md).
 */
import { Kafka, logLevel, Partitioners, type Message, type ProducerRecord } from "kafkajs";
import { ConveyorError } from "../../errors";
import type { Logger } from "../../telemetry/log";
import {
  EVENT_ID_HEADER,
  EVENT_TYPE_HEADER,
  newestResumeId,
  readLastRecords,
  RESUME_ID_HEADER,
} from "./kafka-resume";
import { relayMetrics } from "./metrics";
import { pleiadesMetrics } from "./pleiades-metrics";
import {
  eventIdentity,
  eventKey,
  eventTimeMs,
  type PublishOutcome,
  type Publisher,
  type RelayEvent,
} from "./publisher";

export { EVENT_ID_HEADER, EVENT_TYPE_HEADER, RESUME_ID_HEADER } from "./kafka-resume";

export interface KafkaPublisherOptions {
  /** Bootstrap brokers, host:port each. */
  brokers: string[];
  topic: string;
  log: Logger;
  clientId?: string;
  /** Most events in one produce request (default 500). */
  maxBatchEvents?: number;
  /** Most bytes (keys + values) in one produce request (default 900 000, under the broker's 1 MiB default). */
  maxBatchBytes?: number;
  /** Events the relay may have outstanding (default 2000; 1 disables batching). */
  maxPending?: number;
  /** kafkajs connection timeout per attempt (default 3000 ms). */
  connectionTimeoutMs?: number;
  /** kafkajs retries of a connect or produce request before it fails (default 5). */
  retries?: number;
  /** Makes the producer (default: kafkajs, idempotent, one request in flight); tests pass a fake. */
  newProducer?: () => KafkaSender;
}

/** The part of a kafkajs Producer the publisher uses. */
export interface KafkaSender {
  connect(): Promise<void>;
  send(record: ProducerRecord): Promise<unknown>;
  disconnect(): Promise<void>;
}

/** The Kafka message for an event (pure; exported for tests). */
export function kafkaMessage(event: RelayEvent): Message {
  const time = eventTimeMs(event) ?? event.receivedAtMs;
  const id = eventIdentity(event).value;
  return {
    key: eventKey(event),
    value: event.data,
    timestamp: String(time),
    headers: {
      [EVENT_ID_HEADER]: id,
      [EVENT_TYPE_HEADER]: event.type,
      ...(event.lastEventId !== id ? { [RESUME_ID_HEADER]: event.lastEventId } : {}),
    },
  };
}

/** Splits off the next batch: at least one entry, then up to the event and byte limits. */
export function nextBatchSize(sizes: readonly number[], maxEvents: number, maxBytes: number): number {
  let n = 0;
  let bytes = 0;
  while (n < sizes.length && n < maxEvents && (n === 0 || bytes + sizes[n] <= maxBytes)) {
    bytes += sizes[n];
    n++;
  }
  return n;
}

interface Pending {
  event: RelayEvent;
  message: Message;
  bytes: number;
  resolve(outcome: PublishOutcome): void;
  reject(err: Error): void;
}

export class KafkaPublisher implements Publisher {
  readonly kind = "kafka";
  readonly maxPending: number;
  private readonly newProducer: () => KafkaSender;
  private readonly kafka: Kafka | undefined;
  private readonly maxBatchEvents: number;
  private readonly maxBatchBytes: number;
  private producer: KafkaSender | undefined;
  private connecting: Promise<KafkaSender> | undefined;
  private queue: Pending[] = [];
  private sending = false;
  private scheduled = false;
  private closed = false;
  private idle: Array<() => void> = [];

  constructor(private readonly options: KafkaPublisherOptions) {
    if (options.brokers.length === 0 || options.brokers.some((b) => !/^[^\s:]+:\d+$/.test(b))) {
      throw new ConveyorError(
        "CONFIG_INVALID",
        `Kafka brokers must be host:port: ${options.brokers.join(",")}`,
        {
          field: "kafka.broker",
          actual: options.brokers,
        },
      );
    }
    if (options.topic === "") {
      throw new ConveyorError("CONFIG_INVALID", "the Kafka topic must not be empty", {
        field: "kafka.topic",
      });
    }
    this.maxBatchEvents = options.maxBatchEvents ?? 500;
    this.maxBatchBytes = options.maxBatchBytes ?? 900_000;
    this.maxPending = options.maxPending ?? 2000;
    const retries = options.retries ?? 5;
    if (options.newProducer !== undefined) this.newProducer = options.newProducer;
    else {
      const kafka = (this.kafka = new Kafka({
        clientId: options.clientId ?? "conveyor-relay",
        brokers: options.brokers,
        logCreator: kafkaLogCreator(options.log),
        connectionTimeout: options.connectionTimeoutMs ?? 3000,
        retry: { retries, initialRetryTime: 300, maxRetryTime: 5000 },
      }));
      // idempotent: the broker drops a retried request's duplicates (needs acks -1, retries > 0, and one
      // request in flight to keep the order of a partition's batches). The default partitioner is the Java
      // client's (murmur2 of the key), so a key lands on the same partition as with any Java producer.
      this.newProducer = () =>
        kafka.producer({
          idempotent: true,
          maxInFlightRequests: 1,
          createPartitioner: Partitioners.DefaultPartitioner,
        });
    }
  }

  /** Nothing to prepare: the producer connects on the first publish (a broker down at start is retried). */
  async open(): Promise<void> {
    this.closed = false;
  }

  /** The resume id the topic's newest record names (kafka-resume.ts); undefined for an empty topic. */
  async lastPublishedId(): Promise<string | undefined> {
    if (this.kafka === undefined) return undefined;
    return newestResumeId(await readLastRecords(this.kafka, this.options.topic));
  }

  publish(event: RelayEvent): Promise<PublishOutcome> {
    if (this.closed) return Promise.reject(new Error("the Kafka publisher is closed"));
    const message = kafkaMessage(event);
    const bytes = Buffer.byteLength(message.value as string) + Buffer.byteLength(message.key as string);
    return new Promise((resolve, reject) => {
      this.queue.push({ event, message, bytes, resolve, reject });
      this.schedule();
    });
  }

  /** Waits for the queue to drain, then disconnects. */
  async close(): Promise<void> {
    while (this.sending || this.queue.length > 0) await new Promise<void>((r) => this.idle.push(r));
    this.closed = true;
    await this.resetProducer();
  }

  /** Sends on the next turn of the event loop, so the events published meanwhile join the batch. */
  private schedule(): void {
    if (this.sending || this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.sendNext();
    });
  }

  private async sendNext(): Promise<void> {
    if (this.sending || this.queue.length === 0) return;
    this.sending = true;
    const n = nextBatchSize(
      this.queue.map((p) => p.bytes),
      this.maxBatchEvents,
      this.maxBatchBytes,
    );
    const batch = this.queue.splice(0, n);
    const { topic } = this.options;
    try {
      const producer = await this.connected();
      const started = Date.now();
      const waits = batch.map((p) => (started - p.event.receivedAtMs) / 1000);
      for (const w of waits) relayMetrics.kafkaWaitDuration.observe(w);
      relayMetrics.kafkaWrites.inc();
      pleiadesMetrics.kafkaWrites.inc();
      await producer.send({ topic, acks: -1, messages: batch.map((p) => p.message) });
      const writeSeconds = (Date.now() - started) / 1000;
      relayMetrics.kafkaWriteDuration.observe(writeSeconds);
      relayMetrics.kafkaPublishEvents.inc(batch.length);
      pleiadesMetrics.kafkaEvents.inc(batch.length);
      pleiadesMetrics.kafkaRequest(writeSeconds, waits, batch[batch.length - 1].event.lastEventId);
      for (const p of batch) p.resolve("written");
    } catch (err) {
      relayMetrics.kafkaPublishErrors.inc();
      pleiadesMetrics.kafkaErrors.inc();
      const failed = [...batch, ...this.queue.splice(0)];
      const error = new ConveyorError(
        "RELAY_PUBLISH_FAILED",
        `Kafka ${this.options.brokers.join(",")} topic ${topic}: producing ${batch.length} events failed: ${
          err instanceof Error ? err.message : String(err)
        }`,
        { brokers: this.options.brokers, topic, events: batch.length, queued: failed.length - batch.length },
        { cause: err },
      );
      for (const p of failed) p.reject(error);
      await this.resetProducer();
    } finally {
      this.sending = false;
      if (this.queue.length > 0) this.schedule();
      else this.notifyIdle();
    }
  }

  private connected(): Promise<KafkaSender> {
    if (this.producer !== undefined) return Promise.resolve(this.producer);
    this.connecting ??= (async () => {
      const producer = this.newProducer();
      try {
        await producer.connect();
      } catch (err) {
        await producer.disconnect().catch(() => undefined);
        throw err;
      }
      this.options.log.info(
        { brokers: this.options.brokers, topic: this.options.topic },
        "connected to Kafka",
      );
      this.producer = producer;
      return producer;
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async resetProducer(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    // A disconnect that fails leaves nothing to clean up that a new producer would reuse.
    await producer
      ?.disconnect()
      .catch((err: unknown) => this.options.log.debug({ err }, "disconnect failed"));
  }

  private notifyIdle(): void {
    const waiting = this.idle;
    this.idle = [];
    for (const w of waiting) w();
  }
}

/**
 * kafkajs log lines into pino: errors and warnings, except the warning every
 * idempotent producer with bounded retries logs at creation (bounded retries
 * are deliberate here: a send must fail, not hang, while the broker is down;
 * the relay retries it from the last acked event).
 */
function kafkaLogCreator(log: Logger): () => (entry: { level: logLevel; log: { message: string } }) => void {
  return () =>
    ({ level, log: entry }) => {
      const { message, ...rest } = entry;
      if (level === logLevel.ERROR) log.error({ kafkajs: rest }, `kafkajs: ${message}`);
      else if (level === logLevel.WARN) {
        if (message.startsWith("Limiting retries for the idempotent producer")) {
          log.debug({ kafkajs: rest }, `kafkajs: ${message}`);
        } else log.warn({ kafkajs: rest }, `kafkajs: ${message}`);
      }
    };
}
