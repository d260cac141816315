/**
 * Relay metrics, registered on the process registry (src/telemetry/metrics.ts)
 * and served on `--metricsPort`. Same meanings as the seed tool's counters;
 * the publish lag is exported in seconds (Prometheus base unit) instead of ms.
 * Labels are bounded: outcome only, never event ids or wikis.
 */
import client from "prom-client";
import { registry } from "../../telemetry/metrics";

const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const relayMetrics = {
  receivedEvents: new client.Counter({
    name: "conveyor_relay_received_events_total",
    help: "SSE events received from the stream (before publishing).",
    registers: [registry],
  }),
  receivedLines: new client.Counter({
    name: "conveyor_relay_received_lines_total",
    help: "Raw SSE lines received (comments and blank lines included).",
    registers: [registry],
  }),
  receiveErrors: new client.Counter({
    name: "conveyor_relay_receive_errors_total",
    help: "Stream failures: connection errors, bad HTTP status or content type, dropped connections.",
    registers: [registry],
  }),
  restarts: new client.Counter({
    name: "conveyor_relay_restarts_total",
    help: "Reconnections to the stream after it ended or failed.",
    registers: [registry],
  }),
  filePublishEvents: new client.Counter({
    name: "conveyor_relay_file_publish_events_total",
    help: "Events handled by the file publisher, by outcome (written, duplicate).",
    labelNames: ["outcome"],
    registers: [registry],
  }),
  filePublishErrors: new client.Counter({
    name: "conveyor_relay_file_publish_errors_total",
    help: "File publish attempts that failed (the event is retried, never skipped).",
    registers: [registry],
  }),
  kafkaPublishEvents: new client.Counter({
    name: "conveyor_relay_kafka_publish_events_total",
    help: "Events acknowledged by Kafka.",
    registers: [registry],
  }),
  kafkaWrites: new client.Counter({
    name: "conveyor_relay_kafka_writes_total",
    help: "Produce requests sent to Kafka.",
    registers: [registry],
  }),
  kafkaPublishErrors: new client.Counter({
    name: "conveyor_relay_kafka_publish_errors_total",
    help: "Kafka produce requests that failed (the event is retried, never skipped).",
    registers: [registry],
  }),
  kafkaWriteDuration: new client.Histogram({
    name: "conveyor_relay_kafka_write_duration_seconds",
    help: "Time from sending a produce request to its acknowledgement.",
    buckets: latencyBuckets,
    registers: [registry],
  }),
  kafkaWaitDuration: new client.Histogram({
    name: "conveyor_relay_kafka_wait_duration_seconds",
    help: "Time an event waited between being received and its produce request being sent.",
    buckets: latencyBuckets,
    registers: [registry],
  }),
  publishLag: new client.Gauge({
    name: "conveyor_relay_publish_lag_seconds",
    help: "Time from the last published event's meta.dt to the end of its publish (the seed tool's lag in ms, in s).",
    registers: [registry],
  }),
};
