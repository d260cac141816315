/**
 * Things that arrive late: a sidecar that starts after the pipeline was
 * applied gets its assignments, and a user service started after its
 * sidecar is found by the periodic rescan and starts receiving records.
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
  listAssignments,
  listSidecars,
} from "./harness/pipeline";

jest.setTimeout(120_000);

const ROUTER_HOST = "127.0.11.1";
const POD_A = "127.0.11.2";
const POD_B = "127.0.11.3";

describe("late joiners", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-late-"));
  const cluster = new LocalCluster(dir);

  afterAll(async () => {
    await cluster.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("assigns a sidecar that joins after apply, and finds a service started after its sidecar", async () => {
    const base = await freePortBlock([ROUTER_HOST, POD_A, POD_B], 12);
    const router = `${ROUTER_HOST}:${base}`;
    const discovery = { discoveryStartPort: base + 2, discoveryEndPort: base + 11, discoveryIntervalSecs: 1 };
    await cluster.startRouter({ host: ROUTER_HOST, port: base, heartbeatIntervalSecs: 1 });
    const admin = adminClient(router);
    try {
      await applyPipeline(
        admin,
        "name: late\nsource: { stage: gen }\nsteps: [ { stage: enrich } ]\nsink: { stage: out }\n",
      );
      expect(await listAssignments(admin, "late")).toEqual([]);

      await cluster.startStage({ kind: "source", name: "gen", host: POD_A, port: base + 2, count: 500 });
      await cluster.startSidecar({ id: "a", host: POD_A, port: base + 1, router, ...discovery });
      // Pod B's sidecar comes up with no services at all.
      await cluster.startSidecar({ id: "b", host: POD_B, port: base + 1, router, ...discovery });
      await eventually(
        async () => (await listSidecars(admin)).filter((s) => s.state === "alive").length === 2,
        15_000,
        () => "both sidecars should have registered",
      );
      // Nothing downstream is placed yet, so the source is not read either (records would have nowhere to go).
      expect(await listAssignments(admin, "late")).toEqual([]);

      // The transform and the sink start after pod B's sidecar: only a rescan can find them.
      await cluster.startStage({ kind: "transform", name: "enrich", host: POD_B, port: base + 5 });
      await cluster.startStage({ kind: "sink", name: "out", host: POD_B, port: base + 9, dir });
      await eventually(
        async () => {
          const a = await listAssignments(admin, "late");
          const where = Object.fromEntries(a.map((x) => [x.stage, x.sidecarId]));
          return where.gen === "a" && where.enrich === "b" && where.out === "b";
        },
        15_000,
        () => "pod b's late services were never assigned",
      );
      const sinkFile = path.join(dir, "out.ndjson");
      await eventually(
        () => countLines(sinkFile) >= 500,
        30_000,
        () => `${countLines(sinkFile)} of 500 records arrived`,
      );
    } finally {
      admin.close();
    }
  });
});
