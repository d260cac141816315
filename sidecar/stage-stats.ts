/**
 * Per-stage counters on this sidecar: exported to Prometheus and reported to
 * the router in every heartbeat (SidecarStatus.stages) for `conveyor status`.
 */
import { errorCodeLabel } from "../src/errors";
import { metrics } from "../src/telemetry/metrics";
import type { StageStatus } from "../src/generated/conveyor/v1/StageStatus";

interface Counters {
  recordsIn: number;
  recordsOut: number;
  errors: number;
  lastError: string;
  dlqCount: number;
  state: "running" | "stopped" | "error";
}

export class StageStats {
  private readonly stages = new Map<string, Counters & { pipeline: string; stage: string }>();

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
      };
      this.stages.set(key, c);
    }
    return c;
  }

  in(pipeline: string, stage: string, n: number): void {
    this.get(pipeline, stage).recordsIn += n;
    metrics.stageRecordsIn.labels(pipeline, stage).inc(n);
  }

  out(pipeline: string, stage: string, n: number): void {
    this.get(pipeline, stage).recordsOut += n;
    metrics.stageRecordsOut.labels(pipeline, stage).inc(n);
  }

  error(pipeline: string, stage: string, code: string, message: string, n = 1): void {
    const c = this.get(pipeline, stage);
    c.errors += n;
    c.lastError = `${code}: ${message}`;
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

  snapshot(): StageStatus[] {
    return [...this.stages.values()].map((c) => ({ ...c }));
  }
}
