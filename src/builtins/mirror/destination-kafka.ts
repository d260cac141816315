/**
 * Kafka destination: the records of source partition P go to partition P of
 * the target topic (destination-name-override, or the source topic's name),
 * exactly once, many records in flight:
 *
 *   open:  transactional producer, transactional.id = conveyor-mirror:<target topic>:<partition>
 *          (InitProducerId bumps the epoch: an older writer of this partition is fenced, and
 *          its open transaction is aborted) ─► read the last committed record of the target
 *          partition (read_committed) ─► its `conveyor-mirror-source` header says the
 *          source offset it holds ─► next = that offset + 1
 *   flush: one transaction: the batch's records (each with the header naming its source
 *          offset), sent in ≤ 900 KB requests ─► commit
 *   check: the target's last stable offset must be where our last commit left it
 *
 * Why it is exactly-once: docs/mirror.md ("Kafka destination"). The other Kafka mode, mirror-v3's
 * target offset = source offset, is destination-kafka-offsets.ts; both share the batch and the client here.
 */
import {
  Kafka,
  logLevel,
  Partitioners,
  type Admin,
  type IHeaders,
  type KafkaMessage,
  type Message,
  type Producer,
} from "kafkajs";
import type { Logger } from "../../telemetry/log";
import type { DestinationBatch, DestinationHead, PartitionDestination } from "./destination";
import { MirrorError } from "./mirror-error";
import type { TimestampMode } from "./config";
import type { MirrorRecord } from "./record-line";

import { singlePartitionAssigner } from "./kafkajs-support";

const EMPTY = Buffer.alloc(0);

/** Header on every mirrored record: `<source topic>/<source partition>@<source offset>`. */
export const SOURCE_HEADER = "conveyor-mirror-source";

/** Produce requests stay below the broker's default message.max.bytes (1 MiB). */
const MAX_REQUEST_BYTES = 900 * 1024;
/**
 * And hold at most this many records: kafkajs groups a send's messages by partition in O(n²)
 * (producer/groupMessagesPerPartition.js copies the array for every message).
 */
const MAX_REQUEST_RECORDS = 1000;

export interface KafkaDestinationOptions {
  brokers: string[];
  /** Target topic (destination-name-override or the source topic) and partition (the source's). */
  topic: string;
  partition: number;
  sourceTopic: string;
  sourcePartition: number;
  /** Consumer group used to read the target's last committed record (never commits offsets). */
  tailGroupId: string;
  clientId: string;
  log: Logger;
  /** The broker aborts a transaction left open this long (default 60 s). */
  transactionTimeoutMs?: number;
  /** source (default): each record keeps its timestamp; destination: the target stamps it. */
  timestampMode?: TimestampMode;
}

export function sourceHeaderValue(topic: string, partition: number, offset: number): string {
  return `${topic}/${partition}@${offset}`;
}

/** The source (topic, partition, offset) a mirrored record names, or undefined for a record without the header. */
export function parseSourceHeader(
  headers: IHeaders | undefined,
): { topic: string; partition: number; offset: number } | undefined {
  const raw = headers?.[SOURCE_HEADER];
  const value = Array.isArray(raw) ? raw.at(-1) : raw; // a mirror of a mirror: ours is the last one
  if (value === undefined) return undefined;
  const m = /^(.+)\/(\d+)@(\d+)$/.exec(value.toString());
  if (!m) return undefined;
  return { topic: m[1]!, partition: Number(m[2]), offset: Number(m[3]) };
}

/** Whether `err` or one of its causes (kafkajs wraps errors in retry errors) matches. */
function someCause(err: unknown, match: (e: Error & { code?: number; type?: string }) => boolean): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (match(e)) return true;
  return false;
}

/** Fenced: a newer producer with our transactional id exists (INVALID_PRODUCER_EPOCH 47, PRODUCER_FENCED 90). */
function isFenced(err: unknown): boolean {
  return someCause(
    err,
    (e) =>
      e.code === 47 ||
      e.type === "INVALID_PRODUCER_EPOCH" ||
      e.type === "PRODUCER_FENCED" ||
      // kafkajs 2.2.4 does not know PRODUCER_FENCED (90): "Unknown error code 90".
      /\bUnknown error code 90\b/.test(e.message),
  );
}

/**
 * The target cluster's client. Limited retries, whose kafkajs warning is dropped: transactions (and the
 * offset check of offset-preserving mode), not endless retries, make the writes exactly-once; a failed
 * write is retried by the core after a check of the target.
 */
export function targetKafka(o: Pick<KafkaDestinationOptions, "clientId" | "brokers" | "log">): Kafka {
  const log = o.log;
  return new Kafka({
    clientId: o.clientId,
    brokers: o.brokers,
    connectionTimeout: 3000,
    retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5000 },
    logCreator:
      () =>
      ({ level, log: entry }) => {
        const { message, ...rest } = entry;
        if (message.startsWith("Limiting retries for the idempotent producer")) return;
        if (level === logLevel.ERROR) log.error({ kafkajs: rest }, `kafkajs: ${message}`);
        else if (level === logLevel.WARN) log.warn({ kafkajs: rest }, `kafkajs: ${message}`);
      },
  });
}

/** Low watermark and last stable offset (kafkajs lists offsets read_committed) of the target partition. */
export async function targetOffsets(
  admin: Admin,
  topic: string,
  partition: number,
): Promise<{ low: number; high: number }> {
  let offsets;
  try {
    offsets = await admin.fetchTopicOffsets(topic);
  } catch (err) {
    if (someCause(err, (e) => e.type === "UNKNOWN_TOPIC_OR_PARTITION")) {
      throw new MirrorError(
        "MIRROR_DESTINATION_INVALID",
        `target topic ${topic} does not exist: create it with at least ${partition + 1} partition(s)`,
        { topic },
      );
    }
    throw err;
  }
  const p = offsets.find((o) => o.partition === partition);
  if (!p) {
    throw new MirrorError(
      "MIRROR_DESTINATION_INVALID",
      `target topic ${topic} has no partition ${partition} (it has ${offsets.length}): the mirror ` +
        "writes source partition P to target partition P",
      { topic, partition },
    );
  }
  return { low: Number(p.low), high: Number(p.high) };
}

export class KafkaBatch implements DestinationBatch {
  readonly messages: Message[] = [];
  /** The source offset of each message. */
  readonly offsets: number[] = [];
  /** Bytes per message, to cut produce requests. */
  private readonly sizes: number[] = [];
  private size = 0;

  /** `sourceHeader` false (offset-preserving): the records as they are, without the header naming their offset. */
  constructor(
    private readonly partition: number,
    private readonly sourceTopic: string,
    private readonly sourcePartition: number,
    private readonly timestampMode: TimestampMode = "source",
    private readonly sourceHeader = true,
  ) {}

  get count(): number {
    return this.messages.length;
  }

  get bytes(): number {
    return this.size;
  }

  add(r: MirrorRecord): void {
    // One IHeaders object, a value per name, an array only for a repeated name (kafkajs' shape).
    const headers: Record<string, Buffer | Buffer[]> = {};
    let bytes = (r.key?.length ?? 0) + (r.value?.length ?? 0) + 32;
    const put = (k: string, v: Buffer | null): void => {
      v ??= EMPTY; // kafkajs sends no null header value: it becomes an empty one
      const had = headers[k];
      headers[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
      bytes += k.length + v.length;
    };
    for (const [k, v] of r.headers) put(k, v);
    if (this.sourceHeader) {
      put(SOURCE_HEADER, Buffer.from(sourceHeaderValue(this.sourceTopic, this.sourcePartition, r.offset)));
    }
    this.messages.push({
      partition: this.partition,
      key: r.key,
      value: r.value,
      // timestamp-mode destination (mirror-v3): no timestamp, so the producer's send time / the broker's clock.
      ...(this.timestampMode === "source" && r.timestampType !== "not_available"
        ? { timestamp: String(r.timestamp) }
        : {}),
      headers,
    });
    this.offsets.push(r.offset);
    this.sizes.push(bytes);
    this.size += bytes;
  }

  /**
   * The messages from index `start` on, cut into produce requests of at most MAX_REQUEST_BYTES /
   * MAX_REQUEST_RECORDS (at least one message each).
   */
  chunks(start = 0): Message[][] {
    const out: Message[][] = [];
    let current: Message[] = [];
    let bytes = 0;
    for (let i = start; i < this.messages.length; i++) {
      const b = this.sizes[i]!;
      if (current.length > 0 && (bytes + b > MAX_REQUEST_BYTES || current.length >= MAX_REQUEST_RECORDS)) {
        out.push(current);
        current = [];
        bytes = 0;
      }
      current.push(this.messages[i]!);
      bytes += b;
    }
    if (current.length > 0) out.push(current);
    return out;
  }
}

export class KafkaDestination implements PartitionDestination<KafkaBatch> {
  readonly location: string;
  /** The target knows records only: a batch ends at its last record, whose header names its source offset. */
  readonly coversOffsets = false;
  readonly transactionalId: string;
  private readonly kafka: Kafka;
  private admin: Admin | undefined;
  private producer: Producer | undefined;
  private startOffset = 0;
  /** The target's last stable offset right after our last commit (undefined: unknown, read the tail). */
  private end: number | undefined;
  private last: string | undefined;

  constructor(private readonly o: KafkaDestinationOptions) {
    this.location = `kafka://${o.topic}/${o.partition}`;
    this.transactionalId = `conveyor-mirror:${o.topic}:${o.partition}`;
    this.kafka = targetKafka(o);
  }

  async inspect(startOffset: number): Promise<DestinationHead> {
    const { next, last, low, high } = await this.readHead(startOffset);
    return { next, last, facts: { target_low: low, target_stable_offset: high } };
  }

  async open(startOffset: number): Promise<DestinationHead> {
    this.startOffset = startOffset;
    await this.connectProducer();
    const head = await this.inspect(startOffset);
    this.end = Number(head.facts.target_stable_offset);
    this.last = head.last;
    return head;
  }

  async check(expected: number): Promise<DestinationHead> {
    if (this.producer === undefined) {
      // After a failed write: fence/finish our own open transaction first, then read what is committed.
      await this.connectProducer();
      this.end = undefined;
    }
    if (this.end !== undefined) {
      // Our commit's marker is written by the coordinator after commit() returns: allow it a moment.
      const until = Date.now() + 5000;
      for (;;) {
        const { high } = await this.offsets();
        if (high === this.end)
          return { next: expected, last: this.last, facts: { target_stable_offset: high } };
        if (high > this.end || Date.now() > until) break;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    const { next, last, high } = await this.readHead(this.startOffset);
    this.end = high;
    this.last = last;
    return { next, last, facts: { target_stable_offset: high } };
  }

  newBatch(): KafkaBatch {
    return new KafkaBatch(this.o.partition, this.o.sourceTopic, this.o.sourcePartition, this.o.timestampMode);
  }

  async write(from: number, to: number, batch: KafkaBatch): Promise<string> {
    const producer = this.producer ?? (await this.connectProducer());
    const { topic, partition } = this.o;
    try {
      const txn = await producer.transaction();
      let first: number | undefined;
      let end = 0;
      try {
        for (const messages of batch.chunks()) {
          const meta = await txn.send({ topic, acks: -1, messages });
          const base = Number(meta.find((m) => m.partition === partition)?.baseOffset ?? NaN);
          first ??= base;
          end = base + messages.length;
        }
        await txn.commit();
      } catch (err) {
        await txn.abort().catch(() => undefined);
        throw err;
      }
      this.end = Number.isSafeInteger(end) ? end + 1 : undefined; // + the commit marker
      this.last = `${this.location}@${end - 1}`;
      return `${this.location}@${first}-${end - 1}`;
    } catch (err) {
      this.end = undefined;
      await this.discardProducer();
      if (isFenced(err)) {
        throw new MirrorError(
          "MIRROR_DESTINATION_CHANGED",
          `another writer took over ${this.location} (transactional id ${this.transactionalId}): this mirror ` +
            `was fenced while writing source offsets ${from}-${to}, which it had not committed`,
          { destination: this.location, transactional_id: this.transactionalId, from, to },
          { cause: err },
        );
      }
      throw new Error(
        `cannot write source offsets ${from}-${to} to ${this.location}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  async close(): Promise<void> {
    await this.discardProducer();
    const admin = this.admin;
    this.admin = undefined;
    await admin?.disconnect().catch(() => undefined);
  }

  /**
   * InitProducerId: bumps the epoch of our transactional id, which fences any older producer with it, and
   * waits until the coordinator has ended that producer's open transaction (aborted, or committed if it
   * was already prepared). Only after this is the target's last committed record final.
   */
  private async connectProducer(): Promise<Producer> {
    await this.discardProducer();
    const producer = this.kafka.producer({
      transactionalId: this.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: this.o.transactionTimeoutMs ?? 60_000,
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 3000 },
    });
    try {
      await producer.connect();
      // kafkajs sends the transactional InitProducerId with the first transaction, not on connect: do it
      // now, so that an older writer is fenced (and its open transaction ended) before the target is read.
      // An abort with nothing sent ends locally, without an EndTxn.
      const txn = await producer.transaction();
      await txn.abort();
    } catch (err) {
      await producer.disconnect().catch(() => undefined);
      throw new Error(
        `cannot connect a transactional producer to ${this.o.brokers.join(",")}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
    this.producer = producer;
    return producer;
  }

  private async discardProducer(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await producer?.disconnect().catch(() => undefined);
  }

  /** Low watermark and last stable offset (read_committed) of the target partition. */
  private async offsets(): Promise<{ low: number; high: number }> {
    if (this.admin === undefined) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    return targetOffsets(this.admin, this.o.topic, this.o.partition);
  }

  /**
   * The last committed record of the target partition and the next source
   * offset it implies. Reads windows ending at the last stable offset,
   * growing backwards, until a committed record shows up (aborted
   * transactions and markers are skipped by read_committed).
   */
  private async readHead(
    startOffset: number,
  ): Promise<{ next: number; last: string | undefined; low: number; high: number }> {
    const { low, high } = await this.offsets();
    let window = 512;
    let from = high;
    while (from > low) {
      const to = from;
      from = Math.max(low, high - window);
      const found = await this.lastCommittedIn(from, to);
      if (found) {
        const where = `${this.location}@${found.offset}`;
        const source = parseSourceHeader(found.headers);
        const { sourceTopic, sourcePartition } = this.o;
        if (!source || source.topic !== sourceTopic || source.partition !== sourcePartition) {
          throw new MirrorError(
            "MIRROR_DESTINATION_INVALID",
            `foreign record ${where} in the destination: its last committed record ` +
              (source
                ? `was mirrored from ${source.topic}/${source.partition}, not ${sourceTopic}/${sourcePartition}`
                : `has no ${SOURCE_HEADER} header (not written by this mirror; a target written by mirror-v3, ` +
                  "whose offsets equal the source's, is continued with mode: offset-preserving)") +
              "; mirror into another topic (destination-name-override)",
            { file: where },
          );
        }
        if (source.offset + 1 < startOffset) {
          throw new MirrorError(
            "MIRROR_DESTINATION_INVALID",
            `${where} holds source offset ${source.offset}, below the configured start-offset ${startOffset}`,
            { file: where, expected: startOffset, actual: source.offset },
          );
        }
        return { next: source.offset + 1, last: where, low, high };
      }
      window *= 8;
    }
    if (low > 0) {
      throw new MirrorError(
        "MIRROR_DESTINATION_INVALID",
        `${this.location} holds no committed record but its low watermark is ${low}: records were deleted ` +
          "(retention?), so the next offset cannot be read back from the destination",
        { file: this.location, low },
      );
    }
    return { next: startOffset, last: undefined, low, high };
  }

  /** The committed record with the highest offset in [from, to), read_committed; undefined when none. */
  private async lastCommittedIn(from: number, to: number): Promise<KafkaMessage | undefined> {
    const { topic, partition } = this.o;
    const consumer = this.kafka.consumer({
      // Its own group each time, so that `status` never waits for a running mirror's reader (or the reverse);
      // a group without committed offsets is removed when its member leaves.
      groupId: `${this.o.tailGroupId}.${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
      partitionAssigners: [singlePartitionAssigner(topic, partition)],
      readUncommitted: false,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 100,
      sessionTimeout: 6000,
      heartbeatInterval: 1000,
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 5000 },
    });
    let last: KafkaMessage | undefined;
    let reached!: () => void;
    const done = new Promise<void>((resolve) => (reached = resolve));
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.partition === partition && Number(payload.lastOffset) >= to - 1) reached();
    });
    let crashed: Error | undefined;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      crashed = payload.error;
      reached();
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          if (batch.partition !== partition) return;
          for (const m of batch.messages) {
            const offset = Number(m.offset);
            if (offset >= from && offset < to && (!last || offset > Number(last.offset))) last = m;
          }
        },
      });
      consumer.seek({ topic, partition, offset: String(from) });
      await Promise.race([
        done,
        new Promise<void>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`reading ${this.location} offsets ${from}-${to - 1} timed out`)),
            30_000,
          );
        }),
      ]);
      if (crashed) throw crashed;
      return last;
    } finally {
      clearTimeout(timer);
      await consumer.disconnect().catch(() => undefined);
    }
  }
}
