/**
 * Wiring of one Sling job (what `conveyor sling run|noop|backfill` and the quickstart execute):
 * config → pipelines → noop preflight, or state + tracing + metrics → runJob with real Sling processes.
 * Returns the exit code instead of exiting, so the quickstart can chain jobs.
 */
import type { Writable } from "node:stream";
import { formatTable } from "../../cli/table";
import { ConveyorError } from "../../errors";
import type { Logger } from "../../telemetry/log";
import { startMetricsServer } from "../../telemetry/metrics";
import type { SlingJobConfig } from "./job-config";
import { formatDuration } from "./duration";
import { runJob, type JobResult } from "./job-runner";
import { pushMetrics, writeMetricsFile } from "./metrics";
import { listPipelines, type PipelineFile } from "./pipelines";
import { preflight, type PreflightReport } from "./preflight";
import { loadReplication } from "./replication";
import { resolveSlingBinary } from "./sling-binary";
import { replicationArgs, runSling, slingChildEnv } from "./sling-process";
import { refuseToDelete } from "./state-path";
import { StateStore } from "./state-store";
import { startTracing } from "./tracing";

export const EXIT = { ok: 0, failed: 1, invalid: 2 } as const;

export interface JobIo {
  out: Writable;
  err: Writable;
  log: Logger;
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGTERM/SIGINT. */
  signal?: AbortSignal;
}

export interface JobOutcome {
  exitCode: number;
  result?: JobResult;
  report?: PreflightReport;
}

export async function executeSlingJob(config: SlingJobConfig, io: JobIo): Promise<JobOutcome> {
  let pipelines: PipelineFile[];
  try {
    pipelines = listPipelines(config.pipelines);
  } catch (err) {
    if (!(err instanceof ConveyorError)) throw err;
    io.err.write(`conveyor sling: ${err.message}\n`);
    return { exitCode: EXIT.invalid };
  }
  const state = new StateStore(config.statePath);

  if (config.mode === "noop") {
    const report = await preflight(config.slingBin, pipelines, io.env, {
      store: state,
      clusterId: config.clusterId,
    });
    io.out.write(formatPreflight(report));
    for (const p of report.problems) io.err.write(`conveyor sling noop: ${p}\n`);
    return { exitCode: report.problems.length > 0 ? EXIT.failed : EXIT.ok, report };
  }

  let bin: string;
  try {
    bin = resolveSlingBinary(config.slingBin, io.env);
    // Refuse before anything runs: a corrupt state file, or a backfill that would delete `/` or `.`.
    if (config.mode !== "backfill") state.read(config.clusterId);
    const refused = config.mode === "backfill" ? refuseToDelete(config.statePath, process.cwd()) : undefined;
    if (refused !== undefined) {
      throw new ConveyorError(
        "CONFIG_INVALID",
        `SLING_STATE ${config.stateSpec}: backfill refuses to delete it: ${refused}`,
      );
    }
  } catch (err) {
    if (!(err instanceof ConveyorError)) throw err;
    io.err.write(`conveyor sling: ${err.code}: ${err.message}\n`);
    return { exitCode: err.code === "CONFIG_INVALID" ? EXIT.invalid : EXIT.failed };
  }

  const tracing = startTracing(config.otlp, config.clusterId);
  const metricsServer = startMetricsServer(config.metricsPort, "0.0.0.0", io.log);
  const childEnv = slingChildEnv(io.env);
  let result: JobResult;
  try {
    result = await runJob(
      {
        clusterId: config.clusterId,
        mode: config.mode,
        maxRetries: config.maxRetries,
        backoffBaseMs: config.backoffBaseMs,
      },
      pipelines,
      {
        tracer: tracing.tracer,
        log: io.log,
        state,
        ...(io.signal ? { signal: io.signal } : {}),
        validate: (p) => {
          const { problems } = loadReplication(p.file);
          return problems.length > 0 ? problems.join("; ") : undefined;
        },
        runAttempt: (req) =>
          runSling({
            bin,
            args: replicationArgs(req.pipeline.file, req.fullRefresh),
            env: { ...childEnv, SYNC_JOB_ID: req.jobId },
            timeoutMs: config.timeoutMs,
            signal: req.signal,
            onLine: req.onLine,
          }),
      },
    );
  } catch (err) {
    if (!(err instanceof ConveyorError)) throw err;
    io.err.write(`conveyor sling: ${err.code}: ${err.message}\n`);
    await tracing.shutdown();
    metricsServer?.close();
    return { exitCode: EXIT.invalid };
  }

  io.out.write(formatResult(result));
  for (const p of result.pipelines) if (p.error) io.err.write(`conveyor sling: ${p.code}: ${p.error}\n`);

  const exportError = await tracing.shutdown();
  if (exportError)
    io.log.warn(
      { err: exportError, otlp_endpoint: config.otlp?.url, otlp_protocol: config.otlp?.protocol },
      "spans could not be exported",
    );
  await publishMetrics(config, io.log);
  metricsServer?.close();
  return { exitCode: result.status === "succeeded" ? EXIT.ok : EXIT.failed, result };
}

async function publishMetrics(config: SlingJobConfig, log: Logger): Promise<void> {
  if (config.metricsFile !== undefined) {
    await writeMetricsFile(config.metricsFile).catch((err: unknown) =>
      log.warn({ err, file: config.metricsFile }, "could not write the metrics file"),
    );
  }
  if (config.pushgateway !== undefined) {
    await pushMetrics(config.pushgateway, config.clusterId).catch((err: unknown) =>
      log.warn({ err, pushgateway: config.pushgateway }, "could not push metrics to the Pushgateway"),
    );
  }
}

export function formatResult(r: JobResult): string {
  const rows = r.pipelines.map((p) => [
    p.pipeline,
    p.status,
    String(p.attempts),
    String(p.rowsSynced),
    formatDuration(Math.round(p.durationSeconds * 1000)),
  ]);
  const ok = r.pipelines.filter((p) => p.status === "succeeded").length;
  return (
    formatTable(["PIPELINE", "STATUS", "ATTEMPTS", "ROWS", "DURATION"], rows) +
    `job ${r.jobId} (${r.mode}) ${r.status}: ${ok}/${r.pipelines.length} pipeline(s) succeeded, ` +
    `trace ${r.traceId}\n`
  );
}

export function formatPreflight(r: PreflightReport): string {
  const rows = r.pipelines.map((p) => [
    p.name,
    p.source ?? "-",
    p.target ?? "-",
    String(p.streams),
    p.problems.length === 0 ? "ok" : `${p.problems.length} problem(s)`,
  ]);
  return (
    `sling: ${r.slingBin ?? "not found"}${r.slingVersion ? ` (version ${r.slingVersion})` : ""}\n` +
    `connections: ${r.connections.length > 0 ? r.connections.join(", ") : "(none)"}\n` +
    formatTable(["PIPELINE", "SOURCE", "TARGET", "STREAMS", "CHECK"], rows) +
    (r.problems.length === 0
      ? `noop: ${r.pipelines.length} pipeline(s) ready; nothing was synced\n`
      : `noop: ${r.problems.length} problem(s); nothing was synced\n`)
  );
}
