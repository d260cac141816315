import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { parsePipeline } from "../../config/pipeline";
import type { SourceBatch } from "../../stages/contract";
import { createLogger } from "../../telemetry/log";
import {
  recentChangeEvents,
  startSseServer,
  type SseTestServer,
  type TestSseEvent,
} from "../../testing/sse-server";
import { relayMetrics } from "./metrics";
import { openSseSource, sseRecord, sseStateFile, SSE_EVENT_ID_HEADER, type SseSource } from "./stage";
import type { SseSourceConfig } from "./config";

jest.setTimeout(30_000);

const log = createLogger("sse-source-test");
log.level = "silent";

let dir: string;
let server: SseTestServer | undefined;
const readers: SseSource[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "sse-source-test-"));
});

afterEach(async () => {
  for (const r of readers.splice(0)) {
    r.close();
    await r.whenClosed();
  }
  await server?.close();
  server = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

function identity(e: TestSseEvent): string {
  return e.id ?? (JSON.parse(e.data) as { meta: { id: string } }).meta.id;
}

/** Opens a reader and collects its batches. */
function open(config: Partial<SseSourceConfig> & { url: string }): {
  reader: SseSource;
  batches: SourceBatch[];
} {
  const reader = openSseSource(
    { batchSize: 10, maxBatchWaitMs: 50, ...config },
    { stateDir: dir, log, initialBackoffMs: 10, maxBackoffMs: 200 },
  );
  readers.push(reader);
  const batches: SourceBatch[] = [];
  reader.onBatch((b) => batches.push(b));
  reader.onEnd((err) => {
    throw new Error(`unexpected end: ${err?.message ?? "clean"}`);
  });
  return { reader, batches };
}

const ids = (batches: SourceBatch[]): string[] => batches.flatMap((b) => b.records.map((r) => r.id));
const count = (batches: SourceBatch[]): number => batches.reduce((n, b) => n + b.records.length, 0);

async function waitFor(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("sseRecord", () => {
  it("id = identity, key = wiki, value = the data bytes, type/id headers, eventTimeMs = meta.dt", () => {
    const [e] = recentChangeEvents(1);
    const r = sseRecord({ id: e.id, lastEventId: e.id!, type: "message", data: e.data, receivedAtMs: 5 });
    expect(r.id).toBe(e.id);
    expect(r.key.toString()).toBe("enwiki");
    expect(r.value.toString()).toBe(e.data);
    expect(r.headers).toEqual({ "sse-event-type": "message", [SSE_EVENT_ID_HEADER]: e.id });
    expect(r.eventTimeMs).toBe(Date.UTC(2024, 0, 1));
    // Without an own id: meta.id is the identity, no sse-event-id header.
    const noId = sseRecord({
      id: undefined,
      lastEventId: "prev",
      type: "message",
      data: e.data,
      receivedAtMs: 5,
    });
    expect(noId.id).toBe("rc-0");
    expect(noId.headers[SSE_EVENT_ID_HEADER]).toBeUndefined();
  });
});

describe("SseSource", () => {
  it("sends only within granted credits, and stops reading when they run out", async () => {
    const events = recentChangeEvents(200);
    server = await startSseServer({ events });
    const received = async (): Promise<number> =>
      (await relayMetrics.receivedEvents.get()).values[0]?.value ?? 0;
    const before = await received();
    const { reader, batches } = open({ url: server.url });
    await pause(300); // connected and buffering, but no credits yet
    expect(batches).toEqual([]);
    // It stopped reading the stream once its buffer (batchSize) was full: 200 events are waiting.
    expect((await received()) - before).toBe(10);
    reader.grant(25);
    await waitFor(() => count(batches) === 25, "25 records");
    await pause(300); // well past maxBatchWaitMs: still nothing more without credits
    expect(batches.map((b) => b.records.length)).toEqual([10, 10, 5]);
    expect((await received()) - before).toBe(35); // the 25 sent and a full buffer, no more
    expect(ids(batches)).toEqual(events.slice(0, 25).map(identity));
    // Each batch's cursor is its last event id (event 24 has no id: it inherits event 23's).
    expect(batches[0].cursor).toBe(events[9].id);
    expect(batches[2].cursor).toBe(events[23].id);
    reader.grant(175);
    await waitFor(() => count(batches) === 200, "200 records");
    expect(ids(batches)).toEqual(events.map(identity));
    expect(batches.every((b) => b.records.length <= 10)).toBe(true);
    expect(server.connections).toHaveLength(1);
  });

  it("sends a partial batch after maxBatchWaitMs when the stream pauses", async () => {
    const events = recentChangeEvents(20);
    server = await startSseServer({ events, holdAt: 7 });
    const { reader, batches } = open({ url: server.url, maxBatchWaitMs: 50 });
    reader.grant(100);
    await waitFor(() => count(batches) === 7, "7 records");
    expect(batches.map((b) => b.records.length)).toEqual([7]);
    server.release();
    await waitFor(() => count(batches) === 20, "20 records");
    expect(ids(batches)).toEqual(events.map(identity));
  });

  it("resumes a new reader after the last acked cursor (Last-Event-ID): no gaps, unacked records again", async () => {
    const events = recentChangeEvents(100);
    server = await startSseServer({ events });
    const first = open({ url: server.url });
    first.reader.grant(60);
    await waitFor(() => count(first.batches) === 60, "60 records");
    // The sink confirmed the first 4 batches (events 0..39); 40..59 were sent but not acked.
    first.reader.grant(0, first.batches[3].cursor);
    first.reader.close();
    await first.reader.whenClosed();
    expect(JSON.parse(fs.readFileSync(sseStateFile(dir, server.url), "utf8"))).toEqual({
      lastEventId: events[39].id,
    });

    const second = open({ url: server.url });
    second.reader.grant(1000);
    await waitFor(() => count(second.batches) === 60, "60 records");
    expect(server.connections[1].lastEventId).toBe(events[39].id);
    expect(ids(second.batches)).toEqual(events.slice(40).map(identity));
    const seen = new Set([...ids(first.batches), ...ids(second.batches)]);
    expect([...seen].sort()).toEqual(events.map(identity).sort());
  });

  it("acks granted back to back are all saved in order: the newest one wins", async () => {
    const events = recentChangeEvents(30);
    server = await startSseServer({ events });
    const { reader, batches } = open({ url: server.url });
    reader.grant(30);
    await waitFor(() => count(batches) === 30, "30 records");
    for (const b of batches) reader.grant(0, b.cursor);
    reader.close();
    await reader.whenClosed();
    const file = sseStateFile(dir, server.url);
    expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual({ lastEventId: events[29].id });
  });

  it("reconnects after a dropped connection from the last received event: every event once, in order", async () => {
    const events = recentChangeEvents(120);
    server = await startSseServer({ events, dropAfter: [33, 81], retryMs: 10 });
    const { reader, batches } = open({ url: server.url });
    reader.grant(1000);
    await waitFor(() => count(batches) === 120, "120 records");
    await pause(100);
    expect(ids(batches)).toEqual(events.map(identity));
    expect(server.connections).toHaveLength(3);
    // Each reconnect follows the last event received (at most the last complete one before the cut: node
    // drops bytes it had received but not handed out when the socket closes).
    const [, second, third] = server.connections;
    expect(second.lastEventId).toBeDefined();
    expect(second.startIndex).toBeGreaterThan(0);
    expect(second.startIndex).toBeLessThanOrEqual(33);
    expect(third.startIndex).toBeGreaterThan(second.startIndex);
    expect(third.startIndex).toBeLessThanOrEqual(81);
  });

  it("sends its configured headers, but keeps Accept and Last-Event-ID its own", async () => {
    const events = recentChangeEvents(3);
    let seen: Record<string, string | string[] | undefined> = {};
    const srv = http.createServer((req, res) => {
      seen = req.headers;
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      res.write(`id: a\ndata: ${events[0].data}\n\n`);
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as { port: number }).port;
    try {
      const { reader, batches } = open({
        url: `http://127.0.0.1:${port}/`,
        headers: { Authorization: "Bearer x", "User-Agent": "me/1", accept: "text/html" },
      });
      reader.grant(10);
      await waitFor(() => count(batches) === 1, "1 record");
      expect(seen.authorization).toBe("Bearer x");
      expect(seen["user-agent"]).toBe("me/1");
      expect(seen.accept).toBe("text/event-stream");
    } finally {
      for (const r of readers.splice(0)) {
        r.close();
        await r.whenClosed();
      }
      srv.closeAllConnections();
      await new Promise<void>((r) => srv.close(() => r()));
    }
  });

  it("a corrupt state file ends the reader with an error naming the file", async () => {
    const url = "http://127.0.0.1:1/stream";
    fs.writeFileSync(sseStateFile(dir, url), "{nope");
    const reader = openSseSource({ url }, { stateDir: dir, log });
    readers.push(reader);
    const err = await new Promise<Error | undefined>((resolve) => reader.onEnd(resolve));
    expect(err?.message).toMatch(/sse-[0-9a-f]{16}\.state\.json is not JSON/);
  });
});

describe("builtin: sse in a pipeline", () => {
  const pipeline = (config: string): string =>
    `name: wiki\nsource: { builtin: sse, config: ${config} }\nsink: { builtin: file, config: { dir: /tmp/x } }\n`;

  it("validates as a source with its config", () => {
    const spec = parsePipeline(
      pipeline(
        '{ url: "https://stream.wikimedia.org/v2/stream/recentchange", batchSize: 500, headers: { User-Agent: "me" } }',
      ),
    );
    expect(spec.source).toMatchObject({ builtin: "sse" });
  });

  it("rejects a missing url, a bad batchSize and unknown fields", () => {
    expect(() => parsePipeline(pipeline("{ batchSize: 0, colour: red }"))).toThrow(
      /url|batchSize|colour|additional/,
    );
    try {
      parsePipeline(pipeline('{ url: "ftp://x", batchSize: 0, colour: red }'));
      throw new Error("no error");
    } catch (err) {
      const problems = (err as { details: { problems: string[] } }).details.problems.join("\n");
      expect(problems).toMatch(/\/source\/config.*url/);
      expect(problems).toMatch(/\/source\/config.*batchSize/);
      expect(problems).toMatch(/\/source\/config.*colour/);
    }
  });

  it("is a source: as a sink it is refused", () => {
    expect(() =>
      parsePipeline(`name: w\nsource: { stage: s }\nsink: { builtin: sse, config: { url: "http://x/" } }\n`),
    ).toThrow(/builtin "sse" is a source, but this position needs a sink/);
  });
});
