/**
 * Mirror metrics, in the project registry (served by startMetricsServer).
 * Labels are stream identity only: topic and partition (the source's).
 * `mirror_v3_destination_*` are mirror-v3's families under its names, kept so
 * its dashboards and alerts work unchanged (docs/mirror.md#metrics).
 */
import client from "prom-client";
import { registry } from "../../telemetry/metrics";

const labelNames = ["topic", "partition"] as const;

export const mirrorMetrics = {
  records: new client.Counter({
    name: "conveyor_mirror_records_total",
    help: "Records written durably to the destination.",
    labelNames,
    registers: [registry],
  }),
  bytes: new client.Counter({
    name: "conveyor_mirror_bytes_total",
    help: "Segment bytes written durably to the destination.",
    labelNames,
    registers: [registry],
  }),
  flushes: new client.Counter({
    name: "conveyor_mirror_flushes_total",
    help: "Segments written to the destination.",
    labelNames,
    registers: [registry],
  }),
  lastFlush: new client.Gauge({
    name: "conveyor_mirror_last_flush_timestamp_seconds",
    help: "Unix time of the last segment written.",
    labelNames,
    registers: [registry],
  }),
  destinationOffset: new client.Gauge({
    name: "conveyor_mirror_destination_next_offset",
    help: "Next offset to copy, as verified in the destination (last segment's to + 1).",
    labelNames,
    registers: [registry],
  }),
  lag: new client.Gauge({
    name: "conveyor_mirror_lag_records",
    help: "Source high watermark minus the destination's next offset, at the last check.",
    labelNames,
    registers: [registry],
  }),
  restarts: new client.Counter({
    name: "conveyor_mirror_starts_total",
    help: "Times the mirror of this partition started (after a restart or a crash of the process).",
    labelNames,
    registers: [registry],
  }),
};

const v3 = (
  name: string,
  help: string,
): { name: string; help: string; labelNames: typeof labelNames; registers: [typeof registry] } => ({
  name: `mirror_v3_destination_${name}`,
  help: `${help} (mirror-v3's name)`,
  labelNames,
  registers: [registry],
});

export const mirrorV3Metrics = {
  offsetVerified: new client.Gauge(
    v3("offset_verified", "Next offset to copy, as verified in the destination"),
  ),
  inflightRetry: new client.Gauge(
    v3("offset_inflight_retry", "First offset of the batch whose write is being retried, 0 when none"),
  ),
  records: new client.Counter(v3("records_total", "Records written durably to the destination")),
  bytes: new client.Counter(v3("bytes_total", "Segment bytes written durably to the destination")),
  flushes: new client.Counter(v3("flushes_total", "Flushes written to the destination")),
  lastFlush: new client.Gauge(v3("last_flush_timestamp_seconds", "Unix time of the last flush")),
};
