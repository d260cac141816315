/**
 * Hot re-apply: a pipeline is applied again, changed, while records flow
 * through a peer hop. Every change makes a new generation (new routing table,
 * peers fence batches routed on the old one); nothing may be lost.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalCluster } from "../src/cluster/local-cluster";
import { AdminApi } from "../src/cli/admin-client";
import { freePortBlock } from "./harness/ports";
import { countLines, eventually, readSinkFile } from "./harness/pipeline";

jest.setTimeout(120_000);

const ROUTER_HOST = "127.0.16.1";
const POD_A = "127.0.16.2";
const POD_B = "127.0.16.3";
const COUNT = 20_000;

const pipeline = (batchSize: number, stageTimeoutMs: number): string => `name: reapply
description: batch ${batchSize}
source: { stage: gen }
steps: [ { stage: enrich } ]
sink: { stage: out }
settings: { batchSize: ${batchSize}, stageTimeoutMs: ${stageTimeoutMs} }
`;

describe("hot re-apply of a changed pipeline", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-reapply-"));
  const cluster = new LocalCluster(dir);
  let api: AdminApi | undefined;

  afterAll(async () => {
    api?.close();
    await cluster.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("loses nothing while the pipeline is re-applied with changes three times", async () => {
    const base = await freePortBlock([ROUTER_HOST, POD_A, POD_B], 12);
    const router = `${ROUTER_HOST}:${base}`;
    await cluster.startRouter({ host: ROUTER_HOST, port: base, heartbeatIntervalSecs: 1 });
    api = new AdminApi(router);
    await api.applyPipeline({ definition: pipeline(100, 30_000) });
    const discovery = { discoveryStartPort: base + 2, discoveryEndPort: base + 11 };
    await cluster.startStage({
      kind: "source",
      name: "gen",
      host: POD_A,
      port: base + 2,
      count: COUNT,
      rate: 2500,
    });
    await cluster.startStage({ kind: "transform", name: "enrich", host: POD_B, port: base + 2 });
    await cluster.startStage({ kind: "sink", name: "out", host: POD_B, port: base + 3, dir });
    await cluster.startSidecar({ id: "a", host: POD_A, port: base + 1, router, ...discovery });
    await cluster.startSidecar({ id: "b", host: POD_B, port: base + 1, router, ...discovery });

    const sinkFile = path.join(dir, "out.ndjson");
    const generations: number[] = [];
    for (const [i, [batchSize, timeout]] of [
      [37, 20_000],
      [250, 25_000],
      [100, 30_000],
    ].entries()) {
      // Each change lands while records are in flight.
      await eventually(
        () => countLines(sinkFile) >= (i + 1) * 3000,
        60_000,
        () => `${countLines(sinkFile)} records before change ${i + 1}`,
      );
      const res = await api.applyPipeline({ definition: pipeline(batchSize!, timeout!) });
      generations.push(Number(res.generation));
    }
    expect(new Set(generations).size).toBe(3);

    await eventually(
      () => new Set(readSinkFile(sinkFile).map((l) => l.id)).size >= COUNT,
      90_000,
      () => `${new Set(readSinkFile(sinkFile).map((l) => l.id)).size} of ${COUNT} distinct records arrived`,
    );
    const ids = readSinkFile(sinkFile).map((l) => l.id);
    const distinct = new Set(ids);
    for (let i = 0; i < COUNT; i++) expect(distinct.has(`gen-${i}`)).toBe(true);
    process.stdout.write(
      `reapply: ${COUNT} records, ${ids.length - distinct.size} duplicates over 3 re-applies\n`,
    );
  });
});
