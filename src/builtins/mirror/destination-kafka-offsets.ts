/**
 * Kafka destination, `mode: offset-preserving` (mirror-v3's Kafka target): source offset N lands at
 * target offset N, each record as it is (no header added), so consumers can use source offsets on the
 * target and a target written by mirror-v3 is continued. No transactions: their commit markers take
 * offsets. Many records in flight, not one:
 *
 *   open:  idempotent producer, no transactional id (retries inside one producer never duplicate)
 *          ─► target watermarks: the last stable offset must equal the high watermark (no open
 *          transaction of another producer) ─► next = the high watermark (≥ start-offset)
 *   check: before each flush: the high watermark is still where this mirror's last write left it
 *   write: the batch's source offsets must be contiguous from `from` (a gap — compaction, transaction
 *          markers, aborted records — cannot be reproduced: MIRROR_OFFSET_GONE, nothing written)
 *          ─► produce requests of ≤ 1000 records / 900 KB, acks=all, one after the other (kafkajs'
 *          idempotent producer keeps one request in flight per broker; the source keeps reading
 *          meanwhile) ─► each request's base offset must equal its first record's source offset
 *          (else MIRROR_DESTINATION_CHANGED: another writer appended)
 *   retry: a write that failed part-way left a prefix of the batch: check accepts a high watermark
 *          inside the batch being written, and the next attempt sends the rest
 *
 * There is no fencing (no transactional id): one writer per target partition is the operator's
 * promise, as with mirror-v3; a second writer is detected by the offset checks, after the fact.
 */
import type { Admin, Kafka, Producer } from "kafkajs";
import type { Logger } from "../../telemetry/log";
import type { TimestampMode } from "./config";
import type { DestinationHead, PartitionDestination } from "./destination";
import { KafkaBatch, SOURCE_HEADER, targetKafka, targetOffsets } from "./destination-kafka";
import { KafkaConnection } from "./kafka-connection";
import {
  decodeFetchResponse,
  encodeFetchRequest,
  FETCH_API_KEY,
  FETCH_VERSION,
  KAFKA_ERRORS,
  recordsOf,
  transactionalAt,
  type PartitionFetch,
} from "./kafka-fetch-protocol";
import { kafkajs, partitionLeader } from "./kafkajs-support";
import { MirrorError } from "./mirror-error";

/** Deadline of one watermark request to the target's leader. */
const REQUEST_TIMEOUT_MS = 10_000;

export interface OffsetPreservingKafkaOptions {
  brokers: string[];
  /** Target topic and partition (the source's partition). */
  topic: string;
  partition: number;
  sourceTopic: string;
  sourcePartition: number;
  clientId: string;
  log: Logger;
  timestampMode?: TimestampMode;
}

interface TargetWatermarks {
  low: number;
  stable: number;
  high: number;
}

/**
 * The first source offset of `offsets` (a batch meant to hold [from, from + n)) that breaks the run, as
 * the gap [missingFrom, found - 1]; undefined when the offsets are exactly from, from + 1, ….
 */
export function firstGap(
  offsets: readonly number[],
  from: number,
): { missingFrom: number; found: number } | undefined {
  for (let i = 0; i < offsets.length; i++) {
    if (offsets[i] !== from + i) return { missingFrom: from + i, found: offsets[i]! };
  }
  return undefined;
}

/**
 * Where the next attempt of the batch being written starts: the high watermark when a failed attempt of
 * that batch (`pending`, starting at `expected`) landed its first records, inside [from + 1, to]; undefined
 * otherwise (nothing landed, all of it landed, or the target moved elsewhere: the core decides).
 */
export function resumePoint(
  pending: { from: number; to: number } | undefined,
  expected: number,
  high: number,
): number | undefined {
  if (!pending || pending.from !== expected) return undefined;
  return high > pending.from && high <= pending.to ? high : undefined;
}

export class OffsetPreservingKafkaDestination implements PartitionDestination<KafkaBatch> {
  readonly location: string;
  /** The target knows records only: a batch ends at its last record (at the same offset as in the source). */
  readonly coversOffsets = false;
  private readonly kafka: Kafka;
  private admin: Admin | undefined;
  private producer: Producer | undefined;
  private connection: KafkaConnection | undefined;
  /** The batch a write is sending, while it has not fully landed. */
  private pending: { from: number; to: number } | undefined;
  /** Where the next attempt of `pending` starts: the high watermark a failed attempt left inside it. */
  private resumeAt: number | undefined;

  constructor(private readonly o: OffsetPreservingKafkaOptions) {
    this.location = `kafka://${o.topic}/${o.partition}`;
    this.kafka = targetKafka(o);
  }

  async inspect(startOffset: number): Promise<DestinationHead> {
    const w = await this.watermarks();
    if (w.high < startOffset) {
      throw new MirrorError(
        "MIRROR_DESTINATION_INVALID",
        `${this.location} ends at offset ${w.high}, below the configured start-offset ${startOffset}: an ` +
          "offset-preserving destination continues at its own end, where the next source offset must land",
        { file: this.location, expected: startOffset, actual: w.high },
      );
    }
    if (w.high > w.low) await this.checkLastEntry(w.high);
    return {
      next: w.high,
      last: w.high > w.low ? `${this.location}@${w.high - 1}` : undefined,
      facts: { target_low: w.low, target_high: w.high, mode: "offset-preserving" },
    };
  }

  async open(startOffset: number): Promise<DestinationHead> {
    await this.connectProducer();
    return this.inspect(startOffset);
  }

  async check(expected: number): Promise<DestinationHead> {
    const w = await this.watermarks();
    const last = w.high > w.low ? `${this.location}@${w.high - 1}` : undefined;
    const p = this.pending;
    this.resumeAt = resumePoint(p, expected, w.high);
    if (p && this.resumeAt !== undefined) {
      this.o.log.warn(
        { from: p.from, to: p.to, landed_to: this.resumeAt - 1 },
        "a failed write had landed part of the batch: the next attempt sends the rest",
      );
      return { next: expected, last, facts: { target_high: w.high } };
    }
    return { next: w.high, last, facts: { target_high: w.high } };
  }

  newBatch(): KafkaBatch {
    return new KafkaBatch(
      this.o.partition,
      this.o.sourceTopic,
      this.o.sourcePartition,
      this.o.timestampMode,
      false,
    );
  }

  async write(from: number, to: number, batch: KafkaBatch): Promise<string> {
    const gap = firstGap(batch.offsets, from);
    if (gap || batch.offsets.at(-1) !== to) {
      const missingTo = gap ? gap.found - 1 : to;
      const missingFrom = gap?.missingFrom ?? (batch.offsets.at(-1) ?? from - 1) + 1;
      const source = `${this.o.sourceTopic}/${this.o.sourcePartition}`;
      throw new MirrorError(
        "MIRROR_OFFSET_GONE",
        `offset(s) ${missingFrom}-${missingTo} of ${source} hold no record (compaction, or transaction markers ` +
          `and aborted records): ${this.location} is offset-preserving, so it cannot leave them out and keep ` +
          "target offsets equal to source offsets; mirror this topic with mode: transactional, or to a " +
          "filesystem or S3 destination",
        { expected: missingFrom, actual: gap?.found ?? missingFrom },
      );
    }
    const producer = this.producer ?? (await this.connectProducer());
    const { topic, partition } = this.o;
    const start = this.resumeAt !== undefined && this.pending?.from === from ? this.resumeAt : from;
    this.resumeAt = undefined;
    this.pending = { from, to };
    let at = start;
    try {
      for (const messages of batch.chunks(start - from)) {
        const meta = await producer.send({ topic, acks: -1, messages });
        const base = Number(meta.find((m) => m.partition === partition)?.baseOffset ?? NaN);
        if (base !== at) {
          throw new MirrorError(
            "MIRROR_DESTINATION_CHANGED",
            `${this.location} stored source offset ${at} at offset ${base}: another writer appended to the ` +
              `target partition, whose offsets no longer equal the source's from ${Math.min(at, base)} on ` +
              "(an offset-preserving destination has no fencing: one writer per target partition)",
            { destination: this.location, expected: at, actual: base, from, to },
          );
        }
        at += messages.length;
      }
    } catch (err) {
      if (err instanceof MirrorError) throw err;
      await this.discardProducer(); // the next attempt gets a new producer id; check() says what landed
      throw new Error(
        `cannot write source offsets ${at}-${to} to ${this.location}: ${(err as Error).message}`,
        { cause: err },
      );
    }
    this.pending = undefined;
    return `${this.location}@${start}-${to}`;
  }

  async close(): Promise<void> {
    await this.discardProducer();
    this.connection?.close();
    this.connection = undefined;
    const admin = this.admin;
    this.admin = undefined;
    await admin?.disconnect().catch(() => undefined);
  }

  private async connectProducer(): Promise<Producer> {
    await this.discardProducer();
    const producer = this.kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: kafkajs().Partitioners.DefaultPartitioner, // every record names its partition anyway
      allowAutoTopicCreation: false,
      retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 3000 },
    });
    try {
      await producer.connect();
    } catch (err) {
      await producer.disconnect().catch(() => undefined);
      throw new Error(
        `cannot connect an idempotent producer to ${this.o.brokers.join(",")}: ${(err as Error).message}`,
        { cause: err },
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

  /**
   * Low watermark, last stable offset and high watermark of the target partition. kafkajs lists offsets
   * read_committed only (the last stable offset), so the high watermark comes from an empty
   * read_uncommitted Fetch at the last stable offset, whose answer carries both.
   */
  private async watermarks(): Promise<TargetWatermarks> {
    if (this.admin === undefined) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    const { low, high: listed } = await targetOffsets(this.admin, this.o.topic, this.o.partition);
    const f = await this.fetchAt(listed, 1);
    if (f.lastStableOffset < f.highWatermark) {
      throw new MirrorError(
        "MIRROR_DESTINATION_INVALID",
        `${this.location} has an open transaction (last stable offset ${f.lastStableOffset}, high watermark ` +
          `${f.highWatermark}): another producer writes to it with transactions, whose markers take offsets; ` +
          "an offset-preserving destination needs the target partition to itself",
        { file: this.location, expected: f.highWatermark, actual: f.lastStableOffset },
      );
    }
    return { low, stable: f.lastStableOffset, high: f.highWatermark };
  }

  /**
   * The target's last offset must not be Conveyor's transactional mode's work: a transaction's record or
   * commit marker, or a record naming its source offset in a header. Such a target's offsets are not the
   * source's, so continuing it at its high watermark would misplace every record.
   */
  private async checkLastEntry(high: number): Promise<void> {
    const offset = high - 1;
    const f = await this.fetchAt(offset, 64 * 1024);
    const where = `${this.location}@${offset}`;
    const refuse = (what: string): never => {
      throw new MirrorError(
        "MIRROR_DESTINATION_INVALID",
        `${where} ${what}: its offsets are not the source's, so an offset-preserving mirror cannot continue ` +
          "it (use mode: transactional, or another topic)",
        { file: where },
      );
    };
    if (transactionalAt(f.records, offset)) refuse("was written in a transaction (the transactional mode?)");
    for (const r of recordsOf(f, offset)) {
      if (r.offset === offset && r.headers.some(([k]) => k === SOURCE_HEADER)) {
        refuse(`carries the ${SOURCE_HEADER} header of the transactional mode`);
      }
    }
  }

  /** One read_uncommitted Fetch of the target partition at `offset`, with a deadline. */
  private async fetchAt(offset: number, maxBytes: number): Promise<PartitionFetch> {
    const { topic, partition } = this.o;
    const connection = (this.connection ??= await this.connectToLeader());
    let timer: NodeJS.Timeout | undefined;
    try {
      const body = await Promise.race([
        connection.request(
          FETCH_API_KEY,
          FETCH_VERSION,
          encodeFetchRequest({
            topic,
            partition,
            offset,
            maxWaitMs: 0,
            minBytes: 0,
            maxBytes,
            readCommitted: false,
          }),
        ),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer from ${connection.address} within ${REQUEST_TIMEOUT_MS} ms`)),
            REQUEST_TIMEOUT_MS,
          );
        }),
      ]);
      const f = decodeFetchResponse(body, topic, partition);
      if (f.errorCode !== 0) {
        throw new Error(
          `fetching ${this.location}@${offset}: ${KAFKA_ERRORS[f.errorCode] ?? `error code ${f.errorCode}`}`,
        );
      }
      return f;
    } catch (err) {
      connection.close();
      this.connection = undefined;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private async connectToLeader(): Promise<KafkaConnection> {
    const { host, port } = await partitionLeader(this.kafka, this.o.topic, this.o.partition);
    return KafkaConnection.connect(host, port, this.o.clientId, REQUEST_TIMEOUT_MS);
  }
}
