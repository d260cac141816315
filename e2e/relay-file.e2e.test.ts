/**
 * `conveyor relay ingest --file.enable` as a real process against the local
 * SSE server (src/testing/sse-server.ts): every event lands in exactly one
 * file across dropped connections (resumed by Last-Event-ID) and across a
 * kill -9 and restart of the relay.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ManagedProcess } from "../src/cluster/managed-process";
import { fileNameFor } from "../src/builtins/relay/file-publisher";
import {
  recentChangeEvents,
  startSseServer,
  type SseTestServer,
  type TestSseEvent,
} from "../src/testing/sse-server";
import { eventually } from "./harness/pipeline";
import { freePortBlock } from "./harness/ports";
import { metric, scrape } from "./harness/metrics";

jest.setTimeout(60_000);

const N = 200;
let dir: string;
let server: SseTestServer | undefined;
const processes: ManagedProcess[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "relay-e2e-"));
});

afterEach(async () => {
  for (const p of processes.splice(0)) await p.stop(5000);
  await server?.close();
  server = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

function startRelay(name: string, url: string, publishDir: string, extra: string[] = []): ManagedProcess {
  const p = ManagedProcess.conveyor(
    name,
    ["relay", "ingest", "--file.enable", "--file.publishDir", publishDir, "--url", url, ...extra],
    { ...process.env, LOG_LEVEL: "info" },
    path.join(dir, `${name}.log`),
  );
  processes.push(p);
  return p;
}

function eventFiles(publishDir: string): string[] {
  if (!fs.existsSync(publishDir)) return [];
  return fs.readdirSync(publishDir).filter((n) => !n.startsWith("."));
}

function expectedName(e: TestSseEvent): string {
  return fileNameFor({ id: e.id, lastEventId: e.id ?? "", type: "message", data: e.data, receivedAtMs: 0 });
}

function expectExactlyOnce(publishDir: string, events: TestSseEvent[]): void {
  expect(eventFiles(publishDir).sort()).toEqual(events.map(expectedName).sort());
  for (const e of events) {
    const text = fs.readFileSync(path.join(publishDir, expectedName(e)), "utf8");
    expect(JSON.parse(text)).toEqual(JSON.parse(e.data));
  }
}

describe("relay ingest → files", () => {
  it("resumes a dropped connection by Last-Event-ID: all 200 events exactly once", async () => {
    const events = recentChangeEvents(N);
    server = await startSseServer({ events, dropAfter: [60, 140], retryMs: 20 });
    const out = path.join(dir, "events");
    const metricsPort = await freePortBlock(["127.0.0.1"], 1);
    const relay = startRelay("relay", server.url, out, [
      "--metricsPort",
      String(metricsPort),
      "--metricsHost",
      "127.0.0.1",
    ]);
    await eventually(
      () => eventFiles(out).length === N,
      40_000,
      () => `${eventFiles(out).length} files; output:\n${relay.output().slice(-2000)}`,
    );

    // Each reconnect asks for what follows the last *published* event: at most the last complete event
    // before the cut (fewer when the socket closed while events were still unread in node's buffers).
    const connections = server.connections;
    expect(connections).toHaveLength(3);
    expect(connections[0].lastEventId).toBeUndefined();
    expect(connections[1].lastEventId).toBeDefined();
    expect(connections[1].startIndex).toBeGreaterThan(0);
    expect(connections[1].startIndex).toBeLessThanOrEqual(60);
    // The server may run far ahead of a slow relay, so the second cut can come before event 60 is published.
    expect(connections[2].startIndex).toBeGreaterThanOrEqual(connections[1].startIndex);
    expect(connections[2].startIndex).toBeLessThanOrEqual(140);

    const text = await scrape(metricsPort);
    expect(metric(text, "conveyor_relay_received_events_total")).toBeGreaterThanOrEqual(N);
    expect(metric(text, "conveyor_relay_restarts_total")).toBe(2);
    expect(metric(text, "conveyor_relay_receive_errors_total")).toBe(2);
    expect(metric(text, "conveyor_relay_received_lines_total")).toBeGreaterThan(N * 4);
    expect(text).toMatch(/^conveyor_relay_file_publish_events_total\{outcome="written"\} 200$/m);
    expect(metric(text, "conveyor_relay_file_publish_errors_total")).toBe(0);
    expect(metric(text, "conveyor_relay_publish_lag_seconds")).toBeGreaterThan(0);

    const status = await relay.stop();
    expect(status).toEqual({ code: 0, signal: null });
    expectExactlyOnce(out, events);
  });

  it("kill -9 mid-stream and restart: every event's file exists exactly once", async () => {
    const events = recentChangeEvents(N);
    // Paced, and held at 150 so the kill lands before the end of the stream whatever the machine's speed.
    server = await startSseServer({ events, intervalMs: 3, holdAt: 150, retryMs: 20 });
    const out = path.join(dir, "events");
    const first = startRelay("relay-1", server.url, out, ["--metricsPort", "0"]);
    await eventually(
      () => eventFiles(out).length >= 40,
      30_000,
      () => `${eventFiles(out).length} files; output:\n${first.output().slice(-2000)}`,
    );
    first.kill("SIGKILL");
    expect(await first.exited).toEqual({ code: null, signal: "SIGKILL" });
    const atKill = eventFiles(out).length;
    expect(atKill).toBeGreaterThanOrEqual(40);
    expect(atKill).toBeLessThanOrEqual(150);

    const second = startRelay("relay-2", server.url, out, ["--metricsPort", "0"]);
    server.release();
    await eventually(
      () => eventFiles(out).length >= N,
      40_000,
      () => `${eventFiles(out).length} files; output:\n${second.output().slice(-2000)}`,
    );
    expect(await second.stop()).toEqual({ code: 0, signal: null });

    // The restart resumed from the saved id (at or a little before the kill point), not from the start.
    const resumed = server.connections[server.connections.length - 1];
    expect(resumed.lastEventId).toBeDefined();
    expect(resumed.startIndex).toBeGreaterThan(0);
    expect(resumed.startIndex).toBeLessThanOrEqual(atKill + 1);
    expectExactlyOnce(out, events);
    const state = JSON.parse(fs.readFileSync(path.join(out, ".relay-state.json"), "utf8")) as {
      lastEventId: string;
    };
    expect(state.lastEventId).toBe(events[N - 2].id); // event 199 has no id: field; 198 is the last id
  });
});
