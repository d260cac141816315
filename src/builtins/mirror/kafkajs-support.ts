/** Small kafkajs pieces the mirror shares: its log lines in pino, and a one-partition group assigner. */
import { AssignerProtocol, logLevel, type PartitionAssigner } from "kafkajs";
import type { Logger } from "../../telemetry/log";

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
