/**
 * Per-stage counters on this sidecar: exported to Prometheus and reported to
 * the router in every heartbeat (SidecarStatus.stages) for `conveyor status`,
 * `conveyor top` and the console. Besides the totals: bytes in, records in
 * flight, records sent to the stage over a peer hop, the stage's own call
 * latency per record (a fixed-bucket histogram the router can merge), and the
 * last RECENT_ERRORS errors (code, message, record id, attempt, time).
 * Memory: a few hundred bytes per stage plus at most RECENT_ERRORS short
 * messages (each cut to MAX_ERROR_MESSAGE characters).
 */
import { errorCodeLabel } from "../src/errors";
import { metrics } from "../src/telemetry/metrics";
import { LATENCY_BOUNDS_MS, LatencyHistogram } from "../src/telemetry/latency-histogram";
import type { MirrorProgress as MirrorProgressProto } from "../src/generated/conveyor/v1/MirrorProgress";
import type { StageError } from "../src/generated/conveyor/v1/StageError";
import type { MirrorProgress } from "../src/stages/contract";
import type { StageStatus } from "../src/generated/conveyor/v1/StageStatus";

export const RECENT_ERRORS = 10;
export const MAX_ERROR_MESSAGE = 300;

/** Where an error was met, when the caller knows: the first failed record and its attempt. */
export interface ErrorContext {
  recordId?: string;
  attempt?: number;
}

interface Counters {
  pipeline: string;
  stage: string;
  recordsIn: number;
  recordsOut: number;
  errors: number;
  lastError: string;
  dlqCount: number;
  state: "running" | "stopped" | "error";
  bytesIn: number;
  inFlight: number;
  recordsPeer: number;
  latency: LatencyHistogram;
  recentErrors: StageError[];
}

export class StageStats {
  private readonly stages = new Map<string, Counters>();
  /** Per stage key: where its mirrors stand (a `builtin: mirror` source's reader), read at each snapshot. */
  private readonly mirrorReaders = new Map<string, () => MirrorProgress[]>();

  constructor(private readonly clock: () => number = Date.now) {}

  private get(pipeline: string, stage: string): Counters {
    const key = `${pipeline}\u0000${stage}`;
    let c = this.stages.get(key);
    if (!c) {
      c = {
        pipeline,
        stage,
        recordsIn: 0,
        recordsOut: 0,
        errors: 0,
        lastError: "",
        dlqCount: 0,
        state: "running",
        bytesIn: 0,
        inFlight: 0,
        recordsPeer: 0,
        latency: new LatencyHistogram(),
        recentErrors: [],
      };
      this.stages.set(key, c);
    }
    return c;
  }

  in(pipeline: string, stage: string, n: number, bytes = 0): void {
    const c = this.get(pipeline, stage);
    c.recordsIn += n;
    c.bytesIn += bytes;
    metrics.stageRecordsIn.labels(pipeline, stage).inc(n);
  }

  out(pipeline: string, stage: string, n: number): void {
    this.get(pipeline, stage).recordsOut += n;
    metrics.stageRecordsOut.labels(pipeline, stage).inc(n);
  }

  /** `n` records entered the stage here and are not confirmed yet; call the result once they are (or failed). */
  begin(pipeline: string, stage: string, n: number): () => void {
    const c = this.get(pipeline, stage);
    c.inFlight += n;
    return () => {
      c.inFlight -= n;
    };
  }

  /** A source's records read and not yet acked. */
  setInFlight(pipeline: string, stage: string, n: number): void {
    this.get(pipeline, stage).inFlight = n;
  }

  /** The stage's own call took `ms` for `n` records. */
  latency(pipeline: string, stage: string, ms: number, n: number): void {
    this.get(pipeline, stage).latency.observe(ms, n);
  }

  /** `n` records were sent to the stage over a peer hop. */
  peer(pipeline: string, stage: string, n: number): void {
    this.get(pipeline, stage).recordsPeer += n;
  }

  error(pipeline: string, stage: string, code: string, message: string, n = 1, at: ErrorContext = {}): void {
    const c = this.get(pipeline, stage);
    c.errors += n;
    c.lastError = `${code}: ${message}`;
    c.recentErrors.push({
      code,
      message: message.length > MAX_ERROR_MESSAGE ? `${message.slice(0, MAX_ERROR_MESSAGE - 1)}…` : message,
      recordId: at.recordId ?? "",
      attempt: at.attempt ?? 0,
      timeMs: this.clock(),
      records: n,
    });
    if (c.recentErrors.length > RECENT_ERRORS) c.recentErrors.shift();
    // A user stage's own code stays in lastError (and the logs, the _dlq_error header); the label is bounded.
    metrics.stageErrors.labels(pipeline, stage, errorCodeLabel(code)).inc(n);
  }

  retried(pipeline: string, stage: string, n: number): void {
    metrics.stageRetries.labels(pipeline, stage).inc(n);
  }

  deadLettered(pipeline: string, stage: string, n: number): void {
    this.get(pipeline, stage).dlqCount += n;
    metrics.deadLettered.labels(pipeline, stage).inc(n);
  }

  state(pipeline: string, stage: string): Counters["state"] {
    return this.get(pipeline, stage).state;
  }

  setState(pipeline: string, stage: string, state: Counters["state"]): void {
    this.get(pipeline, stage).state = state;
  }

  /** The stage's reader reports mirror progress (undefined: it stopped, report none). */
  setMirrors(pipeline: string, stage: string, read: (() => MirrorProgress[]) | undefined): void {
    const key = `${pipeline}\u0000${stage}`;
    this.get(pipeline, stage);
    if (read) this.mirrorReaders.set(key, read);
    else this.mirrorReaders.delete(key);
  }

  snapshot(): StageStatus[] {
    return [...this.stages.entries()].map(([key, { latency, recentErrors, ...c }]) => ({
      ...c,
      latencyBoundsMs: latency.total > 0 ? [...LATENCY_BOUNDS_MS] : [],
      latencyCounts: latency.total > 0 ? [...latency.counts] : [],
      recentErrors: [...recentErrors],
      mirrors: (this.mirrorReaders.get(key)?.() ?? []).map(mirrorProto),
    }));
  }
}

/** The wire form: -1 and 0 for "not known yet" (proto/conveyor/v1/router.proto, MirrorProgress). */
export function mirrorProto(m: MirrorProgress): MirrorProgressProto {
  return {
    name: m.name,
    topic: m.topic,
    partition: m.partition,
    sourceHigh: m.sourceHigh ?? -1,
    destNext: m.destNext ?? -1,
    lastFlushMs: m.lastFlushMs ?? 0,
    state: m.state,
    error: m.error,
  };
}

/** Key and value bytes of a batch (what StageStats.in counts). */
export function batchBytes(records: ReadonlyArray<{ key: Uint8Array; value: Uint8Array }>): number {
  let n = 0;
  for (const r of records) n += r.key.length + r.value.length;
  return n;
}
