import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import pino from "pino";
import { runJob, type AttemptRequest, type JobSettings } from "./job-runner";
import type { PipelineFile } from "./pipelines";
import type { AttemptOutcome } from "./sling-process";
import { StateStore } from "./state-store";

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer("test");

/** Log lines as objects, to check what a job logs. */
function memoryLog(): { log: pino.Logger; lines: Array<{ [k: string]: unknown }> } {
  const lines: Array<{ [k: string]: unknown }> = [];
  const log = pino(
    { level: "debug" },
    { write: (s: string) => void lines.push(JSON.parse(s) as { [k: string]: unknown }) },
  );
  return { log, lines };
}

const ok = (rows: number): AttemptOutcome => ({
  ok: true,
  rows,
  exitCode: 0,
  signal: null,
  timedOut: false,
  aborted: false,
});
const failed = (error: string, timedOut = false): AttemptOutcome => ({
  ok: false,
  rows: 0,
  exitCode: timedOut ? null : 1,
  signal: timedOut ? "SIGTERM" : null,
  timedOut,
  aborted: false,
  error,
});

const PIPELINES: PipelineFile[] = [
  { name: "a", file: "/p/a.yaml" },
  { name: "b", file: "/p/b.yaml" },
];
const SETTINGS: JobSettings = { clusterId: "mars-1", mode: "normal", maxRetries: 2, backoffBaseMs: 100 };

let dir: string;
beforeEach(() => {
  exporter.reset();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sling-job-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A scripted Sling: per pipeline, the outcomes of its attempts in order; records every call. */
function scripted(script: { [pipeline: string]: AttemptOutcome[] }) {
  const calls: Array<{ pipeline: string; attempt: number; fullRefresh: boolean }> = [];
  const sleeps: number[] = [];
  const jobIds: string[] = [];
  return {
    calls,
    sleeps,
    jobIds,
    sleep: async (ms: number) => void sleeps.push(ms),
    runAttempt: async (req: AttemptRequest): Promise<AttemptOutcome> => {
      calls.push({ pipeline: req.pipeline.name, attempt: req.attempt, fullRefresh: req.fullRefresh });
      jobIds.push(req.jobId);
      req.onLine({
        level: "info",
        message: `attempt ${req.attempt} of ${req.pipeline.name}`,
        stream: "stdout",
        json: true,
        time: "t",
      });
      const outcome = script[req.pipeline.name].shift();
      if (!outcome) throw new Error(`unexpected attempt ${req.attempt} of ${req.pipeline.name}`);
      return outcome;
    },
  };
}

describe("runJob", () => {
  it("retries a failing pipeline with exponential backoff, reports it failed, and still runs the next", async () => {
    const sling = scripted({ a: [failed("boom 1"), failed("boom 2"), failed("boom 3")], b: [ok(7)] });
    const { log, lines } = memoryLog();
    const state = new StateStore(path.join(dir, "state.json"));
    const result = await runJob(SETTINGS, PIPELINES, { tracer, log, state, ...sling, jobId: "job-1" });

    expect(sling.calls).toEqual([
      { pipeline: "a", attempt: 1, fullRefresh: false },
      { pipeline: "a", attempt: 2, fullRefresh: false },
      { pipeline: "a", attempt: 3, fullRefresh: false },
      { pipeline: "b", attempt: 1, fullRefresh: false },
    ]);
    expect(sling.sleeps).toEqual([100, 200]);
    expect(sling.jobIds).toEqual(["job-1", "job-1", "job-1", "job-1"]); // Sling's SYNC_JOB_ID
    expect(result.status).toBe("failed");
    expect(result.pipelines.map((p) => [p.pipeline, p.status, p.attempts, p.rowsSynced, p.code])).toEqual([
      ["a", "failed", 3, 0, "SLING_PIPELINE_FAILED"],
      ["b", "succeeded", 1, 7, undefined],
    ]);
    expect(result.pipelines[0].error).toBe("pipeline a (/p/a.yaml) failed after 3 attempt(s): boom 3");

    const spans = exporter.getFinishedSpans();
    const job = spans.find((s) => s.name === "sling.job")!;
    const [spanA, spanB] = spans.filter((s) => s.name === "sling.pipeline");
    expect(spanA.attributes).toMatchObject({
      sync_job_id: "job-1",
      mission_cluster_id: "mars-1",
      pipeline: "a",
      rows_synced: 0,
      status: "failed",
      attempt: 3,
    });
    expect(spanB.attributes).toMatchObject({
      pipeline: "b",
      rows_synced: 7,
      status: "succeeded",
      attempt: 1,
    });
    expect(typeof spanB.attributes.duration_seconds).toBe("number");
    for (const s of [spanA, spanB]) {
      expect(s.spanContext().traceId).toBe(job.spanContext().traceId); // one trace per job
      expect(s.parentSpanContext?.spanId).toBe(job.spanContext().spanId);
    }
    expect(spanA.events.map((e) => [e.name, e.attributes?.attempt])).toEqual([
      ["sling.log", 1],
      ["attempt.failed", 1],
      ["sling.log", 2],
      ["attempt.failed", 2],
      ["sling.log", 3],
      ["attempt.failed", 3],
    ]);
    expect(spanA.events[1].attributes).toMatchObject({ error: "boom 1", backoff_ms: 100 });
    expect(job.attributes).toMatchObject({
      sync_job_id: "job-1",
      status: "failed",
      rows_synced: 7,
      pipelines_failed: 1,
    });

    // Every Sling line is a JSON log line carrying the trace and the pipeline's span.
    const slingLine = lines.find((l) => l.msg === "attempt 1 of b")!;
    expect(slingLine).toMatchObject({
      sync_job_id: "job-1",
      trace_id: job.spanContext().traceId,
      span_id: spanB.spanContext().spanId,
      pipeline: "b",
      attempt: 1,
    });

    const saved = state.read("mars-1");
    expect(saved.pipelines.a).toMatchObject({ lastJobId: "job-1", lastStatus: "failed", lastAttempts: 3 });
    expect(saved.pipelines.a.lastSuccessAt).toBeUndefined();
    expect(saved.pipelines.b).toMatchObject({ lastStatus: "succeeded", lastRows: 7, totalRows: 7 });
  });

  it("stops retrying at the first success and counts a timeout as a failed attempt", async () => {
    const sling = scripted({ a: [failed("killed after SLING_TIMEOUT (1s)", true), ok(3)], b: [ok(0)] });
    const result = await runJob(SETTINGS, PIPELINES, { tracer, log: memoryLog().log, ...sling });
    expect(result.status).toBe("succeeded");
    expect(result.pipelines[0]).toMatchObject({ status: "succeeded", attempts: 2, rowsSynced: 3 });
    expect(sling.sleeps).toEqual([100]);
  });

  it("reports a pipeline whose every attempt timed out as SLING_TIMEOUT", async () => {
    const sling = scripted({ a: [failed("t", true)], b: [ok(1)] });
    const result = await runJob({ ...SETTINGS, maxRetries: 0 }, PIPELINES, {
      tracer,
      log: memoryLog().log,
      ...sling,
    });
    expect(result.pipelines[0]).toMatchObject({ status: "failed", attempts: 1, code: "SLING_TIMEOUT" });
    expect(sling.sleeps).toEqual([]);
  });

  it("backfill clears the state first and asks for a full refresh", async () => {
    const file = path.join(dir, "state.json");
    fs.writeFileSync(file, JSON.stringify({ version: 1, missionClusterId: "x", pipelines: { old: {} } }));
    const sling = scripted({ a: [ok(5)], b: [ok(6)] });
    const state = new StateStore(file);
    const result = await runJob({ ...SETTINGS, mode: "backfill" }, PIPELINES, {
      tracer,
      log: memoryLog().log,
      state,
      ...sling,
    });
    expect(result.stateCleared).toBe(true);
    expect(sling.calls.every((c) => c.fullRefresh)).toBe(true);
    expect(Object.keys(state.read("mars-1").pipelines)).toEqual(["a", "b"]);
  });

  it("fails an invalid pipeline at once without running Sling, and runs the next", async () => {
    const sling = scripted({ b: [ok(2)] });
    const result = await runJob(SETTINGS, PIPELINES, {
      tracer,
      log: memoryLog().log,
      ...sling,
      validate: (p) => (p.name === "a" ? "a.yaml: not valid YAML" : undefined),
    });
    expect(result.pipelines[0]).toMatchObject({ status: "failed", attempts: 0, code: "CONFIG_INVALID" });
    expect(sling.calls.map((c) => c.pipeline)).toEqual(["b"]);
  });

  it("on abort, the running pipeline is cancelled without retry and the rest are not started", async () => {
    const stop = new AbortController();
    const calls: string[] = [];
    const result = await runJob(SETTINGS, PIPELINES, {
      tracer,
      log: memoryLog().log,
      signal: stop.signal,
      sleep: async () => undefined,
      runAttempt: async (req) => {
        calls.push(req.pipeline.name);
        stop.abort();
        return { ...failed("killed: the job was stopped"), aborted: true };
      },
    });
    expect(calls).toEqual(["a"]);
    expect(result.status).toBe("cancelled");
    expect(result.pipelines.map((p) => [p.pipeline, p.status, p.attempts])).toEqual([
      ["a", "cancelled", 1],
      ["b", "cancelled", 0],
    ]);
  });

  it("gives every job its own sync job id", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const sling = scripted({ a: [ok(1)] });
      ids.add((await runJob(SETTINGS, [PIPELINES[0]], { tracer, log: memoryLog().log, ...sling })).jobId);
    }
    expect(ids.size).toBe(3);
  });
});
