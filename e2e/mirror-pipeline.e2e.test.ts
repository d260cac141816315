/**
 * `builtin: mirror` as a pipeline source: the router assigns the mirror to a
 * sidecar, which runs it in-process (real Kafka broker, filesystem
 * destination); one record per flush flows to the pipeline's sink. The
 * sidecar is killed with kill -9 and started again: the mirror resumes from
 * the destination, and every source offset is in the destination exactly once.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Kafka, logLevel, type Producer } from "kafkajs";
import { LocalCluster } from "../src/cluster/local-cluster";
import { AdminApi } from "../src/cli/admin-client";
import { segmentName } from "../src/builtins/mirror/chain";
import { decodeSegment } from "../src/builtins/mirror/record-line";
import { createTopics, startKafkaBroker, type KafkaBroker } from "../src/testing/kafka-broker";
import type { ConsoleMirror, ConsoleOverview } from "../router/console/api-types";
import { freePortBlock } from "./harness/ports";
import { eventually, readSinkFile } from "./harness/pipeline";

jest.setTimeout(150_000);

const ROUTER_HOST = "127.0.61.1";
const POD = "127.0.61.2";
const TOPIC = "orders";

describe("builtin: mirror as a pipeline source", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conveyor-mirror-pipeline-"));
  const cluster = new LocalCluster(dir);
  let broker: KafkaBroker | undefined;
  let producer: Producer | undefined;
  let api: AdminApi | undefined;

  afterAll(async () => {
    api?.close();
    await cluster.stopAll();
    await producer?.disconnect();
    await broker?.stop();
    if (!process.env.KEEP_E2E_DIR) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function produce(from: number, count: number): Promise<void> {
    await producer!.send({
      topic: TOPIC,
      acks: -1,
      messages: Array.from({ length: count }, (_, j) => ({ partition: 0, value: `v-${from + j}` })),
    });
  }

  it("runs on the sidecar the router picks, emits a record per flush, and resumes exactly-once after kill -9", async () => {
    broker = await startKafkaBroker();
    const kafka = new Kafka({
      clientId: "mirror-pipeline-e2e",
      brokers: [broker.bootstrap],
      logLevel: logLevel.NOTHING,
    });
    await createTopics(kafka, [TOPIC]);
    producer = kafka.producer({ idempotent: true, retry: { retries: 5 } });
    await producer.connect();
    await produce(0, 50);

    const base = await freePortBlock([ROUTER_HOST, POD], 6);
    const router = `${ROUTER_HOST}:${base}`;
    const consoleApi = `http://${ROUTER_HOST}:${base + 3}/api`;
    await cluster.startRouter({
      host: ROUTER_HOST,
      port: base,
      heartbeatIntervalSecs: 1,
      httpPort: base + 3,
    });
    api = new AdminApi(router);
    const root = path.join(dir, "dest");
    const outDir = path.join(dir, "out");
    await api.applyPipeline({
      definition: JSON.stringify({
        name: "orders-mirror",
        source: {
          builtin: "mirror",
          config: {
            destination: {
              type: "filesystem",
              root,
              format: "ndjson",
              flush: { "max-offsets": 10, "max-time-ms": 60_000 },
            },
            mirrors: [
              {
                name: "orders-0",
                source: { "bootstrap-servers": broker.bootstrap },
                topic: TOPIC,
                partition: 0,
              },
            ],
          },
        },
        sink: { builtin: "file", config: { dir: outDir } },
      }),
    });
    const sidecar = {
      id: "m",
      host: POD,
      port: base + 1,
      router,
      discoveryStartPort: base + 5,
      discoveryEndPort: base + 5,
    };
    let running = await cluster.startSidecar(sidecar);

    const partitionDir = path.join(root, TOPIC, "0");
    const segments = (): string[] =>
      fs.existsSync(partitionDir)
        ? fs
            .readdirSync(partitionDir)
            .filter((f) => f.endsWith(".ndjson") && !f.startsWith(".")) // not the writer's temp files
            .sort()
        : [];
    const flushes = (): Array<{ from: number; to: number }> =>
      readSinkFile(path.join(outDir, "orders-mirror-m.ndjson")).map(
        (l) => JSON.parse(l.value ?? "{}") as { from: number; to: number },
      );
    await eventually(
      () => flushes().length >= 5,
      60_000,
      () => `${segments().length} segments, ${flushes().length} flush records`,
    );
    expect(segments()).toEqual([0, 10, 20, 30, 40].map((from) => segmentName(from, from + 9, "ndjson")));
    expect(flushes().map((f) => [f.from, f.to])).toEqual([0, 10, 20, 30, 40].map((from) => [from, from + 9]));

    running.process.kill("SIGKILL");
    await running.process.exited;
    await produce(50, 50);
    running = await cluster.startSidecar(sidecar);
    await eventually(
      () => segments().length >= 10,
      60_000,
      () => `${segments().length} segments after the restart`,
    );

    const offsets = segments().flatMap((f) =>
      decodeSegment(fs.readFileSync(path.join(partitionDir, f), "utf8")).map((r) => r.offset),
    );
    expect(offsets).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(segments()).toEqual(
      Array.from({ length: 10 }, (_, i) => segmentName(i * 10, i * 10 + 9, "ndjson")),
    );
    await eventually(
      () => new Set(flushes().map((f) => f.from)).size >= 10,
      20_000,
      () => `${flushes().length} flush records`,
    );

    // The console shows where the mirror stands, as the sidecar's heartbeats carry it.
    let mirrors: ConsoleMirror[] = [];
    await eventually(
      async () => {
        const o = (await (await fetch(`${consoleApi}/overview`)).json()) as ConsoleOverview;
        mirrors = o.pipelines.find((p) => p.name === "orders-mirror")?.stages[0]?.mirrors ?? [];
        return mirrors[0]?.destNext === 100;
      },
      10_000,
      () => `console mirrors: ${JSON.stringify(mirrors)}`,
    );
    expect(mirrors).toEqual([
      expect.objectContaining({
        sidecarId: "m",
        name: "orders-0",
        topic: TOPIC,
        partition: 0,
        sourceHigh: 100,
        destNext: 100,
        lag: 0,
        state: "running",
        error: "",
      }),
    ]);
    expect(mirrors[0]!.lastFlushAgeMs).toBeGreaterThanOrEqual(0);
    expect(mirrors[0]!.lastFlushAgeMs).toBeLessThan(60_000);
  });
});
