/**
 * Backpressure under a slow sink (issue #4, "bounded memory"):
 *
 *   pod A 127.0.22.2: sidecar a + endless generator Source "gen" (1 KB records, no rate limit)
 *   pod B 127.0.22.3: sidecar b + enrich Transform + NDJSON Sink "out" that sleeps 100 ms per batch,
 *                     one batch at a time (≤ 1,000 records/s with batches of 100)
 *
 * The source could produce ~20,000 records/s; the sink takes ≤ 1,000. Over a
 * measuring window: the records the source handed to sidecar a (its
 * conveyor_stage_records_in_total) never exceed the records in the sink file
 * by more than maxInFlightRecords (so the read rate falls to the sink's rate),
 * and both sidecars' RSS stays under a bound derived from the settings.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalCluster } from "../src/cluster/local-cluster";
import { generatorRecord } from "../src/sdk";
import { recordSize } from "../src/records";
import { freePortBlock } from "./harness/ports";
import { adminClient, applyPipeline, countLines, eventually } from "./harness/pipeline";
import { tearDownCluster, pause, rssMb, scrapeCounter } from "./harness/faults";

jest.setTimeout(180_000);

const ROUTER_HOST = "127.0.22.1";
const POD_A = "127.0.22.2";
const POD_B = "127.0.22.3";
const WINDOW_MS = Number(process.env.SLOW_SINK_WINDOW_SECS ?? 20) * 1000;

const BATCH_SIZE = 100;
const MAX_IN_FLIGHT_RECORDS = 2000;
const MAX_IN_FLIGHT_BYTES = 4 * 1024 * 1024;
const SINK_DELAY_MS = 100;
const PAYLOAD_BYTES = 1000;

const PIPELINE = `name: slow
source: { stage: gen }
steps: [ { stage: enrich } ]
sink: { stage: out }
settings: { batchSize: ${BATCH_SIZE}, maxInFlightRecords: ${MAX_IN_FLIGHT_RECORDS}, maxInFlightBytes: ${MAX_IN_FLIGHT_BYTES} }
`;

/**
 * The RSS bound of one sidecar: its idle RSS, plus the records the window
 * lets in flight (bytes on the wire) times 8 (a record exists as a decoded
 * object, an encoded batch for the next hop, and enriched, in both directions;
 * 8 is generous), plus 96 MiB for V8's young generation, gRPC buffers and
 * allocator slack (measured: the JS heap in use stays at 35–52 MiB, but RSS
 * creeps up by ~55 MiB over a minute as malloc'd Buffer memory is not returned
 * at once). Without backpressure the source would hand over ~20,000
 * records/s: hundreds of MiB within the window.
 */
function rssBoundMb(idleMb: number, recordBytes: number): number {
  const inFlightBytes = Math.min(MAX_IN_FLIGHT_BYTES, MAX_IN_FLIGHT_RECORDS * recordBytes);
  return idleMb + (8 * inFlightBytes) / 2 ** 20 + 96;
}

describe("slow sink", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-slow-sink-"));
  const cluster = new LocalCluster(dir);
  let failed = true;

  afterAll(() => tearDownCluster(cluster, dir, "slow sink", failed));

  it("reads the source only as fast as the sink writes, and the sidecars' memory stays bounded", async () => {
    const base = await freePortBlock([ROUTER_HOST, POD_A, POD_B], 8);
    const router = `${ROUTER_HOST}:${base}`;
    await cluster.startRouter({ host: ROUTER_HOST, port: base, heartbeatIntervalSecs: 1 });
    const discovery = { discoveryStartPort: base + 2, discoveryEndPort: base + 5 };
    await cluster.startStage({
      kind: "source",
      name: "gen",
      host: POD_A,
      port: base + 2,
      payloadBytes: PAYLOAD_BYTES,
    });
    await cluster.startStage({ kind: "transform", name: "enrich", host: POD_B, port: base + 2 });
    await cluster.startStage({
      kind: "sink",
      name: "out",
      host: POD_B,
      port: base + 3,
      dir,
      delayMs: SINK_DELAY_MS,
    });
    const common = { port: base + 1, router, shutdownGraceSecs: 2, ...discovery };
    const a = await cluster.startSidecar({ id: "a", host: POD_A, metricsPort: base + 6, ...common });
    const b = await cluster.startSidecar({ id: "b", host: POD_B, metricsPort: base + 6, ...common });
    const metricsUrl = `http://${POD_A}:${base + 6}/metrics`;
    const heapMb = async (host: string): Promise<number> =>
      (await scrapeCounter(
        `http://${host}:${base + 6}/metrics`,
        "conveyor_process_nodejs_heap_size_used_bytes",
        {},
      )) /
      2 ** 20;
    const sourceRead = (): Promise<number> =>
      scrapeCounter(metricsUrl, "conveyor_stage_records_in_total", { pipeline: "slow", stage: "gen" });
    // The metrics server answers once the sidecar is up; wait for it before measuring idle memory.
    await eventually(
      async () =>
        (await sourceRead().then(
          () => true,
          () => false,
        )) === true,
      15_000,
      () => `no /metrics at ${metricsUrl}`,
    );
    await pause(1000);
    const idle = { a: rssMb(a.process.pid)!, b: rssMb(b.process.pid)! };

    const admin = adminClient(router);
    try {
      await applyPipeline(admin, PIPELINE);
    } finally {
      admin.close();
    }
    const sinkFile = path.join(dir, "out.ndjson");
    await eventually(
      () => countLines(sinkFile) >= 2 * MAX_IN_FLIGHT_RECORDS,
      60_000,
      () => `${countLines(sinkFile)} records in the sink`,
    );

    // The window: source reads first, then the sink's count, so gap = read(t1) − written(t2 ≥ t1)
    // can only under-state the true gap by what the sink wrote in between, never over-state it.
    const samples: Array<{
      atMs: number;
      read: number;
      written: number;
      rssA: number;
      rssB: number;
      heapA: number;
      heapB: number;
    }> = [];
    const start = Date.now();
    while (Date.now() - start <= WINDOW_MS) {
      const read = await sourceRead();
      const written = countLines(sinkFile);
      samples.push({
        atMs: Date.now() - start,
        read,
        written,
        rssA: rssMb(a.process.pid) ?? NaN,
        rssB: rssMb(b.process.pid) ?? NaN,
        heapA: await heapMb(POD_A),
        heapB: await heapMb(POD_B),
      });
      await pause(500);
    }

    const first = samples[0]!;
    const last = samples[samples.length - 1]!;
    const seconds = (last.atMs - first.atMs) / 1000;
    const readRate = (last.read - first.read) / seconds;
    const sinkRate = (last.written - first.written) / seconds;
    const maxGap = Math.max(...samples.map((s) => s.read - s.written));
    const maxRss = { a: Math.max(...samples.map((s) => s.rssA)), b: Math.max(...samples.map((s) => s.rssB)) };
    const recordBytes = recordSize(generatorRecord(0, { payloadBytes: PAYLOAD_BYTES }));
    const bound = { a: rssBoundMb(idle.a, recordBytes), b: rssBoundMb(idle.b, recordBytes) };
    const mb = (n: number): string => n.toFixed(1);
    console.log(
      `slow sink: over ${seconds.toFixed(1)} s the source was read at ${Math.round(readRate)} records/s, the sink wrote ${Math.round(sinkRate)} records/s ` +
        `(sink limit ${(1000 / SINK_DELAY_MS) * BATCH_SIZE}); largest gap read − written ${maxGap} records (window ${MAX_IN_FLIGHT_RECORDS}); ` +
        `RSS sidecar a ${mb(idle.a)} MiB idle → max ${mb(maxRss.a)} MiB (bound ${mb(bound.a)}), ` +
        `sidecar b ${mb(idle.b)} MiB idle → max ${mb(maxRss.b)} MiB (bound ${mb(bound.b)}); ${recordBytes} bytes/record\n` +
        `slow sink: every 2 s (s: gap, RSS a/b MiB, heap used a/b MiB): ${samples
          .filter((_, i) => i % 4 === 0)
          .map(
            (x) =>
              `${(x.atMs / 1000).toFixed(0)}: ${x.read - x.written}, ${x.rssA.toFixed(0)}/${x.rssB.toFixed(0)}, ${x.heapA.toFixed(0)}/${x.heapB.toFixed(0)}`,
          )
          .join("; ")}`,
    );

    // The sink really is the bottleneck (its delay works) and records kept moving.
    expect(sinkRate).toBeGreaterThan(0);
    expect(sinkRate).toBeLessThanOrEqual((1000 / SINK_DELAY_MS) * BATCH_SIZE * 1.1);
    // The source is read no further ahead of the sink than the in-flight window…
    for (const s of samples) expect(s.read - s.written).toBeLessThanOrEqual(MAX_IN_FLIGHT_RECORDS);
    // …so its read rate is the sink's rate (up to one window spread over the measurement).
    expect(readRate).toBeLessThanOrEqual(sinkRate + MAX_IN_FLIGHT_RECORDS / seconds + 1);
    expect(maxRss.a).toBeLessThan(bound.a);
    expect(maxRss.b).toBeLessThan(bound.b);
    failed = false;
  });
});
