/**
 * Wiring: a MirrorPlan → source + destination adapters → PartitionMirror, and
 * running every mirror of a config in one process until SIGTERM (flush, exit 0)
 * or the first failure (the others are stopped and flushed, exit 1).
 */
import { createLogger, type Logger } from "../../telemetry/log";
import type { DestinationSpec, MirrorPlan } from "./config";
import type { PartitionDestination } from "./destination";
import { FilesystemSegmentStore } from "./destination-filesystem";
import { SegmentDestination, type SegmentOptions } from "./destination-segments";
import { MirrorError } from "./mirror-error";
import { PartitionMirror, type PartitionMirrorOptions } from "./partition-mirror";
import { KafkaPartitionSource } from "./source-kafka";

export function createDestination(
  spec: DestinationSpec,
  plan: MirrorPlan,
  log: Logger,
): PartitionDestination {
  switch (spec.type) {
    case "filesystem":
      return new SegmentDestination(
        new FilesystemSegmentStore(spec.root ?? ".", plan.destinationName, plan.partition),
        segmentOptions(spec, plan),
      );
    case "s3": {
      // The AWS SDK loads only when an S3 destination is made (a sidecar without one never loads it).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { S3SegmentStore } = require("./destination-s3") as typeof import("./destination-s3");
      return new SegmentDestination(
        new S3SegmentStore({
          bucket: spec.bucket ?? "",
          prefix: spec.prefix,
          destinationName: plan.destinationName,
          partition: plan.partition,
          ...(spec.endpoint !== undefined ? { endpoint: spec.endpoint } : {}),
          ...(spec.region !== undefined ? { region: spec.region } : {}),
        }),
        segmentOptions(spec, plan),
      );
    }
    case "kafka": {
      if (spec.kafkaMode === "offset-preserving") {
        const { OffsetPreservingKafkaDestination } =
          // eslint-disable-next-line @typescript-eslint/no-require-imports -- kafkajs loads with it
          require("./destination-kafka-offsets") as typeof import("./destination-kafka-offsets");
        return new OffsetPreservingKafkaDestination({
          brokers: spec.bootstrapServers,
          topic: plan.destinationName,
          partition: plan.partition,
          sourceTopic: plan.topic,
          sourcePartition: plan.partition,
          clientId: `conveyor-mirror-${plan.name}-target`,
          log,
          timestampMode: spec.timestampMode,
        });
      }
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- kafkajs loads with it
      const { KafkaDestination } = require("./destination-kafka") as typeof import("./destination-kafka");
      return new KafkaDestination({
        brokers: spec.bootstrapServers,
        topic: plan.destinationName,
        partition: plan.partition,
        sourceTopic: plan.topic,
        sourcePartition: plan.partition,
        tailGroupId: `${plan.groupId}.target`,
        clientId: `conveyor-mirror-${plan.name}-target`,
        log,
        timestampMode: spec.timestampMode,
      });
    }
  }
}

function segmentOptions(spec: DestinationSpec, plan: MirrorPlan): SegmentOptions {
  return {
    topic: plan.topic,
    partition: plan.partition,
    compression: spec.compression,
    ...(spec.format !== undefined ? { format: spec.format } : {}),
  };
}

export interface MirrorTuning {
  heartbeatMs?: number;
  /** How long an unreachable destination is retried before the mirror fails (default 30 s). */
  retryBudgetMs?: number;
  onFlush?: PartitionMirrorOptions["onFlush"];
}

export function createMirror(plan: MirrorPlan, log: Logger, tuning: MirrorTuning = {}): PartitionMirror {
  const mlog = log.child({ mirror: plan.name, topic: plan.topic, partition: plan.partition });
  return new PartitionMirror({
    name: plan.name,
    topic: plan.topic,
    partition: plan.partition,
    startOffset: plan.startOffset,
    flush: plan.flush,
    source: new KafkaPartitionSource({
      brokers: plan.sourceBrokers,
      groupId: plan.groupId,
      topic: plan.topic,
      partition: plan.partition,
      clientId: `conveyor-mirror-${plan.name}`,
      log: mlog,
    }),
    destination: createDestination(plan.destination, plan, mlog),
    log: mlog,
    ...(tuning.heartbeatMs !== undefined ? { heartbeatMs: tuning.heartbeatMs } : {}),
    ...(tuning.retryBudgetMs !== undefined ? { retryBudgetMs: tuning.retryBudgetMs } : {}),
    ...(tuning.onFlush !== undefined ? { onFlush: tuning.onFlush } : {}),
  });
}

export interface RunOptions extends MirrorTuning {
  log?: Logger;
  /** Resolves to stop every mirror gracefully (the CLI passes a SIGTERM/SIGINT promise). */
  stopSignal: Promise<unknown>;
}

/** Runs every plan until stopSignal or a failure; resolves with the failures (empty = clean stop). */
export async function runMirrors(plans: MirrorPlan[], options: RunOptions): Promise<MirrorError[]> {
  const log = options.log ?? createLogger("mirror");
  const mirrors = plans.map((p) => createMirror(p, log, options));
  const failures: MirrorError[] = [];
  let stopping = false;
  const stopAll = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await Promise.all(mirrors.map((m) => m.stop()));
  };
  // allSettled: a mirror still starting when another fails must be started before it can be stopped.
  const started = await Promise.allSettled(mirrors.map((m) => m.start()));
  for (const r of started) {
    if (r.status === "rejected") {
      failures.push(
        r.reason instanceof MirrorError
          ? r.reason
          : new MirrorError("MIRROR_SOURCE_UNREACHABLE", String(r.reason), {}, { cause: r.reason }),
      );
    }
  }
  if (failures.length > 0) {
    await stopAll();
    return collect(mirrors, failures);
  }
  log.info({ mirrors: plans.map((p) => p.name) }, `running ${plans.length} mirror(s)`);
  const firstFailure = Promise.race(
    mirrors.map((m) =>
      m.finished.then((err) => (err ? Promise.resolve(err) : new Promise<never>(() => undefined))),
    ),
  );
  await Promise.race([options.stopSignal, firstFailure]);
  await stopAll();
  return collect(mirrors, failures);
}

function collect(mirrors: PartitionMirror[], failures: MirrorError[]): MirrorError[] {
  for (const m of mirrors) if (m.error && !failures.includes(m.error)) failures.push(m.error);
  return failures;
}
