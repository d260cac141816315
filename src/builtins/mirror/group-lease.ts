/**
 * The mirror's consumer group (`<group-id>.<mirror name>`) as a lease on its
 * partition: every process running the same mirror joins the group, the
 * assigner gives the partition to one member, and only that member copies.
 * A second process with the same config waits as a standby and takes over
 * when the first one's session ends. The group is only a lease: records are
 * fetched by the source itself (source-kafka.ts) and nothing is committed.
 *
 * The lease keeps writers of one config apart; the destination's own checks
 * (and the Kafka destination's fencing) still guard against every other writer.
 */
import type { Consumer, Kafka } from "kafkajs";
import type { Logger } from "../../telemetry/log";
import { singlePartitionAssigner } from "./kafkajs-support";

export interface LeaseEvents {
  /** This process holds the partition now (after a start, or when a standby takes over). */
  onAcquired(): void;
  /** The group gave the partition to another member, or the membership failed. */
  onLost(err: Error): void;
}

export class PartitionLease {
  private consumer: Consumer | undefined;
  /** This member holds the partition (as of the last rebalance). */
  held = false;
  private readonly sinceMs = Date.now();

  constructor(
    private readonly kafka: Kafka,
    private readonly groupId: string,
    private readonly topic: string,
    private readonly partition: number,
    private readonly log: Logger,
  ) {}

  /** Joins the group; resolves once joined (holding the partition or not: events say which). */
  async join(events: LeaseEvents): Promise<void> {
    const { topic, partition, groupId } = this;
    const consumer = this.kafka.consumer({
      groupId,
      partitionAssigners: [
        singlePartitionAssigner(topic, partition, () => ({ holds: this.held, sinceMs: this.sinceMs })),
      ],
      maxWaitTimeInMs: 500,
      maxBytesPerPartition: 1024, // it never fetches (paused); kept small in case it does before the pause
      sessionTimeout: 6_000, // the broker's minimum: a restarted mirror waits at most this for its old self
      rebalanceTimeout: 10_000,
      heartbeatInterval: 1000,
      // A fresh cluster answers COORDINATOR_LOAD_IN_PROGRESS while __consumer_offsets loads, which can take
      // a while on a busy machine: retry for ~30 s before the mirror fails with MIRROR_SOURCE_UNREACHABLE.
      retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 5000, restartOnFailure: async () => false },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      const mine = payload.memberAssignment[topic]?.includes(partition) ?? false;
      if (mine && !this.held) {
        this.held = true;
        this.log.info(
          { group: groupId, member: payload.memberId },
          "holding the partition (consumer group lease)",
        );
        events.onAcquired();
      } else if (!mine && this.held) {
        this.held = false;
        events.onLost(
          new Error(
            `consumer group ${groupId} no longer gives ${topic}/${partition} to this process ` +
              "(another member took it over, or the topic was deleted)",
          ),
        );
      } else if (!mine) {
        this.log.info(
          { group: groupId, member: payload.memberId },
          "standby: another member of the consumer group holds the partition; waiting for it to leave",
        );
      }
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      events.onLost(new Error(`consumer group ${groupId} membership failed: ${payload.error.message}`));
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined });
    consumer.pause([{ topic }]);
  }

  async leave(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    this.held = false;
    if (consumer) await consumer.disconnect();
  }
}
