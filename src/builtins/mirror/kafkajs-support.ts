/**
 * Small kafkajs pieces the mirror shares: kafkajs itself, loaded on first use (a sidecar loads it only
 * once a Kafka mirror is placed on it), its log lines in pino, and a one-partition group assigner.
 */
import type { Kafka, logLevel, PartitionAssigner } from "kafkajs";
import type { Logger } from "../../telemetry/log";

/** The kafkajs module, required on first call rather than when this file loads. */
export function kafkajs(): typeof import("kafkajs") {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when a Kafka client is made
  return require("kafkajs") as typeof import("kafkajs");
}

/** kafkajs log lines into our pino logger (warnings and errors only). */
export function kafkaLogCreator(
  log: Logger,
): () => (entry: { level: logLevel; log: { message: string } }) => void {
  return () =>
    ({ level, log: entry }) => {
      const { logLevel } = kafkajs();
      const { message, ...rest } = entry;
      if (level === logLevel.ERROR) log.error({ kafkajs: rest }, `kafkajs: ${message}`);
      else if (level === logLevel.WARN) log.warn({ kafkajs: rest }, `kafkajs: ${message}`);
    };
}

/** The address of a partition's leader, from the cluster metadata. */
export async function partitionLeader(
  kafka: Kafka,
  topic: string,
  partition: number,
): Promise<{ host: string; port: number }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [metadata, cluster] = await Promise.all([
      admin.fetchTopicMetadata({ topics: [topic] }),
      admin.describeCluster(),
    ]);
    const p = metadata.topics[0]?.partitions.find((x) => x.partitionId === partition);
    if (!p) throw new Error(`topic ${topic} has no partition ${partition}`);
    const leader = cluster.brokers.find((b) => b.nodeId === p.leader);
    if (!leader) throw new Error(`${topic}/${partition} has no leader right now (leader id ${p.leader})`);
    return { host: leader.host, port: leader.port };
  } finally {
    await admin.disconnect();
  }
}

/** What a member tells the group leader when it joins: does it hold the partition, and since when is it up. */
export interface PartitionClaim {
  holds: boolean;
  sinceMs: number;
}

/**
 * Gives the one partition to one member: the member that says it holds it
 * already (so a rebalance, e.g. a standby joining, never moves it from a live
 * holder), else the longest-running member, then the smallest member id.
 */
export function singlePartitionAssigner(
  topic: string,
  partition: number,
  claim: () => PartitionClaim = () => ({ holds: false, sinceMs: 0 }),
): PartitionAssigner {
  const name = "ConveyorMirrorAssigner";
  const { AssignerProtocol } = kafkajs();
  return () => ({
    name,
    version: 2,
    async assign({ members }) {
      const ranked = members
        .map((m) => ({ memberId: m.memberId, claim: decodeClaim(m.memberMetadata) }))
        .sort(
          (a, b) =>
            Number(b.claim.holds) - Number(a.claim.holds) ||
            a.claim.sinceMs - b.claim.sinceMs ||
            a.memberId.localeCompare(b.memberId),
        );
      return ranked.map((m, i) => ({
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
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: 2,
          topics,
          userData: Buffer.from(JSON.stringify(claim())),
        }),
      };
    },
  });
}

function decodeClaim(metadata: Buffer): PartitionClaim {
  try {
    const { AssignerProtocol } = kafkajs();
    const parsed = JSON.parse(AssignerProtocol.MemberMetadata.decode(metadata)?.userData.toString() ?? "") as
      Partial<PartitionClaim> | undefined;
    return { holds: parsed?.holds === true, sinceMs: Number(parsed?.sinceMs ?? Number.MAX_SAFE_INTEGER) };
  } catch {
    return { holds: false, sinceMs: Number.MAX_SAFE_INTEGER }; // an older member (empty user data): last
  }
}
