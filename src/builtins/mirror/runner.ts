/**
 * Wiring: a MirrorPlan → source + destination adapters → PartitionMirror, and
 * running every mirror of a config in one process until SIGTERM (flush, exit 0)
 * or the first failure (the others are stopped and flushed, exit 1).
 */
import { createLogger, type Logger } from "../../telemetry/log";
import type { DestinationSpec, MirrorPlan } from "./config";
import type { PartitionDestination } from "./destination";
import { FilesystemDestination } from "./destination-filesystem";
import { MirrorError } from "./mirror-error";
import { PartitionMirror } from "./partition-mirror";
import { KafkaPartitionSource } from "./source-kafka";

export class NotBuiltError extends Error {}

export function createDestination(spec: DestinationSpec, plan: MirrorPlan): PartitionDestination {
  switch (spec.type) {
    case "filesystem":
      return new FilesystemDestination(spec.root ?? ".", plan.destinationName, plan.partition);
    case "s3":
    case "kafka":
      throw new NotBuiltError(`destination type "${spec.type}" is not built yet (see docs/mirror.md)`);
  }
}

export function createMirror(plan: MirrorPlan, log: Logger, heartbeatMs?: number): PartitionMirror {
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
    destination: createDestination(plan.destination, plan),
    log: mlog,
    ...(heartbeatMs !== undefined ? { heartbeatMs } : {}),
  });
}

export interface RunOptions {
  log?: Logger;
  heartbeatMs?: number;
  /** Resolves to stop every mirror gracefully (the CLI passes a SIGTERM/SIGINT promise). */
  stopSignal: Promise<unknown>;
}

/** Runs every plan until stopSignal or a failure; resolves with the failures (empty = clean stop). */
export async function runMirrors(plans: MirrorPlan[], options: RunOptions): Promise<MirrorError[]> {
  const log = options.log ?? createLogger("mirror");
  for (const plan of plans) createDestination(plan.destination, plan); // fail fast on what is not built
  const mirrors = plans.map((p) => createMirror(p, log, options.heartbeatMs));
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
