/**
 * The re-apply race: pod B's router connection goes through a TCP relay that
 * the test holds still while the pipeline is re-applied with a step inserted.
 * Pod A hears of the change and forwards with the new table (stage 2, the sink,
 * after the new enrich step that runs on A); pod B still has the old table, in
 * which the pipeline has no stage 2. B must refuse those batches retryably
 * (TABLE_BEHIND) and never ack them; once B hears of the new table, they are
 * delivered. Before the fix B answered them as delivered: records were lost.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalCluster } from "../src/cluster/local-cluster";
import { AdminApi } from "../src/cli/admin-client";
import { freePortBlock } from "./harness/ports";
import { countLines, eventually, readSinkFile } from "./harness/pipeline";
import { fetchMetrics, sumSamples } from "./harness/metrics";
import { TcpRelay } from "./harness/tcp-relay";

jest.setTimeout(120_000);

const ROUTER_HOST = "127.0.18.1";
const POD_A = "127.0.18.2";
const POD_B = "127.0.18.3";
const COUNT = 12_000;

const before = "name: race\nsource: { stage: gen }\nsink: { stage: out }\n";
const after = "name: race\nsource: { stage: gen }\nsteps: [ { stage: enrich } ]\nsink: { stage: out }\n";

describe("re-apply while one sidecar cannot hear the router", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-race-"));
  const cluster = new LocalCluster(dir);
  let api: AdminApi | undefined;
  let relay: TcpRelay | undefined;

  afterAll(async () => {
    api?.close();
    await relay?.stop();
    await cluster.stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("refuses batches routed on a table the receiver does not have yet, and loses nothing", async () => {
    const base = await freePortBlock([ROUTER_HOST, POD_A, POD_B], 14);
    const router = `${ROUTER_HOST}:${base}`;
    await cluster.startRouter({ host: ROUTER_HOST, port: base, heartbeatIntervalSecs: 2 });
    relay = await TcpRelay.start(ROUTER_HOST, base + 12, router);
    api = new AdminApi(router);
    await api.applyPipeline({ definition: before });
    const discovery = { discoveryStartPort: base + 2, discoveryEndPort: base + 11, heartbeatIntervalSecs: 2 };
    await cluster.startStage({
      kind: "source",
      name: "gen",
      host: POD_A,
      port: base + 2,
      count: COUNT,
      rate: 2000,
    });
    await cluster.startStage({ kind: "transform", name: "enrich", host: POD_A, port: base + 3 });
    await cluster.startStage({ kind: "sink", name: "out", host: POD_B, port: base + 2, dir });
    await cluster.startSidecar({ id: "a", host: POD_A, port: base + 1, router, ...discovery });
    const metricsB = base + 13;
    await cluster.startSidecar({
      id: "b",
      host: POD_B,
      port: base + 1,
      router: relay.address,
      metricsPort: metricsB,
      ...discovery,
    });

    const sinkFile = path.join(dir, "out.ndjson");
    await eventually(
      () => countLines(sinkFile) >= 2000,
      60_000,
      () => `${countLines(sinkFile)} records before the change`,
    );

    const tableBehind = async (): Promise<number> =>
      sumSamples(await fetchMetrics(`http://${POD_B}:${metricsB}/metrics`), "conveyor_input_rejected_total", {
        entry: "forward",
        code: "TABLE_BEHIND",
      });
    relay.hold();
    const heldAt = Date.now();
    await api.applyPipeline({ definition: after });
    // A forwards on the new table; B, deaf to the router, refuses.
    await eventually(
      async () => (await tableBehind()) > 0,
      3000,
      () => "B never refused a batch as TABLE_BEHIND",
    );
    await new Promise((r) => setTimeout(r, Math.max(0, 2500 - (Date.now() - heldAt))));
    relay.release();
    const heldMs = Date.now() - heldAt;

    await eventually(
      () => new Set(readSinkFile(sinkFile).map((l) => l.id)).size >= COUNT,
      90_000,
      () => `${new Set(readSinkFile(sinkFile).map((l) => l.id)).size} of ${COUNT} distinct records arrived`,
    );
    const lines = readSinkFile(sinkFile);
    const distinct = new Set(lines.map((l) => l.id));
    const missing = Array.from({ length: COUNT }, (_, i) => `gen-${i}`).filter((id) => !distinct.has(id));
    expect(missing).toEqual([]);
    // The inserted step took effect: the last records went through enrich.
    expect(lines.at(-1)?.headers.enriched).toBe("true");
    process.stdout.write(
      `reapply-race: ${COUNT} records, ${lines.length - distinct.size} duplicates, ` +
        `${await tableBehind()} batches refused as TABLE_BEHIND while B could not hear the router for ${heldMs} ms\n`,
    );
  });
});
