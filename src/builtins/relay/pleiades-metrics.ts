/**
 * pleiades' metric families, under its names, labels and units, so its Grafana dashboard and alerts keep
 * working on `conveyor relay ingest` (beside conveyor_relay_*, metrics.ts). Registered only where the
 * relay CLI runs (relay.ts imports this module; the pipeline `builtin: sse` source does not).
 *
 *   pleiades_recv_events_total                        events received
 *   pleiades_recv_event_lines_total{type}             comment | id | event | data | unknown
 *   pleiades_recv_errors_total{type}                  request_timeout | read_error | eof | body_read_timeout
 *   pleiades_goroutine_restarts{component}            wmf_consumer | file_publisher | kafka_publisher
 *                                                     (a gauge: pleiades' counter lacked _total)
 *   pleiades_file_publish_events_total                events handled by the file publisher
 *   pleiades_file_publish_errors_total{type}          event_data_read | write
 *   pleiades_kafka_publish_events_total               events acknowledged by Kafka
 *   pleiades_kafka_publish_writes_total               produce requests
 *   pleiades_kafka_writer_errors_total                failed produce requests
 *   pleiades_kafka_publish_{write,wait}_time_seconds{agg=min|max|avg}
 *                                                     over the requests since the previous scrape, as
 *                                                     kafka-go's Writer.Stats() (0 when there were none)
 *   pleiades_kafka_publish_lag_milliseconds           at scrape: now − the timestamp in the id of the last
 *                                                     acknowledged event (absent until there is one);
 *                                                     promtool flags the unit, the name is pleiades'
 */
import client from "prom-client";
import { registry } from "../../telemetry/metrics";
import { SSE_LINE_TYPES } from "./sse-parser";

/** min/max/avg of the observations since the last scrape, reset by each scrape. */
class ScrapeWindow {
  private values: number[] = [];
  observe(v: number): void {
    this.values.push(v);
    if (this.values.length > 10_000) this.values.splice(0, this.values.length - 10_000); // bounded
  }
  take(): { min: number; max: number; avg: number } {
    const v = this.values;
    this.values = [];
    if (v.length === 0) return { min: 0, max: 0, avg: 0 };
    return { min: Math.min(...v), max: Math.max(...v), avg: v.reduce((a, b) => a + b, 0) / v.length };
  }
}

const writeTimes = new ScrapeWindow();
const waitTimes = new ScrapeWindow();
let lastKafkaEventId: string | undefined;

function aggGauge(name: string, help: string, window: ScrapeWindow): client.Gauge<"agg"> {
  return new client.Gauge({
    name,
    help,
    labelNames: ["agg"],
    registers: [registry],
    collect() {
      const { min, max, avg } = window.take();
      this.set({ agg: "min" }, min);
      this.set({ agg: "max" }, max);
      this.set({ agg: "avg" }, avg);
    },
  });
}

/** The timestamp (ms) in a Wikimedia event id, as pleiades' tStampFromID read it. */
export function idTimestampMs(id: string): number | undefined {
  const m = /"timestamp":\s*([0-9]+)/.exec(id);
  return m ? Number(m[1]) : undefined;
}

export const pleiadesMetrics = {
  recvEvents: new client.Counter({
    name: "pleiades_recv_events_total",
    help: "The total number of events received",
    registers: [registry],
  }),
  recvLines: new client.Counter({
    name: "pleiades_recv_event_lines_total",
    help: "Total numbers of lines read from server",
    labelNames: ["type"],
    registers: [registry],
  }),
  recvErrors: new client.Counter({
    name: "pleiades_recv_errors_total",
    help: "Total numbers of errors encountered during events receive",
    labelNames: ["type"],
    registers: [registry],
  }),
  restarts: new client.Gauge({
    name: "pleiades_goroutine_restarts",
    help: "Total numbers of restarts of component goroutines",
    labelNames: ["component"],
    registers: [registry],
  }),
  filePublishEvents: new client.Counter({
    name: "pleiades_file_publish_events_total",
    help: "The total number of events published to filesystem",
    registers: [registry],
  }),
  filePublishErrors: new client.Counter({
    name: "pleiades_file_publish_errors_total",
    help: "Total numbers of errors encountered while publishing to filesystem",
    labelNames: ["type"],
    registers: [registry],
  }),
  kafkaEvents: new client.Counter({
    name: "pleiades_kafka_publish_events_total",
    help: "The total number of messages published to kafka",
    registers: [registry],
  }),
  kafkaWrites: new client.Counter({
    name: "pleiades_kafka_publish_writes_total",
    help: "The total number of writes performed to kafka",
    registers: [registry],
  }),
  kafkaErrors: new client.Counter({
    name: "pleiades_kafka_writer_errors_total",
    help: "Total numbers of errors encountered while publishing to kafka",
    registers: [registry],
  }),
  kafkaWriteTime: aggGauge(
    "pleiades_kafka_publish_write_time_seconds",
    "Time the kafka writer spent writing",
    writeTimes,
  ),
  kafkaWaitTime: aggGauge(
    "pleiades_kafka_publish_wait_time_seconds",
    "Time the kafka writer spent waiting",
    waitTimes,
  ),
  kafkaLag: new client.Gauge({
    name: "pleiades_kafka_publish_lag_milliseconds",
    help: "Time delay between publish time and timestamp of latest event",
    registers: [registry],
    collect() {
      const ts = lastKafkaEventId === undefined ? undefined : idTimestampMs(lastKafkaEventId);
      if (ts === undefined) this.reset();
      else this.set(Date.now() - ts);
    },
  }),
  /** A Kafka produce request: its write time, the wait of each event in it, and (acked) its last id. */
  kafkaRequest(writeSeconds: number, waitSeconds: readonly number[], lastEventId: string | undefined): void {
    writeTimes.observe(writeSeconds);
    for (const w of waitSeconds) waitTimes.observe(w);
    if (lastEventId !== undefined && lastEventId !== "") lastKafkaEventId = lastEventId;
  },
};

// Every label value pleiades exported, at 0, so dashboards and rate() see the series from the start.
for (const type of SSE_LINE_TYPES) pleiadesMetrics.recvLines.inc({ type }, 0);
for (const type of ["request_timeout", "read_error", "eof", "body_read_timeout"])
  pleiadesMetrics.recvErrors.inc({ type }, 0);
for (const component of ["wmf_consumer", "file_publisher", "kafka_publisher"])
  pleiadesMetrics.restarts.set({ component }, 0);
for (const type of ["event_data_read", "write"]) pleiadesMetrics.filePublishErrors.inc({ type }, 0);
