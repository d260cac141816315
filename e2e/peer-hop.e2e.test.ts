/**
 * Router + 2 sidecars + 3 user services on two loopback "pods":
 * 10,000 records from a source in pod A, through a transform in pod B (peer
 * hop), into a sink in pod B. Every record must arrive exactly as expected.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalCluster } from "../src/cluster/local-cluster";
import { generatorRecord } from "../src/sdk";
import { enrichValue } from "../src/demo/sample-stages";
import { valueOf } from "../src/builtins/file/ndjson-writer";
import { freePortBlock } from "./harness/ports";
import {
  adminClient,
  applyPipeline,
  countLines,
  eventually,
  listAssignments,
  readSinkFile,
} from "./harness/pipeline";

jest.setTimeout(120_000);

const ROUTER_HOST = "127.0.10.1";
const POD_A = "127.0.10.2";
const POD_B = "127.0.10.3";
const COUNT = 10_000;

const PIPELINE = `name: orders
source: { stage: gen }
steps: [ { stage: enrich } ]
sink: { stage: out }
`;

describe("peer hop", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-peer-hop-"));
  const cluster = new LocalCluster(dir);
  let base = 0;
  let router = "";

  beforeAll(async () => {
    base = await freePortBlock([ROUTER_HOST, POD_A, POD_B], 12);
    router = `${ROUTER_HOST}:${base}`;
    await cluster.startRouter({ host: ROUTER_HOST, port: base, heartbeatIntervalSecs: 1 });
  });

  afterAll(async () => {
    await cluster.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("moves 10,000 records from pod A through pod B's transform into pod B's sink, each exactly as sent", async () => {
    const admin = adminClient(router);
    try {
      // The pipeline is applied before any sidecar exists: they get their assignments when they join.
      await applyPipeline(admin, PIPELINE);
      const discovery = { discoveryStartPort: base + 2, discoveryEndPort: base + 11 };
      await cluster.startStage({ kind: "source", name: "gen", host: POD_A, port: base + 2, count: COUNT });
      await cluster.startStage({ kind: "transform", name: "enrich", host: POD_B, port: base + 2 });
      await cluster.startStage({ kind: "sink", name: "out", host: POD_B, port: base + 3, dir });
      await cluster.startSidecar({ id: "a", host: POD_A, port: base + 1, router, ...discovery });
      await cluster.startSidecar({ id: "b", host: POD_B, port: base + 1, router, ...discovery });

      const sinkFile = path.join(dir, "out.ndjson");
      await eventually(
        () => countLines(sinkFile) >= COUNT,
        60_000,
        () => `${countLines(sinkFile)} of ${COUNT} records arrived`,
      );

      const lines = readSinkFile(sinkFile);
      const byId = new Map(lines.map((l) => [l.id, l]));
      expect(byId.size).toBe(COUNT);
      for (let i = 0; i < COUNT; i++) {
        const sent = generatorRecord(i);
        const got = byId.get(sent.id);
        if (!got) throw new Error(`record ${sent.id} is missing`);
        expect(valueOf(got).equals(enrichValue(sent.value))).toBe(true);
        expect(got.key).toBe(sent.key.toString());
        expect(got.headers).toEqual({ enriched: "true" });
      }

      const assignments = await listAssignments(admin, "orders");
      const where = Object.fromEntries(assignments.map((a) => [a.stage, a.sidecarId]));
      expect(where).toEqual({ gen: "a", enrich: "b", out: "b" });
    } finally {
      admin.close();
    }
  });
});
