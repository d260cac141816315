/**
 * The Kafka source of a mirror: reads one partition from a given offset with
 * Fetch requests of its own (kafka-fetch-protocol.ts) to the partition's
 * leader, read_committed, and hands records to the mirror in offset order.
 *
 *   start: join the consumer group (the lease) ─► holding the partition: leader
 *          lookup (kafkajs admin: metadata + brokers) ─► connect
 *   loop:  response ─► next offset from the batch headers ─► send the next fetch
 *          ─► decode this response's records ─► await onRecords (backpressure:
 *          at most one fetch is in flight while the mirror works)
 *   errors: a lost connection, a moved leader or an unknown partition are retried
 *          (new lookup, backoff) for `retryBudgetMs`, then onCrash; an offset out
 *          of range goes to onCrash at once as SourceOffsetOutOfRange (the core
 *          names the watermark).
 *
 * Nothing is committed to Kafka: the destination is the checkpoint. The
 * mirror's consumer group is joined only as a lease (group-lease.ts), so two
 * processes with the same config do not both copy; records never go through it.
 */
import type { Kafka } from "kafkajs";
import type { Logger } from "../../telemetry/log";
import { Backoff, sleep } from "../../backoff";
import { PartitionLease } from "./group-lease";
import { KafkaConnection } from "./kafka-connection";
import {
  decodeFetchResponse,
  encodeFetchRequest,
  FETCH_API_KEY,
  FETCH_VERSION,
  KAFKA_ERRORS,
  nextFetchOffset,
  OFFSET_OUT_OF_RANGE,
  recordsOf,
  type PartitionFetch,
} from "./kafka-fetch-protocol";
import { kafkajs, kafkaLogCreator, partitionLeader } from "./kafkajs-support";
import type { MirrorRecord } from "./record-line";

export interface Watermarks {
  low: number;
  high: number;
}

export interface PartitionSource {
  watermarks(): Promise<Watermarks>;
  /** The high watermark the broker named in its last fetch answer (undefined before the first). */
  lastHighWatermark?(): number | undefined;
  /**
   * Starts reading once this process may copy the partition: then it calls
   * `takeOver` (which opens the destination and resolves with the offset to
   * read from) and delivers records from there on; `onRecords` is awaited
   * before more are fetched. With each call, `through`: every offset below it
   * has been read from the broker's answers, contiguously from the takeOver
   * offset, so an offset below it without a record holds none (removed by
   * compaction, a transaction marker, an aborted record). Rejects when the
   * first takeOver does.
   */
  start(
    takeOver: () => Promise<number>,
    onRecords: (records: MirrorRecord[], through: number) => Promise<void>,
    onCrash: (err: Error) => void,
  ): Promise<void>;
  stop(): Promise<void>;
}

/** The source has no record at the offset the mirror needs (retention, compaction, a re-created topic). */
export class SourceOffsetOutOfRange extends Error {
  constructor(readonly offset: number) {
    super(`offset ${offset} is out of range in the source`);
    this.name = "SourceOffsetOutOfRange";
  }
}

export interface KafkaSourceOptions {
  brokers: string[];
  /** The consumer group used as a lease on the partition (group-lease.ts). */
  groupId: string;
  topic: string;
  partition: number;
  clientId: string;
  log: Logger;
  /** How long the source keeps trying to reach the partition's leader before it gives up (default 30 s). */
  retryBudgetMs?: number;
  /** Most bytes one fetch returns (default 4 MiB; a bigger first batch still comes whole). */
  fetchMaxBytes?: number;
}

const CONNECT_TIMEOUT_MS = 3000;
const MAX_WAIT_MS = 500;
/** Records handed to the mirror per call: a fetch holds thousands, and only a slice of them is alive at once. */
const SLICE = 256;

export class KafkaPartitionSource implements PartitionSource {
  private readonly kafka: Kafka;
  private connection: KafkaConnection | undefined;
  private lease: PartitionLease | undefined;
  /** stop() was called: errors are no longer reported. */
  private stopping = false;
  /** Fetching must end (stopped, or the lease was lost). */
  private halted = false;
  private loop: Promise<void> | undefined;
  private lastHigh: number | undefined;

  constructor(private readonly options: KafkaSourceOptions) {
    const { Kafka, logLevel } = kafkajs();
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      logCreator: kafkaLogCreator(options.log),
      logLevel: logLevel.WARN,
      connectionTimeout: CONNECT_TIMEOUT_MS,
      retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5000 },
    });
  }

  lastHighWatermark(): number | undefined {
    return this.lastHigh;
  }

  async watermarks(): Promise<Watermarks> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(this.options.topic);
      const p = offsets.find((o) => o.partition === this.options.partition);
      if (!p) throw new Error(`topic ${this.options.topic} has no partition ${this.options.partition}`);
      return { low: Number(p.low), high: Number(p.high) };
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Joins the mirror's consumer group (the lease). Holding the partition at
   * once, it takes over before resolving; otherwise it resolves as a standby
   * and takes over when the group hands it the partition. Losing the
   * partition, or fetching failing past the retry budget, goes to onCrash.
   */
  async start(
    takeOver: () => Promise<number>,
    onRecords: (records: MirrorRecord[], through: number) => Promise<void>,
    onCrash: (err: Error) => void,
  ): Promise<void> {
    this.stopping = this.halted = false;
    const crash = (err: unknown): void => {
      if (!this.stopping) onCrash(err instanceof Error ? err : new Error(String(err)));
    };
    const begin = async (): Promise<void> => {
      const from = await takeOver();
      await this.reconnect();
      this.loop = this.run(from, onRecords).catch(crash);
    };
    let joined = false;
    const { topic, partition, groupId, log } = this.options;
    this.lease = new PartitionLease(this.kafka, groupId, topic, partition, log);
    await this.lease.join({
      onAcquired: () => {
        if (joined) this.loop = begin().catch(crash); // a standby taking over
      },
      onLost: (err) => {
        this.halted = true;
        this.connection?.close();
        crash(err);
      },
    });
    joined = true;
    if (this.lease.held) await begin();
  }

  async stop(): Promise<void> {
    this.stopping = this.halted = true;
    this.connection?.close();
    await this.loop;
    await this.lease?.leave();
  }

  private async run(
    from: number,
    onRecords: (records: MirrorRecord[], through: number) => Promise<void>,
  ): Promise<void> {
    let offset = from;
    let inFlight = this.fetch(offset);
    const backoff = new Backoff(200, 5000);
    let failingSince: number | undefined;
    while (!this.halted) {
      let fetched: PartitionFetch;
      try {
        fetched = await inFlight;
        if (fetched.errorCode === OFFSET_OUT_OF_RANGE) throw new SourceOffsetOutOfRange(offset);
        if (fetched.errorCode !== 0) {
          throw new Error(
            `fetch of ${this.options.topic}/${this.options.partition} at offset ${offset} failed: ` +
              `${KAFKA_ERRORS[fetched.errorCode] ?? "Kafka error"} (code ${fetched.errorCode})`,
          );
        }
      } catch (err) {
        if (this.halted || err instanceof SourceOffsetOutOfRange) throw err;
        failingSince ??= Date.now();
        const budget = this.options.retryBudgetMs ?? 30_000;
        if (Date.now() - failingSince >= budget) {
          throw new Error(`${(err as Error).message} (still failing after ${budget} ms)`, { cause: err });
        }
        const delay = backoff.next();
        this.options.log.warn({ err, delay_ms: delay, offset }, "source fetch failed; reconnecting");
        this.connection?.close();
        await sleep(delay);
        if (this.halted) return;
        inFlight = this.reconnect().then(() => this.fetch(offset));
        continue;
      }
      failingSince = undefined;
      backoff.reset();
      this.lastHigh = fetched.highWatermark;
      this.options.log.debug(
        { offset, bytes: fetched.records.length, high: fetched.highWatermark, lso: fetched.lastStableOffset },
        "fetched",
      );
      // Ask for the next records before decoding these, so the broker works while we do. `next` is where the
      // complete batches of this answer end: the broker returns a partition's batches in log order from the
      // one holding `offset`, so every offset in [offset, next) without a record in them holds none.
      const next = nextFetchOffset(fetched.records, offset);
      inFlight = this.fetch(next);
      inFlight.catch(() => undefined); // handled when awaited
      let slice: MirrorRecord[] = [];
      for (const record of recordsOf(fetched, offset)) {
        slice.push(record);
        if (slice.length === SLICE) {
          await onRecords(slice, record.offset + 1);
          slice = [];
          if (this.halted) return;
        }
      }
      if (slice.length > 0 || next > offset) await onRecords(slice, next);
      offset = next;
    }
  }

  private async fetch(offset: number): Promise<PartitionFetch> {
    const connection = this.connection;
    if (!connection) throw new Error("source is not connected");
    const { topic, partition } = this.options;
    const body = await connection.request(
      FETCH_API_KEY,
      FETCH_VERSION,
      encodeFetchRequest({
        topic,
        partition,
        offset,
        maxWaitMs: MAX_WAIT_MS,
        minBytes: 1,
        maxBytes: this.options.fetchMaxBytes ?? 4 * 1024 * 1024,
        readCommitted: true,
      }),
    );
    return decodeFetchResponse(body, topic, partition);
  }

  /** A new connection to the leader; closed at once when fetching was halted meanwhile. */
  private async reconnect(): Promise<void> {
    const connection = await this.connectToLeader();
    if (this.halted) {
      connection.close();
      throw new Error("source stopped");
    }
    this.connection = connection;
  }

  /** The partition leader's address from the cluster metadata, then a connection to it. */
  private async connectToLeader(): Promise<KafkaConnection> {
    const { host, port } = await partitionLeader(this.kafka, this.options.topic, this.options.partition);
    return KafkaConnection.connect(host, port, this.options.clientId, CONNECT_TIMEOUT_MS);
  }
}
