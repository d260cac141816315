/**
 * The direct baseline: the same three user services as the Conveyor variant
 * (generator Source, enrich Transform, measuring Sink, each its own process),
 * wired by hand with grpc-js in one driver process — no Conveyor code on the
 * path — doing what the sidecars do:
 *
 *   Source.Read(credits) ──ReadResponse──► chunks of 100 ──► Transform.Process (bidi, ≤ 32 batches in flight)
 *        ▲                                                        │ outputs
 *        │                                                        ▼
 *        └── ReadRequest{credits, ack_cursor} (in cursor order) ◄── Sink.Write (bidi, ≤ 32 in flight) confirmed
 *
 * As a module: runDirect() starts the services and the driver and measures.
 * As a script (the driver child): direct.ts --source A --transform A --sink A
 * prints "ready" once connected and starts reading on SIGUSR2.
 */
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { LocalCluster } from "../src/cluster/local-cluster";
import { ManagedProcess } from "../src/cluster/managed-process";
import { CHANNEL_OPTIONS as BASE_CHANNEL_OPTIONS, deadlineIn, v1 } from "../src/proto";
import { FLOW_CONTROL_CHANNEL_OPTIONS } from "../src/sdk/flow-control";

/** The sidecar's channel options (sidecar/client-pool.ts), so both variants get the same HTTP/2 windows. */
const CHANNEL_OPTIONS = { ...BASE_CHANNEL_OPTIONS, ...FLOW_CONTROL_CHANNEL_OPTIONS };
import type { ReadRequest } from "../src/generated/conveyor/v1/ReadRequest";
import type { ReadResponse__Output } from "../src/generated/conveyor/v1/ReadResponse";
import type { Record } from "../src/stages/contract";
import { freePortBlock } from "../e2e/harness/ports";
import { measureRun, type NamedProcess, type VariantOptions, type VariantResult } from "./stats";

/** The sidecar's defaults (src/config/pipeline.ts, sidecar/client-pool.ts); credits and batchSize follow the bench flags. */
export const DIRECT_DEFAULTS = {
  credits: 10_000,
  batchSize: 100,
  /** Batches in flight per Transform/Sink stream. */
  window: 32,
} as const;

const HOST = "127.0.0.1";

export async function runDirect(o: VariantOptions, repeat: number): Promise<VariantResult> {
  const cluster = new LocalCluster(path.join(o.dir, "logs"), o.env);
  const statsFile = path.join(o.dir, "sink-stats.json");
  let driver: ManagedProcess | undefined;
  try {
    const base = await freePortBlock([HOST], 3);
    o.log(`  direct: starting source, transform, sink on ${HOST}:${base}-${base + 2}`);
    const transform = await cluster.startStage({
      kind: "transform",
      name: "enrich",
      host: HOST,
      port: base + 1,
    });
    const sink = await cluster.startStage({
      kind: "sink",
      name: "out",
      host: HOST,
      port: base + 2,
      statsFile,
      statsWarmupRecords: o.warmupRecords,
    });
    // The source last: a rate-limited source counts its allowance from its own start.
    const source = await cluster.startStage({
      kind: "source",
      name: "gen",
      host: HOST,
      port: base,
      count: o.records,
      payloadBytes: o.payloadBytes,
      ...(o.rate ? { rate: o.rate } : {}),
    });
    driver = ManagedProcess.typescript(
      "direct-driver",
      "bench/direct.ts",
      [
        ...["--source", source.address, "--transform", transform.address, "--sink", sink.address],
        ...["--batch-size", String(o.batchSize), "--credits", String(o.inFlightRecords)],
      ],
      o.env,
      path.join(o.dir, "logs", "direct-driver.log"),
    );
    await driver.waitForOutput(/^ready/m, 30_000);
    const procs: NamedProcess[] = [
      { name: "source (gen)", process: source.process },
      { name: "transform (enrich)", process: transform.process },
      { name: "sink (measuring)", process: sink.process },
      { name: "direct driver", process: driver },
    ];
    const result = await measureRun(
      "direct",
      repeat,
      o,
      procs,
      statsFile,
      () => driver!.child.kill("SIGUSR2"),
      async () => {
        await driver!.stop();
        await cluster.stopAll();
      },
    );
    return result;
  } finally {
    await driver?.stop();
    await cluster.stopAll();
  }
}

// ---------------------------------------------------------------------------
// The driver (child process).

/** A bidi stream of batches with ids and a fixed window, like the sidecar's BatchStream minus timeouts/retries. */
class BatchWindow<Req, Res> {
  private readonly pending = new Map<number, (res: Res) => void>();
  private readonly waiting: Array<() => void> = [];
  private inFlight = 0;
  private nextId = 1;
  private readonly call: grpc.ClientDuplexStream<Req, Res>;

  constructor(
    name: string,
    open: () => grpc.ClientDuplexStream<Req, Res>,
    private readonly window: number,
    batchIdOf: (res: Res) => number,
    fail: (err: Error) => void,
  ) {
    this.call = open();
    this.call.on("data", (res: Res) => {
      const id = batchIdOf(res);
      const resolve = this.pending.get(id);
      if (!resolve) return fail(new Error(`${name}: unknown batch id ${id}`));
      this.pending.delete(id);
      this.inFlight--;
      resolve(res);
      while (this.inFlight < this.window && this.waiting.length > 0) this.waiting.shift()!();
    });
    this.call.on("error", (err) => fail(new Error(`${name}: ${err.message}`)));
    this.call.on("end", () => fail(new Error(`${name}: stream ended by the server`)));
  }

  send(build: (batchId: number) => Req): Promise<Res> {
    return new Promise((resolve) => {
      const start = (): void => {
        const id = this.nextId++;
        this.inFlight++;
        this.pending.set(id, resolve);
        this.call.write(build(id));
      };
      if (this.inFlight < this.window) start();
      else this.waiting.push(start);
    });
  }

  end(): void {
    this.call.removeAllListeners("end");
    this.call.removeAllListeners("error");
    this.call.on("error", () => undefined);
    this.call.end();
  }
}

function waitForReady(client: grpc.Client): Promise<void> {
  return new Promise((resolve, reject) =>
    client.waitForReady(deadlineIn(10_000), (err) => (err ? reject(err) : resolve())),
  );
}

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(name);
  const v = (i >= 0 ? process.argv[i + 1] : undefined) ?? fallback;
  if (!v) throw new Error(`direct driver: ${name} <value> is required`);
  return v;
}

async function driverMain(): Promise<void> {
  const fail = (err: Error): void => {
    process.stderr.write(`direct driver: ${err.message}\n`);
    process.exit(1);
  };
  const batchSize = Number(arg("--batch-size", String(DIRECT_DEFAULTS.batchSize)));
  const credits = Number(arg("--credits", String(DIRECT_DEFAULTS.credits)));
  const insecure = grpc.credentials.createInsecure();
  const sourceClient = new v1.Source(arg("--source"), insecure, CHANNEL_OPTIONS);
  const transformClient = new v1.Transform(arg("--transform"), insecure, CHANNEL_OPTIONS);
  const sinkClient = new v1.Sink(arg("--sink"), insecure, CHANNEL_OPTIONS);
  await Promise.all([sourceClient, transformClient, sinkClient].map(waitForReady));
  const transform = new BatchWindow(
    "transform",
    () => transformClient.process(),
    DIRECT_DEFAULTS.window,
    (r) => r.batchId,
    fail,
  );
  const sink = new BatchWindow(
    "sink",
    () => sinkClient.write(),
    DIRECT_DEFAULTS.window,
    (r) => r.batchId,
    fail,
  );

  let read: grpc.ClientDuplexStream<ReadRequest, ReadResponse__Output> | undefined;
  process.on("SIGTERM", () => {
    read?.removeAllListeners();
    read?.on("error", () => undefined);
    read?.cancel();
    transform.end();
    sink.end();
    for (const c of [sourceClient, transformClient, sinkClient]) c.close();
    process.exit(0);
  });

  const start = (): void => {
    const call = sourceClient.read();
    read = call;
    const queue: Array<{ cursor: string; count: number; done: boolean }> = [];
    const ackConfirmed = (): void => {
      let cursor: string | undefined;
      let freed = 0;
      while (queue.length > 0 && queue[0]!.done) {
        const e = queue.shift()!;
        cursor = e.cursor;
        freed += e.count;
      }
      if (cursor !== undefined) call.write({ credits: freed, ackCursor: cursor });
    };
    const deliver = async (records: Record[]): Promise<void> => {
      const processed = await transform.send((batchId) => ({ batchId, records }));
      const outputs: Record[] = [];
      for (const r of processed.results) {
        if (r.error) throw new Error(`transform failed a record: ${r.error.message}`);
        for (const out of r.records) outputs.push(out);
      }
      if (outputs.length === 0) return;
      const written = await sink.send((batchId) => ({ batchId, records: outputs }));
      for (const r of written.results)
        if (r.error) throw new Error(`sink failed record ${r.id}: ${r.error.message}`);
    };
    call.on("data", (res: ReadResponse__Output) => {
      if (res.records.length === 0) return;
      const entry = { cursor: res.cursor, count: res.records.length, done: false };
      queue.push(entry);
      const chunks: Array<Promise<void>> = [];
      for (let i = 0; i < res.records.length; i += batchSize) {
        chunks.push(deliver(res.records.slice(i, i + batchSize)));
      }
      Promise.all(chunks).then(() => {
        entry.done = true;
        ackConfirmed();
      }, fail);
    });
    call.on("error", (err) => fail(new Error(`source: ${err.message}`)));
    call.write({ pipeline: "bench", partitions: [], credits });
  };
  process.once("SIGUSR2", start);
  process.stdout.write("ready\n");
}

if (require.main === module) {
  driverMain().catch((err: unknown) => {
    process.stderr.write(`direct driver: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
