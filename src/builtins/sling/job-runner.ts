/**
 * One Sling job: every pipeline in order, each retried with exponential backoff, traced and logged.
 *
 *   job span "sling.job" (sync_job_id, mission_cluster_id, sync_mode)        ← one trace per job
 *     for each pipeline (a failure does not stop the next):
 *       span "sling.pipeline" (pipeline, attempt, rows_synced, duration_seconds, status)
 *         attempt 1..1+maxRetries: runAttempt ──Sling lines──▶ span events + JSON logs (trace_id, span_id)
 *           failed ─▶ event "attempt.failed", sleep backoffDelayMs(attempt) ─▶ next attempt
 *       state file + metrics updated
 *   JobResult: status "failed" if any pipeline failed → the CLI exits 1
 *
 * Backfill clears the state file first and runs every pipeline as a full refresh. Running Sling is
 * injected (runAttempt), so the retry/continue logic is tested without processes.
 */
import { randomUUID } from "node:crypto";
import { context, SpanStatusCode, trace, type Span, type Tracer } from "@opentelemetry/api";
import type { ErrorCode } from "../../errors";
import type { Logger } from "../../telemetry/log";
import { backoffDelayMs } from "./backoff";
import type { SyncMode } from "./job-config";
import { slingMetrics } from "./metrics";
import type { PipelineFile } from "./pipelines";
import type { AttemptOutcome } from "./sling-process";
import type { SlingLogLine, SlingLevel } from "./sling-output";
import type { StateStore } from "./state-store";

export type RunMode = Exclude<SyncMode, "noop">;
export type PipelineStatus = "succeeded" | "failed" | "cancelled";

export interface AttemptRequest {
  /** The job's sync_job_id: Sling gets it as SYNC_JOB_ID, as the wrapper did. */
  jobId: string;
  pipeline: PipelineFile;
  attempt: number;
  fullRefresh: boolean;
  signal: AbortSignal;
  onLine(line: SlingLogLine): void;
}

export interface PipelineResult {
  pipeline: string;
  file: string;
  status: PipelineStatus;
  attempts: number;
  rowsSynced: number;
  durationSeconds: number;
  traceId: string;
  spanId: string;
  code?: ErrorCode;
  error?: string;
}

export interface JobResult {
  jobId: string;
  traceId: string;
  mode: RunMode;
  status: PipelineStatus;
  durationSeconds: number;
  stateCleared: boolean;
  pipelines: PipelineResult[];
}

export interface JobSettings {
  clusterId: string;
  mode: RunMode;
  maxRetries: number;
  backoffBaseMs: number;
}

export interface JobDeps {
  tracer: Tracer;
  log: Logger;
  runAttempt(req: AttemptRequest): Promise<AttemptOutcome>;
  /** Resolves after ms, or early when signal aborts. */
  sleep?(ms: number, signal: AbortSignal): Promise<void>;
  state?: StateStore;
  /** A reason not to run a pipeline at all (e.g. its file is not a replication): it fails at once, unretried. */
  validate?(pipeline: PipelineFile): string | undefined;
  /** Aborted on SIGTERM/SIGINT: the running attempt is killed, the rest cancelled. */
  signal?: AbortSignal;
  jobId?: string;
  now?(): number;
}

export function newSyncJobId(): string {
  return randomUUID();
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

const LOG_METHOD: { [L in SlingLevel]: "trace" | "debug" | "info" | "warn" | "error" | "fatal" } = {
  trace: "trace",
  debug: "debug",
  info: "info",
  warn: "warn",
  error: "error",
  fatal: "error", // Sling's "fatal" ends one run, not this process
};

export async function runJob(
  settings: JobSettings,
  pipelines: PipelineFile[],
  deps: JobDeps,
): Promise<JobResult> {
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? abortableSleep;
  const signal = deps.signal ?? new AbortController().signal;
  const jobId = deps.jobId ?? newSyncJobId();
  const started = now();
  const jobSpan = deps.tracer.startSpan("sling.job", {
    attributes: {
      sync_job_id: jobId,
      mission_cluster_id: settings.clusterId,
      sync_mode: settings.mode,
      pipelines: pipelines.length,
    },
  });
  const traceId = jobSpan.spanContext().traceId;
  const log = deps.log.child({
    sync_job_id: jobId,
    mission_cluster_id: settings.clusterId,
    trace_id: traceId,
  });
  const jobContext = trace.setSpan(context.active(), jobSpan);
  log.info(
    {
      sync_mode: settings.mode,
      pipelines: pipelines.map((p) => p.name),
      span_id: jobSpan.spanContext().spanId,
    },
    `sling job ${jobId} started: ${pipelines.length} pipeline(s), mode ${settings.mode}`,
  );

  let stateCleared = false;
  if (settings.mode === "backfill" && deps.state) {
    stateCleared = deps.state.clear();
    jobSpan.addEvent("state.cleared", { file: deps.state.file, existed: stateCleared });
    log.info(
      { state: deps.state.file, existed: stateCleared },
      "backfill: state cleared; full refresh of every pipeline",
    );
  }

  const results: PipelineResult[] = [];
  for (const pipeline of pipelines) {
    const span = deps.tracer.startSpan(
      "sling.pipeline",
      {
        attributes: {
          sync_job_id: jobId,
          mission_cluster_id: settings.clusterId,
          pipeline: pipeline.name,
          "pipeline.file": pipeline.file,
          sync_mode: settings.mode,
        },
      },
      jobContext,
    );
    const invalid = signal.aborted ? undefined : deps.validate?.(pipeline);
    const result = signal.aborted
      ? notRun(pipeline, span, "cancelled", "SLING_PIPELINE_FAILED", "the job was stopped before it started")
      : invalid !== undefined
        ? notRun(pipeline, span, "failed", "CONFIG_INVALID", invalid, log)
        : await runPipeline(settings, pipeline, span, { ...deps, sleep, signal, now, jobId }, log);
    results.push(result);
    recordState(deps.state, settings.clusterId, jobId, result, now());
    recordMetrics(result);
  }

  const failed = results.filter((r) => r.status === "failed").length;
  const cancelled = results.filter((r) => r.status === "cancelled").length;
  const status: PipelineStatus = cancelled > 0 ? "cancelled" : failed > 0 ? "failed" : "succeeded";
  const durationSeconds = (now() - started) / 1000;
  const rows = results.reduce((n, r) => n + r.rowsSynced, 0);
  jobSpan.setAttributes({
    status,
    rows_synced: rows,
    duration_seconds: durationSeconds,
    pipelines_failed: failed,
    pipelines_cancelled: cancelled,
  });
  if (status !== "succeeded") {
    jobSpan.setStatus({ code: SpanStatusCode.ERROR, message: `${failed} failed, ${cancelled} cancelled` });
  }
  jobSpan.end();
  slingMetrics.jobRuns.inc({ mode: settings.mode, status });
  slingMetrics.jobDuration.observe({ mode: settings.mode }, durationSeconds);
  (status === "succeeded" ? log.info.bind(log) : log.error.bind(log))(
    { status, rows_synced: rows, duration_seconds: durationSeconds, failed, cancelled },
    `sling job ${jobId} ${status}: ${results.length - failed - cancelled}/${results.length} pipeline(s) succeeded, ${rows} row(s)`,
  );
  return { jobId, traceId, mode: settings.mode, status, durationSeconds, stateCleared, pipelines: results };
}

type Resolved = Required<Pick<JobDeps, "sleep" | "signal" | "now" | "jobId">> & JobDeps;

async function runPipeline(
  settings: JobSettings,
  pipeline: PipelineFile,
  span: Span,
  deps: Resolved,
  jobLog: Logger,
): Promise<PipelineResult> {
  const started = deps.now();
  const { traceId, spanId } = span.spanContext();
  const log = jobLog.child({ pipeline: pipeline.name, span_id: spanId });
  const maxAttempts = 1 + settings.maxRetries;
  let attempt = 0;
  let last: AttemptOutcome | undefined;
  while (attempt < maxAttempts) {
    attempt++;
    log.info(
      { attempt, file: pipeline.file },
      `pipeline ${pipeline.name}: attempt ${attempt}/${maxAttempts}`,
    );
    const onLine = (line: SlingLogLine): void => {
      span.addEvent("sling.log", {
        "log.severity": line.level,
        "log.message": line.message,
        "log.stream": line.stream,
        attempt,
        ...(line.time !== undefined ? { "sling.time": line.time } : {}),
      });
      log[LOG_METHOD[line.level]](
        { attempt, sling_level: line.level, sling_time: line.time, stream: line.stream },
        line.message,
      );
    };
    last = await deps.runAttempt({
      jobId: deps.jobId,
      pipeline,
      attempt,
      fullRefresh: settings.mode === "backfill",
      signal: deps.signal,
      onLine,
    });
    slingMetrics.attempts.inc({
      pipeline: pipeline.name,
      outcome: last.ok ? "succeeded" : last.aborted ? "cancelled" : last.timedOut ? "timeout" : "failed",
    });
    if (last.ok || last.aborted) break;
    const retry = attempt < maxAttempts && !deps.signal.aborted;
    const delay = retry ? backoffDelayMs(attempt, settings.backoffBaseMs) : 0;
    span.addEvent("attempt.failed", {
      attempt,
      error: last.error ?? "failed",
      timed_out: last.timedOut,
      ...(retry ? { backoff_ms: delay } : {}),
    });
    log.warn(
      {
        attempt,
        error: last.error,
        exit_code: last.exitCode,
        timed_out: last.timedOut,
        ...(retry ? { backoff_ms: delay } : {}),
      },
      retry
        ? `pipeline ${pipeline.name}: attempt ${attempt} failed; retrying in ${delay} ms`
        : `pipeline ${pipeline.name}: attempt ${attempt} failed; no retries left`,
    );
    if (!retry) break;
    await deps.sleep(delay, deps.signal);
    if (deps.signal.aborted) break;
  }

  const outcome = last!;
  const status: PipelineStatus = outcome.ok
    ? "succeeded"
    : outcome.aborted || deps.signal.aborted
      ? "cancelled"
      : "failed";
  const durationSeconds = (deps.now() - started) / 1000;
  const rowsSynced = outcome.ok ? outcome.rows : 0;
  span.setAttributes({ attempt, rows_synced: rowsSynced, duration_seconds: durationSeconds, status });
  const result: PipelineResult = {
    pipeline: pipeline.name,
    file: pipeline.file,
    status,
    attempts: attempt,
    rowsSynced,
    durationSeconds,
    traceId,
    spanId,
  };
  if (status !== "succeeded") {
    result.code = outcome.timedOut ? "SLING_TIMEOUT" : "SLING_PIPELINE_FAILED";
    result.error = `pipeline ${pipeline.name} (${pipeline.file}) ${status} after ${attempt} attempt(s): ${outcome.error ?? "failed"}`;
    span.setAttributes({ error_code: result.code });
    span.setStatus({ code: SpanStatusCode.ERROR, message: result.error });
    log.error({ attempt, code: result.code, duration_seconds: durationSeconds }, result.error);
  } else {
    log.info(
      { attempt, rows_synced: rowsSynced, duration_seconds: durationSeconds },
      `pipeline ${pipeline.name} succeeded: ${rowsSynced} row(s) in ${durationSeconds.toFixed(1)} s`,
    );
  }
  span.end();
  return result;
}

/** A pipeline that never started Sling: invalid, or the job was stopped first. */
function notRun(
  pipeline: PipelineFile,
  span: Span,
  status: PipelineStatus,
  code: ErrorCode,
  why: string,
  log?: Logger,
): PipelineResult {
  const error = `pipeline ${pipeline.name} (${pipeline.file}) ${status}: ${why}`;
  span.setAttributes({ attempt: 0, rows_synced: 0, duration_seconds: 0, status, error_code: code });
  span.setStatus({ code: SpanStatusCode.ERROR, message: error });
  span.end();
  const { traceId, spanId } = span.spanContext();
  log?.error({ pipeline: pipeline.name, span_id: spanId, code }, error);
  return {
    pipeline: pipeline.name,
    file: pipeline.file,
    status,
    attempts: 0,
    rowsSynced: 0,
    durationSeconds: 0,
    traceId,
    spanId,
    code,
    error,
  };
}

function recordState(
  state: StateStore | undefined,
  clusterId: string,
  jobId: string,
  r: PipelineResult,
  nowMs: number,
): void {
  if (!state || r.attempts === 0) return;
  const s = state.read(clusterId);
  const prev = s.pipelines[r.pipeline];
  const at = new Date(nowMs).toISOString();
  s.pipelines[r.pipeline] = {
    lastJobId: jobId,
    lastStatus: r.status,
    lastRunAt: at,
    lastAttempts: r.attempts,
    lastRows: r.rowsSynced,
    totalRows: (prev?.totalRows ?? 0) + r.rowsSynced,
    ...(r.status === "succeeded"
      ? { lastSuccessAt: at }
      : prev?.lastSuccessAt
        ? { lastSuccessAt: prev.lastSuccessAt }
        : {}),
  };
  state.write(s);
}

function recordMetrics(r: PipelineResult): void {
  slingMetrics.pipelineRuns.inc({ pipeline: r.pipeline, status: r.status });
  if (r.status !== "succeeded") slingMetrics.pipelineFailures.inc({ pipeline: r.pipeline });
  else {
    slingMetrics.rows.inc({ pipeline: r.pipeline }, r.rowsSynced);
    slingMetrics.lastSuccess.setToCurrentTime({ pipeline: r.pipeline });
  }
  slingMetrics.pipelineDuration.observe({ pipeline: r.pipeline }, r.durationSeconds);
}
