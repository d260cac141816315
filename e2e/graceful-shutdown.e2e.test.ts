/**
 * Graceful shutdown: SIGTERM on the sidecar that reads the source stops the
 * reading, drains what is in flight to the sink, acks it, deregisters and
 * exits 0 within its grace period. Started again, it resumes exactly where
 * the acks ended: every record arrives once — no duplicate, which is what
 * shows that the drained records were acked before the exit.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalCluster } from "../src/cluster/local-cluster";
import { freePortBlock } from "./harness/ports";
import {
  adminClient,
  applyPipeline,
  countLines,
  eventually,
  listSidecars,
  readSinkFile,
} from "./harness/pipeline";

jest.setTimeout(120_000);

const ROUTER_HOST = "127.0.17.1";
const POD_A = "127.0.17.2";
const POD_B = "127.0.17.3";
const COUNT = 12_000;
const GRACE_SECS = 10;

describe("graceful shutdown of a sidecar (SIGTERM)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-graceful-"));
  const cluster = new LocalCluster(dir);

  afterAll(async () => {
    await cluster.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("drains and acks in-flight records, deregisters and exits 0; a restart resumes without duplicates", async () => {
    const base = await freePortBlock([ROUTER_HOST, POD_A, POD_B], 12);
    const router = `${ROUTER_HOST}:${base}`;
    await cluster.startRouter({ host: ROUTER_HOST, port: base, heartbeatIntervalSecs: 1 });
    const admin = adminClient(router);
    try {
      await applyPipeline(
        admin,
        `name: graceful
source: { stage: gen }
steps: [ { stage: enrich } ]
sink: { stage: out }
settings: { maxInFlightRecords: 1000 }
`,
      );
      const discovery = { discoveryStartPort: base + 2, discoveryEndPort: base + 11 };
      await cluster.startStage({
        kind: "source",
        name: "gen",
        host: POD_A,
        port: base + 2,
        count: COUNT,
        rate: 3000,
      });
      await cluster.startStage({ kind: "transform", name: "enrich", host: POD_B, port: base + 2 });
      // A slowish sink keeps records in flight at the moment of the SIGTERM.
      await cluster.startStage({ kind: "sink", name: "out", host: POD_B, port: base + 3, dir, delayMs: 20 });
      await cluster.startSidecar({ id: "b", host: POD_B, port: base + 1, router, ...discovery });
      const sidecarA = {
        id: "a",
        host: POD_A,
        port: base + 1,
        router,
        ...discovery,
        shutdownGraceSecs: GRACE_SECS,
      };
      const a = await cluster.startSidecar(sidecarA);

      const sinkFile = path.join(dir, "out.ndjson");
      await eventually(
        () => countLines(sinkFile) >= 2000,
        60_000,
        () => `${countLines(sinkFile)} records`,
      );
      const termAt = Date.now();
      a.process.kill("SIGTERM");
      const status = await a.process.exited;
      const tookMs = Date.now() - termAt;
      expect(status.code).toBe(0);
      expect(tookMs).toBeLessThan(GRACE_SECS * 1000 + 5000);
      expect(a.process.output()).toMatch(/deregistered from the router/);
      expect(a.process.output()).not.toMatch(/grace period over/);
      // Deregistered: the router forgot it at once (not after a dead timeout).
      expect((await listSidecars(admin)).map((s) => s.sidecarId)).toEqual(["b"]);
      const atExit = countLines(sinkFile);

      await cluster.startSidecar(sidecarA);
      await eventually(
        () => countLines(sinkFile) >= COUNT,
        90_000,
        () => `${countLines(sinkFile)} of ${COUNT}`,
      );
      const ids = readSinkFile(sinkFile).map((l) => l.id);
      expect(new Set(ids).size).toBe(COUNT);
      expect(ids).toHaveLength(COUNT); // no duplicates: everything drained before the exit was acked
      expect(atExit).toBeLessThan(COUNT);
    } finally {
      admin.close();
    }
  });
});
