/**
 * A zombie sidecar: the sidecar that reads the source is frozen (SIGSTOP) past
 * the router's dead timeout, the source moves to another pod, then the frozen
 * sidecar wakes up (SIGCONT). From then on it must deliver nothing: its own
 * pause fence refuses delivery until the router has sent it the current
 * routing table, and peers refuse batches routed on an older generation.
 *
 * Pods: A (127.0.14.2) and B (127.0.14.3) each have a source "gen" (ids a-… and
 * b-…); C (127.0.14.4) has the transform and the sink. The router picks A first.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalCluster, type Started } from "../src/cluster/local-cluster";
import { freePortBlock } from "./harness/ports";
import { adminClient, applyPipeline, eventually, listAssignments, readSinkFile } from "./harness/pipeline";

jest.setTimeout(120_000);

const ROUTER_HOST = "127.0.14.1";
const POD_A = "127.0.14.2";
const POD_B = "127.0.14.3";
const POD_C = "127.0.14.4";

const PIPELINE = `name: zombie
source: { stage: gen }
steps: [ { stage: enrich } ]
sink: { stage: out }
`;

describe("zombie sidecar (SIGSTOP past the dead timeout, then SIGCONT)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-zombie-"));
  const cluster = new LocalCluster(dir);
  let base = 0;
  let sidecarA: Started | undefined;

  afterAll(async () => {
    sidecarA?.process.kill("SIGCONT"); // a stopped process cannot stop
    await cluster.stopAll();
    if (!process.env.KEEP_E2E_DIR) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("delivers nothing after its source moved, and the pipeline keeps flowing from the new owner", async () => {
    base = await freePortBlock([ROUTER_HOST, POD_A, POD_B, POD_C], 12);
    const router = `${ROUTER_HOST}:${base}`;
    await cluster.startRouter({ host: ROUTER_HOST, port: base, heartbeatIntervalSecs: 1 });
    const admin = adminClient(router);
    try {
      await applyPipeline(admin, PIPELINE);
      const discovery = { discoveryStartPort: base + 2, discoveryEndPort: base + 11 };
      for (const [host, prefix] of [
        [POD_A, "a"],
        [POD_B, "b"],
      ] as const) {
        await cluster.startStage({
          kind: "source",
          name: "gen",
          host,
          port: base + 2,
          rate: 300,
          idPrefix: prefix,
        });
      }
      await cluster.startStage({ kind: "transform", name: "enrich", host: POD_C, port: base + 2 });
      await cluster.startStage({ kind: "sink", name: "out", host: POD_C, port: base + 3, dir });
      // A registers first, so the single source instance is A's; B stands by.
      sidecarA = await cluster.startSidecar({ id: "a", host: POD_A, port: base + 1, router, ...discovery });
      await cluster.startSidecar({ id: "c", host: POD_C, port: base + 1, router, ...discovery });
      await cluster.startSidecar({ id: "b", host: POD_B, port: base + 1, router, ...discovery });

      const sinkFile = path.join(dir, "out.ndjson");
      const countFrom = (prefix: string): number =>
        readSinkFile(sinkFile).filter((l) => l.id.startsWith(`${prefix}-`)).length;
      await eventually(
        () => countFrom("a") >= 300,
        30_000,
        () => `${countFrom("a")} records from A`,
      );
      expect((await listAssignments(admin, "zombie")).find((a) => a.stage === "gen")?.sidecarId).toBe("a");

      sidecarA.process.kill("SIGSTOP");
      // Dead after 3 missed heartbeats of 1 s; the source moves to B.
      await eventually(
        async () =>
          (await listAssignments(admin, "zombie")).find((a) => a.stage === "gen")?.sidecarId === "b",
        20_000,
        () => "the source never moved to B",
      );
      await eventually(
        () => countFrom("b") >= 100,
        30_000,
        () => `${countFrom("b")} records from B`,
      );
      const fromAAtWake = countFrom("a");

      sidecarA.process.kill("SIGCONT");
      await sidecarA.process.waitForOutput(/fencing delivery and registering again/, 15_000);
      await sidecarA.process.waitForOutput(/registered with the router/, 15_000);
      // Give the woken sidecar time to do whatever it would do, while B keeps flowing.
      const fromB = countFrom("b");
      await eventually(
        () => countFrom("b") >= fromB + 600,
        30_000,
        () => `B stalled at ${countFrom("b")}`,
      );

      expect(countFrom("a")).toBe(fromAAtWake);
      // The source stays with B (sticky); A runs nothing of the pipeline now.
      const assignments = await listAssignments(admin, "zombie");
      expect(assignments.find((a) => a.stage === "gen")?.sidecarId).toBe("b");
    } finally {
      admin.close();
    }
  });
});
