/**
 * The Kafka source of a mirror, behind a small adapter so the client library
 * (kafkajs today) can be swapped. One consumer per mirrored partition, in its
 * own consumer group (`<group-id>.<mirror name>`) whose assigner hands exactly
 * that partition to one member; nothing is committed to Kafka: the
 * destination is the checkpoint, and the consumer seeks there on start.
 */
import {
  AssignerProtocol,
  Kafka,
  logLevel,
  type Consumer,
  type IHeaders,
  type PartitionAssigner,
} from "kafkajs";
import type { Logger } from "../../telemetry/log";
import type { MirrorRecord } from "./record-line";

export interface Watermarks {
  low: number;
  high: number;
}

export interface PartitionSource {
  watermarks(): Promise<Watermarks>;
  /** Starts delivering records from `from` on; `onRecords` is awaited before more are fetched. */
  start(
    from: number,
    onRecords: (records: MirrorRecord[]) => Promise<void>,
    onCrash: (err: Error) => void,
  ): Promise<void>;
  stop(): Promise<void>;
}

export interface KafkaSourceOptions {
  brokers: string[];
  groupId: string;
  topic: string;
  partition: number;
  clientId: string;
  log: Logger;
}

/** kafkajs log lines into our pino logger (warnings and errors only). */
export function kafkaLogCreator(
  log: Logger,
): () => (entry: { level: logLevel; log: { message: string } }) => void {
  return () =>
    ({ level, log: entry }) => {
      const { message, ...rest } = entry;
      if (level === logLevel.ERROR) log.error({ kafkajs: rest }, `kafkajs: ${message}`);
      else if (level === logLevel.WARN) log.warn({ kafkajs: rest }, `kafkajs: ${message}`);
    };
}

export function singlePartitionAssigner(topic: string, partition: number): PartitionAssigner {
  const name = "ConveyorMirrorAssigner";
  return () => ({
    name,
    version: 1,
    async assign({ members }) {
      const sorted = [...members].sort((a, b) => a.memberId.localeCompare(b.memberId));
      return sorted.map((m, i) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: i === 0 ? { [topic]: [partition] } : {},
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return {
        name,
        metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }),
      };
    },
  });
}

function headerPairs(headers: IHeaders | undefined): Array<[string, Buffer]> {
  const pairs: Array<[string, Buffer]> = [];
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v])
      pairs.push([k, Buffer.isBuffer(one) ? one : Buffer.from(one)]);
  }
  return pairs;
}

export class KafkaPartitionSource implements PartitionSource {
  private readonly kafka: Kafka;
  private consumer: Consumer | undefined;

  constructor(private readonly options: KafkaSourceOptions) {
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      logCreator: kafkaLogCreator(options.log),
      connectionTimeout: 3000,
      retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5000 },
    });
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

  async start(
    from: number,
    onRecords: (records: MirrorRecord[]) => Promise<void>,
    onCrash: (err: Error) => void,
  ): Promise<void> {
    const { topic, partition } = this.options;
    const consumer = this.kafka.consumer({
      groupId: this.options.groupId,
      partitionAssigners: [singlePartitionAssigner(topic, partition)],
      maxWaitTimeInMs: 200,
      // Bigger fetches than kafkajs' 1 MiB default: fewer round trips when catching up.
      maxBytesPerPartition: 8 * 1024 * 1024,
      maxBytes: 16 * 1024 * 1024,
      sessionTimeout: 6_000, // the broker's minimum: a restarted mirror waits at most this for its old self
      rebalanceTimeout: 10_000,
      heartbeatInterval: 1000,
      // A fresh cluster answers COORDINATOR_LOAD_IN_PROGRESS while __consumer_offsets loads, which can take
      // a while on a busy machine: retry for ~30 s before the mirror fails with MIRROR_SOURCE_UNREACHABLE.
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 5000, restartOnFailure: async () => false },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (event) => {
      onCrash(event.payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
        if (batch.partition !== partition || !isRunning() || isStale()) return;
        const records: MirrorRecord[] = batch.messages.map((m) => ({
          offset: Number(m.offset),
          timestamp: Number(m.timestamp),
          key: m.key ?? null,
          value: m.value ?? null,
          headers: headerPairs(m.headers),
        }));
        await onRecords(records);
        const last = batch.messages.at(-1);
        if (last) resolveOffset(last.offset);
        await heartbeat();
      },
    });
    consumer.seek({ topic, partition, offset: String(from) });
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    if (consumer) await consumer.disconnect();
  }
}
