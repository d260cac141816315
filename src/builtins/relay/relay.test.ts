import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  recentChangeEvents,
  startSseServer,
  type SseTestServer,
  type TestSseEvent,
} from "../../testing/sse-server";
import { createLogger } from "../../telemetry/log";
import { FilePublisher, fileNameFor } from "./file-publisher";
import { EVENT_ID_HEADER, KafkaPublisher } from "./kafka-publisher";
import { relayMetrics } from "./metrics";
import type { PublishOutcome, Publisher, RelayEvent } from "./publisher";
import { Relay, backoffMs } from "./relay";
import { StateStore } from "./state-store";
import { ingestConfig, type IngestFlags } from "./cli";

// Real fsyncs on a loaded 2-core machine: generous bounds, no timing assertions.
jest.setTimeout(30_000);

const log = createLogger("relay-test");
log.level = "silent";

let dir: string;
let server: SseTestServer | undefined;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "relay-test-"));
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

function eventFiles(publishDir: string): string[] {
  return fs.readdirSync(publishDir).filter((n) => !n.startsWith("."));
}

/** The expected file name of a test event (the relay sees the same id and data, modulo data line splits). */
function expectedName(e: TestSseEvent): string {
  return fileNameFor({ id: e.id, lastEventId: e.id ?? "", type: "message", data: e.data, receivedAtMs: 0 });
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function expectExactlyOnce(publishDir: string, events: TestSseEvent[]): void {
  const files = eventFiles(publishDir).sort();
  expect(files).toEqual(events.map(expectedName).sort());
  for (const e of events) {
    const text = fs.readFileSync(path.join(publishDir, expectedName(e)), "utf8");
    expect(JSON.parse(text)).toEqual(JSON.parse(e.data));
  }
}

function relayTo(publisher: Publisher, url: string, resume = true): Relay {
  return new Relay({
    url,
    resume,
    publisher,
    state: new StateStore(path.join(dir, "state.json")),
    log,
    initialBackoffMs: 10,
    maxBackoffMs: 200,
  });
}

describe("Relay → FilePublisher", () => {
  it("publishes every event exactly once through dropped connections and a 503, resuming by Last-Event-ID", async () => {
    const events = recentChangeEvents(150);
    server = await startSseServer({ events, dropAfter: [37, 120], failFirst: 1, retryMs: 10 });
    const restartsBefore = (await relayMetrics.restarts.get()).values[0]?.value ?? 0;
    const out = path.join(dir, "events");
    const relay = relayTo(new FilePublisher(out, log), server.url);
    const running = relay.run();
    await waitFor(() => fs.existsSync(out) && eventFiles(out).length === events.length, "150 files");
    await relay.stop();
    await running;

    expectExactlyOnce(out, events);
    const c = server.connections;
    expect(c.map((x) => x.status)).toEqual([503, 200, 200, 200]);
    expect(c[0].lastEventId).toBeUndefined();
    // Event 37 was cut mid-way: the reconnect asks for what follows the last event published, which is
    // event 36 at most (node discards what it had buffered but not yet handed out when the socket closes).
    expect(c[2].lastEventId).toBeDefined();
    expect(c[2].startIndex).toBeGreaterThan(0);
    expect(c[2].startIndex).toBeLessThanOrEqual(37);
    expect(c[3].startIndex).toBeGreaterThanOrEqual(c[2].startIndex);
    expect(c[3].startIndex).toBeLessThanOrEqual(120);
    const restartsAfter = (await relayMetrics.restarts.get()).values[0]?.value ?? 0;
    expect(restartsAfter - restartsBefore).toBe(3);
    // The state holds the last event id: event 149 has no id: field, so it is event 148's.
    expect(events[149].id).toBeUndefined();
    expect(JSON.parse(fs.readFileSync(path.join(dir, "state.json"), "utf8"))).toEqual({
      lastEventId: events[148].id,
    });
  });

  it("skips events already published (a replay after a crash) as duplicates without overwriting", async () => {
    const events = recentChangeEvents(30);
    const out = path.join(dir, "events");
    fs.mkdirSync(out);
    // A crash after publishing events 0..19 but before saving the id of 10..19: the state says 9.
    for (const e of events.slice(0, 20)) fs.writeFileSync(path.join(out, expectedName(e)), e.data);
    fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify({ lastEventId: events[9].id }));
    fs.writeFileSync(path.join(out, ".tmp-999-0"), "half an event from the crashed run");
    const dupBefore = (await relayMetrics.filePublishEvents.get()).values.find(
      (v) => v.labels.outcome === "duplicate",
    );
    server = await startSseServer({ events });
    const relay = relayTo(new FilePublisher(out, log), server.url);
    const running = relay.run();
    await waitFor(() => eventFiles(out).length === 30, "30 files");
    await waitFor(
      () => JSON.parse(fs.readFileSync(path.join(dir, "state.json"), "utf8")).lastEventId === events[29].id,
      "state at the last event",
    );
    await relay.stop();
    await running;
    expect(server.connections[0].lastEventId).toBe(events[9].id);
    expectExactlyOnce(out, events);
    expect(fs.readdirSync(out).filter((n) => n.startsWith(".tmp-"))).toEqual([]);
    const dupAfter = (await relayMetrics.filePublishEvents.get()).values.find(
      (v) => v.labels.outcome === "duplicate",
    );
    expect((dupAfter?.value ?? 0) - (dupBefore?.value ?? 0)).toBe(10);
  });

  it("saves the id only after a publish succeeded, and retries a failed publish from that id", async () => {
    const events = recentChangeEvents(60);
    server = await startSseServer({ events, retryMs: 10 });
    const published: string[] = [];
    let failed = false;
    const states: Array<string | undefined> = [];
    const store = new StateStore(path.join(dir, "state.json"));
    const publisher: Publisher = {
      kind: "file",
      open: async () => undefined,
      close: async () => undefined,
      publish: async (e: RelayEvent): Promise<PublishOutcome> => {
        states.push((await store.load())?.lastEventId);
        if (e.id === events[40].id && !failed) {
          failed = true;
          throw new Error("disk full");
        }
        published.push(e.id ?? e.lastEventId);
        return "written";
      },
    };
    const relay = relayTo(publisher, server.url);
    const running = relay.run();
    await waitFor(() => published.length === 60, "60 publishes");
    await relay.stop();
    await running;
    expect(published).toEqual(events.map((e, i) => e.id ?? events[i - 1].id));
    expect(server.connections[1].lastEventId).toBe(events[39].id);
    // When event i is being published, the saved id is the previous event's (never ahead of the publish).
    expect(states[0]).toBeUndefined();
    expect(states[41]).toBe(events[39].id); // the retry of event 40
  });

  it("with resume=false starts without Last-Event-ID even when a state file exists", async () => {
    const events = recentChangeEvents(5);
    fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify({ lastEventId: events[2].id }));
    server = await startSseServer({ events });
    const out = path.join(dir, "events");
    const relay = relayTo(new FilePublisher(out, log), server.url, false);
    const running = relay.run();
    await waitFor(() => fs.existsSync(out) && eventFiles(out).length === 5, "5 files");
    await relay.stop();
    await running;
    expect(server.connections[0].lastEventId).toBeUndefined();
  });

  it("refuses to start on a corrupt state file instead of silently starting over", async () => {
    fs.writeFileSync(path.join(dir, "state.json"), "{not json");
    const relay = relayTo(new FilePublisher(path.join(dir, "events"), log), "http://127.0.0.1:1/");
    await expect(relay.run()).rejects.toThrow(/not JSON/);
  });
});

describe("Relay → a batching publisher (KafkaPublisher on a fake producer)", () => {
  it("overlaps publishes, saves an id only when it and all before it were acked, and replays after a failed batch", async () => {
    const events = recentChangeEvents(300);
    server = await startSseServer({ events, retryMs: 10 });
    const identities = events.map((e) => e.id ?? (JSON.parse(e.data) as { meta: { id: string } }).meta.id);
    const indexOf = new Map(events.map((e, i) => [e.id, i] as const));
    const acked = new Set<number>();
    const batchSizes: number[] = [];
    let sends = 0;
    const violations: string[] = [];
    class CheckedStore extends StateStore {
      override async save(state: { lastEventId: string }): Promise<void> {
        const upTo = indexOf.get(state.lastEventId) ?? -1;
        for (let i = 0; i <= upTo; i++)
          if (!acked.has(i)) violations.push(`saved ${upTo} before ${i} was acked`);
        await super.save(state);
      }
    }
    const publisher = new KafkaPublisher({
      brokers: ["127.0.0.1:9092"],
      topic: "t",
      log,
      maxPending: 100,
      maxBatchEvents: 40,
      newProducer: () => ({
        connect: async () => undefined,
        disconnect: async () => undefined,
        send: async (record) => {
          await new Promise((r) => setTimeout(r, 2));
          if (++sends === 3) throw new Error("NOT_LEADER_FOR_PARTITION");
          batchSizes.push(record.messages.length);
          for (const m of record.messages) {
            const id = String(m.headers?.[EVENT_ID_HEADER]);
            const i = identities.indexOf(id);
            acked.add(i);
          }
          return [];
        },
      }),
    });
    const relay = new Relay({
      url: server.url,
      resume: true,
      publisher,
      state: new CheckedStore(path.join(dir, "state.json")),
      log,
      initialBackoffMs: 10,
      maxBackoffMs: 200,
    });
    const running = relay.run();
    await waitFor(() => acked.size === events.length, "every event acked");
    await waitFor(
      () =>
        fs.existsSync(path.join(dir, "state.json")) &&
        JSON.parse(fs.readFileSync(path.join(dir, "state.json"), "utf8")).lastEventId === events[298].id,
      "state at the last event with an id",
    );
    await relay.stop();
    await running;
    expect(violations).toEqual([]);
    expect(Math.max(...batchSizes)).toBeGreaterThan(1); // publishes overlapped and were batched
    expect(server.connections.length).toBeGreaterThanOrEqual(2); // the failed batch made the relay reconnect
    const resumeAt = server.connections[1].startIndex;
    expect(acked.has(resumeAt - 1) || resumeAt === 0).toBe(true); // it resumed after an acked event
  });
});

describe("file names", () => {
  const base: RelayEvent = { id: undefined, lastEventId: "", type: "message", data: "{}", receivedAtMs: 0 };

  it("use a safe SSE id as is, hash an unsafe one, then fall back to meta.id, then to the data", () => {
    expect(fileNameFor({ ...base, id: "abc-1.2" })).toBe("id-abc-1.2.json");
    expect(fileNameFor({ ...base, id: '[{"offset":1}]' })).toMatch(/^id-sha256-[0-9a-f]{64}\.json$/);
    expect(fileNameFor({ ...base, id: "../etc/passwd" })).toMatch(/^id-sha256-/);
    expect(fileNameFor({ ...base, id: ".hidden" })).toMatch(/^id-sha256-/);
    expect(fileNameFor({ ...base, lastEventId: "inherited", data: '{"meta":{"id":"u-1"}}' })).toBe(
      "meta-u-1.json",
    );
    expect(fileNameFor({ ...base, id: "", data: '{"meta":{"id":"a/b"}}' })).toMatch(/^meta-sha256-/);
    expect(fileNameFor({ ...base, data: "not json" })).toMatch(/^data-sha256-[0-9a-f]{64}\.json$/);
  });
});

describe("backoffMs", () => {
  it("starts at the base after progress, doubles per failure, caps, and jitters ±20 %", () => {
    const mid = (): number => 0.5;
    expect([0, 1, 2, 3, 4, 10].map((f) => backoffMs(100, f, 1000, mid))).toEqual([
      100, 100, 200, 400, 800, 1000,
    ]);
    expect(backoffMs(100, 0, 1000, () => 0)).toBe(80);
    expect(backoffMs(100, 0, 1000, () => 1)).toBe(120);
  });
});

describe("ingestConfig", () => {
  const flags: IngestFlags = {
    url: "https://stream.wikimedia.org/v2/stream/recentchange",
    "file.publishDir": "./events",
    "kafka.broker": "localhost:9092",
    "kafka.topic": "pleiades-events",
    metricsPort: "9000",
    metricsHost: "0.0.0.0",
    resume: true,
  };

  it("requires exactly one publisher", () => {
    expect(() => ingestConfig(flags)).toThrow(/exactly one publisher/);
    expect(() => ingestConfig({ ...flags, "file.enable": true, "kafka.enable": true })).toThrow(/both/);
  });

  it("maps dotted flags and defaults the state file into the publish directory", () => {
    const c = ingestConfig({ ...flags, "file.enable": true, "file.publishDir": "/data/ev", verbose: true });
    expect(c.publisher).toEqual({ kind: "file", publishDir: "/data/ev" });
    expect(c.stateFile).toBe(path.join("/data/ev", ".relay-state.json"));
    expect(c.logLevel).toBe("debug");
    const k = ingestConfig({ ...flags, "kafka.enable": true, stateFile: "/s.json", quiet: true });
    expect(k.publisher).toEqual({ kind: "kafka", brokers: ["localhost:9092"], topic: "pleiades-events" });
    expect(k.stateFile).toBe("/s.json");
    expect(k.logLevel).toBe("warn");
  });

  it("splits a broker list and rejects a bad broker or topic name", () => {
    const k = ingestConfig({ ...flags, "kafka.enable": true, "kafka.broker": "a:9092, b:9093" });
    expect(k.publisher).toEqual({ kind: "kafka", brokers: ["a:9092", "b:9093"], topic: "pleiades-events" });
    expect(k.stateFile).toBe("relay-state.json");
    for (const broker of ["nohost", "a:0", "a:99999", "a:9092,", "a b:1"]) {
      expect(() => ingestConfig({ ...flags, "kafka.enable": true, "kafka.broker": broker })).toThrow(
        /--kafka\.broker must be host:port/,
      );
    }
    for (const topic of ["", "a b", "..", "x".repeat(250)]) {
      expect(() => ingestConfig({ ...flags, "kafka.enable": true, "kafka.topic": topic })).toThrow(
        /--kafka\.topic is not a valid Kafka topic name/,
      );
    }
  });

  it("rejects a bad port or URL", () => {
    expect(() => ingestConfig({ ...flags, "file.enable": true, metricsPort: "x" })).toThrow(/metricsPort/);
    expect(() => ingestConfig({ ...flags, "file.enable": true, url: "ftp://x/" })).toThrow(/http/);
  });
});
