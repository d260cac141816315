/**
 * Every metric the project exports, defined in one place. Names follow
 * conveyor_<subsystem>_<name>_<unit>; labels are bounded (pipeline, stage,
 * outcome, code, kind) — never record ids or keys.
 */
import * as http from "node:http";
import * as https from "node:https";
import client from "prom-client";
import type { Logger } from "./log";

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: "conveyor_process_" });
// prom-client names three of its default gauges *_total, which promtool rejects ("non-counter
// metrics should not have _total suffix"); the handle and request counts are in nodejs_active_*
// without the suffix too, so these add nothing.
for (const name of ["active_handles_total", "active_requests_total", "active_resources_total"]) {
  registry.removeSingleMetric(`conveyor_process_nodejs_${name}`);
}

const stageLabels = ["pipeline", "stage"] as const;

export const metrics = {
  stageRecordsIn: new client.Counter({
    name: "conveyor_stage_records_in_total",
    help: "Records that entered a stage on this sidecar.",
    labelNames: stageLabels,
    registers: [registry],
  }),
  stageRecordsOut: new client.Counter({
    name: "conveyor_stage_records_out_total",
    help: "Records a stage produced (transform output, sink confirmations, source reads).",
    labelNames: stageLabels,
    registers: [registry],
  }),
  stageErrors: new client.Counter({
    name: "conveyor_stage_errors_total",
    help: "Records or batches that failed at a stage, by error code (USER_ERROR for a code a user stage chose).",
    labelNames: [...stageLabels, "code"],
    registers: [registry],
  }),
  stageRetries: new client.Counter({
    name: "conveyor_stage_retries_total",
    help: "Records tried again at a stage after a retryable failure.",
    labelNames: stageLabels,
    registers: [registry],
  }),
  deadLettered: new client.Counter({
    name: "conveyor_dlq_records_total",
    help: "Records a stage sent to the pipeline's dead-letter sink.",
    labelNames: stageLabels,
    registers: [registry],
  }),
  inputRejected: new client.Counter({
    name: "conveyor_input_rejected_total",
    help: "Batches that failed at a sidecar's entry points (Inject, peer Forward), by entry and error code.",
    labelNames: ["entry", "code"],
    registers: [registry],
  }),
  malformedMessages: new client.Counter({
    name: "conveyor_malformed_messages_total",
    help: "Protobuf messages on a data stream that could not be decoded, by message type.",
    labelNames: ["message"],
    registers: [registry],
  }),
  stageInFlight: new client.Gauge({
    name: "conveyor_stage_in_flight_records",
    help:
      "Records in flight at a stage on this sidecar: for a source, read and not yet confirmed by the sink; " +
      "for a transform or sink, handed to the stage and not yet answered (retries and their backoff included).",
    labelNames: stageLabels,
    registers: [registry],
  }),
  stageQueueWait: new client.Histogram({
    name: "conveyor_stage_queue_wait_seconds",
    help: "Time a batch for a stage service waited for a slot in its stream's window before it was sent.",
    labelNames: stageLabels,
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [registry],
  }),
  stageBatchRecords: new client.Histogram({
    name: "conveyor_stage_batch_records",
    help: "Records per call of a transform or sink (each attempt of a retry is a call).",
    labelNames: stageLabels,
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
    registers: [registry],
  }),
  pipelineLatency: new client.Histogram({
    name: "conveyor_pipeline_latency_seconds",
    help:
      "End-to-end latency of the records a sink confirmed on this sidecar: from the record's event time " +
      "to the sink's confirmation (dead letters not included).",
    labelNames: ["pipeline"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  }),
  sourceLag: new client.Gauge({
    name: "conveyor_source_lag_records",
    help: "Records a source was behind its newest data at its last read (ReadResponse.lag), where it says.",
    labelNames: stageLabels,
    registers: [registry],
  }),
  hopDuration: new client.Histogram({
    name: "conveyor_hop_duration_seconds",
    help: "Time for a batch to be confirmed by everything downstream of a hop.",
    labelNames: [...stageLabels, "route"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  }),
  routingTableVersion: new client.Gauge({
    name: "conveyor_sidecar_routing_table_version",
    help: "Version of the routing table in use.",
    registers: [registry],
  }),
  discoveredServices: new client.Gauge({
    name: "conveyor_discovery_services",
    help: "Stage services found by the last discovery scan, by kind.",
    labelNames: ["kind"],
    registers: [registry],
  }),
  discoveryScans: new client.Counter({
    name: "conveyor_discovery_scans_total",
    help: "Discovery scans, by outcome (changed, unchanged).",
    labelNames: ["outcome"],
    registers: [registry],
  }),
  heartbeatAge: new client.Gauge({
    name: "conveyor_sidecar_heartbeat_age_seconds",
    help: "Seconds since the router last answered this sidecar.",
    registers: [registry],
  }),
  routerSidecars: new client.Gauge({
    name: "conveyor_router_sidecars",
    help: "Sidecars known to the router, by state.",
    labelNames: ["state"],
    registers: [registry],
  }),
  routerPipelines: new client.Gauge({
    name: "conveyor_router_pipelines",
    help: "Pipelines applied on the router, by state (ready, pending).",
    labelNames: ["state"],
    registers: [registry],
  }),
  routerGeneration: new client.Gauge({
    name: "conveyor_router_generation",
    help: "Current assignment generation.",
    registers: [registry],
  }),
};

/**
 * Serves /metrics on host:port. Port 0 disables it. A bind failure is a
 * warning, not a crash: metrics must never take the data path down.
 */
/** The process's TLS certificate for /metrics over HTTPS (METRICS_TLS), reloaded with the gRPC port's. */
export interface MetricsTls {
  keyPair(): { cert: Buffer; key: Buffer };
  onReload(listener: () => void): void;
}

export function startMetricsServer(
  port: number,
  host: string,
  log: Logger,
  tls?: MetricsTls,
): http.Server | undefined {
  if (port === 0) return undefined;
  const handler: http.RequestListener = (req, res) => {
    if (req.url !== "/metrics") {
      res.writeHead(404).end("not found; try /metrics\n");
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { "Content-Type": registry.contentType }).end(body),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  };
  let server: http.Server;
  if (tls !== undefined) {
    const secure = https.createServer(tls.keyPair(), handler);
    // Each new handshake gets the newest certificate; scrapes are short, nothing to renew.
    tls.onReload(() => secure.setSecureContext(tls.keyPair()));
    server = secure;
  } else {
    server = http.createServer(handler);
  }
  server.on("error", (err) =>
    log.warn({ err, port }, "metrics server could not bind; continuing without /metrics"),
  );
  server.listen(port, host, () =>
    log.info({ address: `${host}:${port}`, tls: tls !== undefined }, "metrics on /metrics"),
  );
  server.unref();
  return server;
}
