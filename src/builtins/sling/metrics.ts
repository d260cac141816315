/**
 * Sling job metrics, in the project registry. A job is short-lived (a CronJob), so besides /metrics while
 * it runs (SLING_METRICS_PORT) they can be written to a file for node_exporter's textfile collector
 * (SLING_METRICS_FILE) or pushed to a Pushgateway (PROMETHEUS_PUSHGATEWAY_URL) when the job ends.
 * Labels are bounded: pipeline (a file name), mode and status/outcome — never job ids.
 */
import * as fs from "node:fs";
import client from "prom-client";
import { registry } from "../../telemetry/metrics";

const durationBuckets = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

export const slingMetrics = {
  jobRuns: new client.Counter({
    name: "conveyor_sling_job_runs_total",
    help: "Sling jobs run, by mode and status (succeeded, failed, cancelled, invalid).",
    labelNames: ["mode", "status"],
    registers: [registry],
  }),
  jobDuration: new client.Histogram({
    name: "conveyor_sling_job_duration_seconds",
    help: "Wall time of a whole Sling job (every pipeline, retries and backoff included).",
    labelNames: ["mode"],
    buckets: durationBuckets,
    registers: [registry],
  }),
  pipelineRuns: new client.Counter({
    name: "conveyor_sling_pipeline_runs_total",
    help: "Pipeline runs (all attempts of one pipeline in one job), by final status.",
    labelNames: ["pipeline", "status"],
    registers: [registry],
  }),
  pipelineFailures: new client.Counter({
    name: "conveyor_sling_pipeline_failures_total",
    help: "Pipeline runs that failed after every retry (or timed out, or were cancelled).",
    labelNames: ["pipeline"],
    registers: [registry],
  }),
  attempts: new client.Counter({
    name: "conveyor_sling_attempts_total",
    help: "Sling processes started, by outcome (succeeded, failed, timeout, cancelled).",
    labelNames: ["pipeline", "outcome"],
    registers: [registry],
  }),
  rows: new client.Counter({
    name: "conveyor_sling_rows_synced_total",
    help: "Rows Sling reported written (inserted N rows / wrote N rows) by successful runs.",
    labelNames: ["pipeline"],
    registers: [registry],
  }),
  pipelineDuration: new client.Histogram({
    name: "conveyor_sling_pipeline_duration_seconds",
    help: "Wall time of a pipeline run, retries and backoff included.",
    labelNames: ["pipeline"],
    buckets: durationBuckets,
    registers: [registry],
  }),
  lastSuccess: new client.Gauge({
    name: "conveyor_sling_last_success_timestamp_seconds",
    help: "Unix time at which the pipeline last synced successfully (in this process).",
    labelNames: ["pipeline"],
    registers: [registry],
  }),
};

/** Writes the registry in the text format, atomically (a textfile collector never reads half a file). */
export async function writeMetricsFile(file: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.promises.writeFile(tmp, await registry.metrics());
  await fs.promises.rename(tmp, file);
}

/** Pushes the registry to a Pushgateway, grouped by job and mission cluster (replaces that group). */
export async function pushMetrics(url: string, missionClusterId: string): Promise<void> {
  const gateway = new client.Pushgateway(url, { timeout: 10_000 }, registry);
  await gateway.pushAdd({ jobName: "conveyor-sling", groupings: { mission_cluster_id: missionClusterId } });
}
