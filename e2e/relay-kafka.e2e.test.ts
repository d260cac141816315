/**
 * `conveyor relay ingest --kafka.enable` as a real process, against a real
 * Kafka 3.9 broker (src/testing/kafka-broker.ts, one for the whole file) and
 * the local SSE server: events keyed by wiki over a 3-partition topic, none
 * missing after dropped connections and after a kill -9 of the relay (counted
 * by distinct relay-event-id header; duplicates are reported), and a broker
 * that cannot be reached is retried with clear log lines, never a silent loop.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { ManagedProcess } from "../src/cluster/managed-process";
import { EVENT_ID_HEADER } from "../src/builtins/relay/kafka-publisher";
import { freePort, createTopics, startKafkaBroker, type KafkaBroker } from "../src/testing/kafka-broker";
import {
  recentChangeEvents,
  startSseServer,
  type SseTestServer,
  type TestSseEvent,
} from "../src/testing/sse-server";
import { toolPath } from "../src/testing/tools";
import { eventually } from "./harness/pipeline";
import { metric, scrape, sumSamples } from "./harness/metrics";

jest.setTimeout(90_000);

const N = 300;
let broker: KafkaBroker | undefined;
let dir: string;
let server: SseTestServer | undefined;
const processes: ManagedProcess[] = [];

beforeAll(async () => {
  broker = await startKafkaBroker();
}, 80_000);

afterAll(async () => {
  await broker?.stop();
});

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "relay-kafka-e2e-"));
});

afterEach(async () => {
  for (const p of processes.splice(0)) await p.stop(5000);
  await server?.close();
  server = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

function promtool(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      toolPath("promtool"),
      ["check", "metrics"],
      { timeout: 20_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
    child.stdin!.end(text);
  });
}

function createTopic(topic: string, partitions = 3): Promise<void> {
  const kafka = new Kafka({
    clientId: "relay-e2e",
    brokers: [broker!.bootstrap],
    logLevel: logLevel.NOTHING,
  });
  return createTopics(kafka, [topic], partitions);
}

function startRelay(
  name: string,
  url: string,
  bootstrap: string,
  topic: string,
  extra: string[] = [],
): ManagedProcess {
  const p = ManagedProcess.conveyor(
    name,
    [
      "relay",
      "ingest",
      "--kafka.enable",
      "--kafka.broker",
      bootstrap,
      "--kafka.topic",
      topic,
      "--url",
      url,
      "--state-file",
      path.join(dir, "relay-state.json"),
      ...extra,
    ],
    { ...process.env, LOG_LEVEL: "info" },
    path.join(dir, `${name}.log`),
  );
  processes.push(p);
  return p;
}

interface Consumed {
  partition: number;
  key: string;
  eventId: string;
  value: string;
}

/** Every message of the topic, read with kcat (-e: up to the end of every partition). */
function consume(topic: string): Promise<Consumed[]> {
  return new Promise((resolve, reject) => {
    execFile(
      toolPath("kcat"),
      ["-C", "-b", broker!.bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-J"],
      { maxBuffer: 64 * 1024 * 1024, timeout: 20_000 },
      (err, stdout) => {
        if (err) return reject(err);
        const out: Consumed[] = [];
        for (const line of stdout.split("\n")) {
          if (line.trim() === "") continue;
          const m = JSON.parse(line) as {
            partition: number;
            key: string;
            payload: string;
            headers?: string[];
          };
          const h = m.headers ?? [];
          const at = h.indexOf(EVENT_ID_HEADER);
          out.push({
            partition: m.partition,
            key: m.key,
            value: m.payload,
            eventId: at >= 0 ? h[at + 1] : "",
          });
        }
        resolve(out);
      },
    );
  });
}

function identity(e: TestSseEvent): string {
  return e.id ?? (JSON.parse(e.data) as { meta: { id: string } }).meta.id;
}

/** All events present (by relay-event-id), with their data and wiki key; returns the duplicate count. */
function expectEveryEvent(messages: Consumed[], events: TestSseEvent[]): number {
  const byId = new Map<string, Consumed>();
  for (const m of messages) byId.set(m.eventId, m);
  expect([...byId.keys()].sort()).toEqual(events.map(identity).sort());
  for (const e of events) {
    const m = byId.get(identity(e))!;
    const data = JSON.parse(e.data) as { wiki: string };
    expect(JSON.parse(m.value)).toEqual(data);
    expect(m.key).toBe(data.wiki);
  }
  // One wiki, one partition (per-key order); the 4 wikis spread over more than one partition.
  const partitionOf = new Map<string, Set<number>>();
  for (const m of messages) partitionOf.set(m.key, (partitionOf.get(m.key) ?? new Set()).add(m.partition));
  for (const [, parts] of partitionOf) expect(parts.size).toBe(1);
  expect(new Set(messages.map((m) => m.partition)).size).toBeGreaterThan(1);
  return messages.length - byId.size;
}

/** Within each partition, events come in stream order (so each wiki's events do). */
function expectStreamOrderPerPartition(messages: Consumed[], events: TestSseEvent[]): void {
  const index = new Map(events.map((e, i) => [identity(e), i] as const));
  for (const p of new Set(messages.map((m) => m.partition))) {
    const order = messages.filter((m) => m.partition === p).map((m) => index.get(m.eventId)!);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  }
}

describe("relay ingest → Kafka", () => {
  it("keys events by wiki over 3 partitions; resumes dropped connections with none missing", async () => {
    const topic = "relay-drops";
    await createTopic(topic);
    const events = recentChangeEvents(N);
    server = await startSseServer({ events, dropAfter: [80, 210], retryMs: 20 });
    const metricsPort = await freePort();
    const relay = startRelay("relay", server.url, broker!.bootstrap, topic, [
      "--metricsPort",
      String(metricsPort),
      "--metricsHost",
      "127.0.0.1",
    ]);
    let messages: Consumed[] = [];
    await eventually(
      async () => new Set((messages = await consume(topic)).map((m) => m.eventId)).size >= N,
      45_000,
      () => `${messages.length} messages; output:\n${relay.output().slice(-3000)}`,
    );
    const text = await scrape(metricsPort);
    expect(await relay.stop()).toEqual({ code: 0, signal: null });

    messages = await consume(topic);
    // A dropped connection drains the outstanding publishes before resuming after the last acked one:
    // nothing is sent twice, and each partition holds its events in stream order.
    expect(expectEveryEvent(messages, events)).toBe(0);
    expectStreamOrderPerPartition(messages, events);
    expect(server.connections).toHaveLength(3);
    expect(server.connections[1].startIndex).toBeGreaterThan(0);
    expect(server.connections[1].startIndex).toBeLessThanOrEqual(80);
    expect(metric(text, "conveyor_relay_kafka_publish_events_total")).toBe(messages.length);
    expect(metric(text, "conveyor_relay_kafka_publish_errors_total")).toBe(0);
    // Batched: fewer produce requests than events.
    expect(metric(text, "conveyor_relay_kafka_writes_total")).toBeGreaterThan(0);
    expect(metric(text, "conveyor_relay_kafka_writes_total")).toBeLessThan(messages.length);
    expect(metric(text, "conveyor_relay_kafka_write_duration_seconds_count")).toBe(
      metric(text, "conveyor_relay_kafka_writes_total"),
    );
    expect(metric(text, "conveyor_relay_kafka_wait_duration_seconds_count")).toBe(messages.length);
    expect(metric(text, "conveyor_relay_publish_lag_seconds")).toBeGreaterThan(0);
    // pleiades' families beside them, under its names and labels (its dashboard's queries)
    expect(metric(text, "pleiades_recv_events_total")).toBe(
      metric(text, "conveyor_relay_received_events_total"),
    );
    expect(sumSamples(text, "pleiades_recv_event_lines_total", { type: "data" })).toBeGreaterThanOrEqual(N);
    expect(sumSamples(text, "pleiades_recv_event_lines_total", { type: "id" })).toBeGreaterThan(0);
    // the two cut connections: an unexpected EOF, a read_error as in pleiades (Go's io.ErrUnexpectedEOF)
    expect(sumSamples(text, "pleiades_recv_errors_total", { type: "read_error" })).toBe(2);
    expect(sumSamples(text, "pleiades_goroutine_restarts", { component: "wmf_consumer" })).toBe(2);
    expect(metric(text, "pleiades_kafka_publish_events_total")).toBe(messages.length);
    expect(metric(text, "pleiades_kafka_publish_writes_total")).toBe(
      metric(text, "conveyor_relay_kafka_writes_total"),
    );
    expect(metric(text, "pleiades_kafka_writer_errors_total")).toBe(0);
    expect(text).toMatch(/^pleiades_kafka_publish_write_time_seconds\{agg="max"\} \S+$/m);
    const pleiades = text
      .split(/\n(?=# HELP )/)
      .filter((block) => block.startsWith("# HELP pleiades_"))
      .join("\n");
    expect(pleiades.match(/^# HELP /gm)).toHaveLength(12);
    // promtool's one remark is pleiades' own unit in a name dashboards use
    expect(await promtool(`${pleiades}\n`)).toEqual({
      code: 3,
      output: 'pleiades_kafka_publish_lag_milliseconds use base unit "seconds" instead of "milliseconds"\n',
    });
    const state = JSON.parse(fs.readFileSync(path.join(dir, "relay-state.json"), "utf8")) as {
      lastEventId: string;
    };
    expect(state.lastEventId).toBe(events[N - 2].id); // event 299 has no id: field
  });

  it("kill -9 mid-stream and restart: every event present; duplicates only from the unsaved window", async () => {
    const topic = "relay-kill";
    await createTopic(topic);
    const events = recentChangeEvents(N);
    server = await startSseServer({ events, intervalMs: 3, holdAt: 250, retryMs: 20 });
    const first = startRelay("relay-1", server.url, broker!.bootstrap, topic, ["--metricsPort", "0"]);
    let messages: Consumed[] = [];
    await eventually(
      async () => (messages = await consume(topic)).length >= 60,
      45_000,
      () => `${messages.length} messages; output:\n${first.output().slice(-3000)}`,
    );
    first.kill("SIGKILL");
    expect(await first.exited).toEqual({ code: null, signal: "SIGKILL" });
    const atKill = (await consume(topic)).length;
    expect(atKill).toBeLessThanOrEqual(250);

    const second = startRelay("relay-2", server.url, broker!.bootstrap, topic, ["--metricsPort", "0"]);
    await second.waitForOutput(/connected to the stream/, 30_000);
    server.release();
    await eventually(
      async () => new Set((messages = await consume(topic)).map((m) => m.eventId)).size >= N,
      45_000,
      () => `${messages.length} messages; output:\n${second.output().slice(-3000)}`,
    );
    expect(await second.stop()).toEqual({ code: 0, signal: null });

    messages = await consume(topic);
    const duplicates = expectEveryEvent(messages, events);
    console.log(
      `relay-kafka kill -9: ${atKill} messages at the kill, ${messages.length} in all, ${duplicates} duplicates`,
    );
    // The restart resumed from the saved id, not from the start; only events acked but not yet saved
    // when the process died can come twice.
    const resumed = server.connections[server.connections.length - 1];
    expect(resumed.lastEventId).toBeDefined();
    expect(resumed.startIndex).toBeGreaterThan(0);
    // The duplicates are exactly the events from the resume point to where the first run got.
    const index = new Map(events.map((e, i) => [identity(e), i] as const));
    const seen = new Set<string>();
    const twice: number[] = [];
    for (const m of messages) {
      if (seen.has(m.eventId)) twice.push(index.get(m.eventId)!);
      seen.add(m.eventId);
    }
    twice.sort((a, b) => a - b);
    expect(twice).toEqual(Array.from({ length: duplicates }, (_, i) => resumed.startIndex + i));
    expect(duplicates).toBeGreaterThanOrEqual(atKill - resumed.startIndex);
  });

  it("an unreachable broker: clear warnings naming it, retried with backoff, no crash; SIGTERM exits 0", async () => {
    const events = recentChangeEvents(20);
    server = await startSseServer({ events, retryMs: 20 });
    const deadPort = await freePort();
    // -r=false (pleiades' form): without it, a start with no state file first waits for the topic to name
    // the resume point (the next test); here the publish path itself meets the dead broker.
    const relay = startRelay("relay-nobroker", server.url, `127.0.0.1:${deadPort}`, "pleiades-events", [
      "--metricsPort",
      "0",
      "-r=false",
    ]);
    const failure = new RegExp(
      `RELAY_PUBLISH_FAILED|Kafka 127\\.0\\.0\\.1:${deadPort} topic pleiades-events`,
    );
    await relay.waitForOutput(failure, 40_000);
    // A second attempt after the backoff: it keeps trying (and says so) instead of exiting or spinning.
    await eventually(
      () => server!.connections.length >= 2,
      30_000,
      () => `connections: ${server!.connections.length}; output:\n${relay.output().slice(-3000)}`,
    );
    expect(relay.running).toBe(true);
    const out = relay.output();
    expect(out).toMatch(/"level":40[^\n]*producing \d+ events failed: [^\n]*(ECONNREFUSED|Connection error)/);
    expect(out).toMatch(/reconnecting after a delay/);
    expect(fs.existsSync(path.join(dir, "relay-state.json"))).toBe(false); // nothing published, nothing saved
    expect(await relay.stop(10_000)).toEqual({ code: 0, signal: null });
  });

  it("no state file (a pod without a volume): resumes after the topic's newest event, none missing or twice", async () => {
    const topic = "relay-topic-resume";
    await createTopic(topic);
    const events = recentChangeEvents(N);
    const held = 210; // event 209 has an id: field (every 25th has none)
    server = await startSseServer({ events, holdAt: held, retryMs: 20 });
    const first = startRelay("relay-a", server.url, broker!.bootstrap, topic, ["--metricsPort", "0"]);
    let messages: Consumed[] = [];
    await eventually(
      async () => (messages = await consume(topic)).length >= held,
      45_000,
      () => `${messages.length} messages; output:\n${first.output().slice(-3000)}`,
    );
    expect(await first.stop()).toEqual({ code: 0, signal: null });
    fs.rmSync(path.join(dir, "relay-state.json"));

    const second = startRelay("relay-b", server.url, broker!.bootstrap, topic, ["--metricsPort", "0"]);
    await second.waitForOutput(/connected to the stream/, 30_000);
    expect(second.output()).toContain("resuming after the kafka destination's newest event");
    const resumed = server.connections[server.connections.length - 1];
    expect(resumed.lastEventId).toBe(events[held - 1].id);
    expect(resumed.startIndex).toBe(held);
    server.release();
    await eventually(
      async () => new Set((messages = await consume(topic)).map((m) => m.eventId)).size >= N,
      45_000,
      () => `${messages.length} messages; output:\n${second.output().slice(-3000)}`,
    );
    expect(await second.stop()).toEqual({ code: 0, signal: null });
    expect(expectEveryEvent(await consume(topic), events)).toBe(0);
  });
});
