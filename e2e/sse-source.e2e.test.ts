/**
 * `builtin: sse` as a pipeline Source, run by a sidecar: a local SSE server
 * replays recentchange-shaped events into a built-in file sink. The sidecar
 * is killed with kill -9 mid-stream and started again: it resumes after the
 * last acked event id (kept in the source's state dir), so every event
 * arrives at least once; the duplicates are the records read but not yet
 * acked at the kill.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalCluster, type Started } from "../src/cluster/local-cluster";
import { AdminApi } from "../src/cli/admin-client";
import { recentChangeEvents, startSseServer, type SseTestServer } from "../src/testing/sse-server";
import { freePortBlock } from "./harness/ports";
import { eventually, readSinkFile } from "./harness/pipeline";

jest.setTimeout(120_000);

const ROUTER_HOST = "127.0.15.1";
const POD = "127.0.15.2";
const COUNT = 1500;

describe("builtin: sse as a pipeline source", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-sse-source-"));
  const cluster = new LocalCluster(dir);
  let sse: SseTestServer | undefined;
  let api: AdminApi | undefined;

  afterAll(async () => {
    api?.close();
    await cluster.stopAll();
    await sse?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("delivers every event into the sink and resumes after the last acked id across a kill -9", async () => {
    sse = await startSseServer({ events: recentChangeEvents(COUNT), intervalMs: 2 });
    const base = await freePortBlock([ROUTER_HOST, POD], 6);
    const router = `${ROUTER_HOST}:${base}`;
    await cluster.startRouter({ host: ROUTER_HOST, port: base, heartbeatIntervalSecs: 1 });
    api = new AdminApi(router);
    const outDir = path.join(dir, "out");
    await api.applyPipeline({
      definition: JSON.stringify({
        name: "wiki",
        source: {
          builtin: "sse",
          name: "recentchange",
          config: { url: sse.url, stateDir: path.join(dir, "state") },
        },
        sink: { builtin: "file", config: { dir: outDir } },
      }),
    });
    // No user services in this pod: an empty discovery range.
    const sidecar = {
      id: "s",
      host: POD,
      port: base + 1,
      router,
      discoveryStartPort: base + 5,
      discoveryEndPort: base + 5,
    };
    let running: Started = await cluster.startSidecar(sidecar);

    const outFile = path.join(outDir, "wiki-s.ndjson");
    const metaIds = (): string[] =>
      readSinkFile(outFile).map((l) => (JSON.parse(l.value ?? "{}") as { meta: { id: string } }).meta.id);
    await eventually(
      () => metaIds().length >= 300,
      60_000,
      () => `${metaIds().length} events arrived`,
    );

    running.process.kill("SIGKILL");
    await running.process.exited;
    const beforeRestart = metaIds().length;
    running = await cluster.startSidecar(sidecar);

    await eventually(
      () => new Set(metaIds()).size >= COUNT,
      90_000,
      () => `${new Set(metaIds()).size} of ${COUNT} distinct events arrived`,
    );
    const ids = metaIds();
    const distinct = new Set(ids);
    for (let i = 0; i < COUNT; i++) expect(distinct.has(`rc-${i}`)).toBe(true);
    const duplicates = ids.length - distinct.size;
    process.stdout.write(
      `sse source: ${COUNT} events, ${duplicates} duplicates after kill -9 at ${beforeRestart}\n`,
    );
    // The second connection resumed after an acked id, not from the start.
    const resumed = sse.connections.slice(1).find((c) => c.lastEventId !== undefined);
    expect(resumed?.startIndex).toBeGreaterThan(0);
    expect(duplicates).toBeLessThan(COUNT);
    // The records carry the SSE event's headers.
    expect(readSinkFile(outFile)[0]!.headers["sse-event-type"]).toBe("message");
  });
});
