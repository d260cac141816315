/**
 * `conveyor mirror status`: for each mirror, the source high watermark, the
 * destination's next offset (validated chain) and the lag; a mirror whose
 * source or destination is in a state that stops it is reported as an error.
 */
import { Kafka, logLevel } from "kafkajs";
import type { MirrorPlan } from "./config";
import { MirrorError } from "./mirror-error";
import { createDestination } from "./runner";
import { createLogger } from "../../telemetry/log";

export interface MirrorStatus {
  mirror: string;
  topic: string;
  partition: number;
  sourceLow: number | null;
  sourceHigh: number | null;
  destNext: number | null;
  lag: number | null;
  error: string | null;
}

async function watermarks(plan: MirrorPlan): Promise<{ low: number; high: number }> {
  const kafka = new Kafka({
    clientId: "conveyor-mirror-status",
    brokers: plan.sourceBrokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 2 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(plan.topic);
    const p = offsets.find((o) => o.partition === plan.partition);
    if (!p) throw new Error(`topic ${plan.topic} has no partition ${plan.partition}`);
    return { low: Number(p.low), high: Number(p.high) };
  } finally {
    await admin.disconnect();
  }
}

export async function mirrorStatus(plan: MirrorPlan): Promise<MirrorStatus> {
  const status: MirrorStatus = {
    mirror: plan.name,
    topic: plan.topic,
    partition: plan.partition,
    sourceLow: null,
    sourceHigh: null,
    destNext: null,
    lag: null,
    error: null,
  };
  const problems: string[] = [];
  try {
    const destination = createDestination(plan.destination, plan, createLogger("mirror-status"));
    try {
      status.destNext = (await destination.inspect(plan.startOffset)).next;
    } finally {
      await destination.close();
    }
  } catch (err) {
    problems.push(err instanceof MirrorError ? err.message : `destination: ${(err as Error).message}`);
  }
  try {
    const wm = await watermarks(plan);
    status.sourceLow = wm.low;
    status.sourceHigh = wm.high;
  } catch (err) {
    problems.push(`source: ${(err as Error).message}`);
  }
  if (status.sourceHigh !== null && status.destNext !== null && status.sourceLow !== null) {
    status.lag = status.sourceHigh - status.destNext;
    if (status.sourceHigh < status.destNext) {
      problems.push(
        `source went backwards: high watermark ${status.sourceHigh} < destination next ${status.destNext}`,
      );
    } else if (status.sourceLow > status.destNext) {
      problems.push(`offset ${status.destNext} is gone from the source (low watermark ${status.sourceLow})`);
    }
  }
  if (problems.length > 0) status.error = problems.join("; ");
  return status;
}

/**
 * One row of `status --format json`: mirror-v3's keys (name, source_high,
 * dest_next, and error only when there is one), then Conveyor's extras in the
 * same snake_case (topic, partition, source_low, lag; lag not clamped).
 */
export interface MirrorStatusJson {
  name: string;
  source_high: number | null;
  dest_next: number | null;
  error?: string;
  topic: string;
  partition: number;
  source_low: number | null;
  lag: number | null;
}

export function statusJson(rows: MirrorStatus[]): MirrorStatusJson[] {
  return rows.map((r) => ({
    name: r.mirror,
    source_high: r.sourceHigh,
    dest_next: r.destNext,
    ...(r.error !== null ? { error: r.error } : {}),
    topic: r.topic,
    partition: r.partition,
    source_low: r.sourceLow,
    lag: r.lag,
  }));
}

function cell(v: number | null): string {
  return v === null ? "-" : String(v);
}

/** The status table: MIRROR, PARTITION, SOURCE-HIGH, DEST-NEXT, LAG (and ERROR when any). */
export function formatStatusTable(rows: MirrorStatus[]): string {
  const withError = rows.some((r) => r.error !== null);
  const header = ["MIRROR", "PARTITION", "SOURCE-HIGH", "DEST-NEXT", "LAG", ...(withError ? ["ERROR"] : [])];
  const body = rows.map((r) => [
    r.mirror,
    `${r.topic}/${r.partition}`,
    cell(r.sourceHigh),
    cell(r.destNext),
    cell(r.lag),
    ...(withError ? [r.error ?? ""] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [header, ...body]
    .map((cols) =>
      cols
        .map((c, i) => (i === cols.length - 1 ? c : c.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")
    .concat("\n");
}
