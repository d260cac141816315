/**
 * Mirror metrics, in the project registry (served by startMetricsServer).
 * Labels are stream identity only: topic and partition (the source's).
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
