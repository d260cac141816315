/**
 * The at-least-once core: a real SDK source, a downstream whose confirmations
 * the test controls. Cursors are acked only after confirmation, in order,
 * and credits bound what is read.
 */
import { DEFAULT_SETTINGS } from "../src/config/pipeline";
import { makeRecord } from "../src/records";
import { serveSource, type StageServer } from "../src/sdk";
import type { Record } from "../src/stages/contract";
import { createLogger } from "../src/telemetry/log";
import { ClientPool } from "./client-pool";
import type { Forwarder } from "./forwarder";
import { SourceRunner } from "./source-runner";
import { GrpcSourceReader } from "./stage-clients";
import { StageStats } from "./stage-stats";

const log = createLogger("test");
log.level = "silent";

interface Delivery {
  records: Record[];
  confirm(): void;
  fail(err: Error): void;
}

/** A forwarder whose deliveries wait until the test confirms or fails them. */
function controlledForwarder(): { forwarder: Forwarder; deliveries: Delivery[] } {
  const deliveries: Delivery[] = [];
  const forwarder = {
    deliver: (_p: string, _i: number, records: Record[]) =>
      new Promise<void>((resolve, reject) => deliveries.push({ records, confirm: resolve, fail: reject })),
  } as unknown as Forwarder;
  return { forwarder, deliveries };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out: ${what}`);
}

describe("SourceRunner", () => {
  let source: StageServer;
  const acks: string[] = [];
  let produced = 0;
  /** How long the source takes to apply an ack (a durable commit). */
  let ackDelayMs = 0;
  let pool: ClientPool;

  beforeEach(async () => {
    acks.length = 0;
    produced = 0;
    ackDelayMs = 0;
    pool = new ClientPool({ idleMs: 60_000, batchTimeoutMs: 5000, peerTimeoutMs: 10_000, log });
    // Ten records per read; cursor = number of records produced so far.
    source = await serveSource(
      0,
      {
        read: async ({ after, max }) => {
          const start = after === "" ? 0 : Number(after);
          const n = Math.min(10, max);
          produced = Math.max(produced, start + n);
          const records = Array.from({ length: n }, (_, i) =>
            makeRecord({ id: `r${start + i}`, value: Buffer.from("{}") }),
          );
          return { records, cursor: String(start + n) };
        },
        ack: async (cursor) => {
          if (ackDelayMs > 0) await new Promise((r) => setTimeout(r, ackDelayMs));
          acks.push(cursor);
        },
      },
      { name: "gen" },
    );
  });

  afterEach(async () => {
    pool.close();
    await source.stop(100);
  });

  function runner(forwarder: Forwarder, maxInFlightRecords: number, batchSize = 100): SourceRunner {
    return new SourceRunner({
      pipeline: "p",
      stage: "gen",
      endpoint: source.address,
      partitions: [],
      open: (partitions) =>
        new GrpcSourceReader(pool.source(source.address), { pipeline: "p", partitions, generation: 1 }),
      settings: { ...DEFAULT_SETTINGS, maxInFlightRecords, batchSize },
      forwarder,
      stats: new StageStats(),
      log,
    });
  }

  it("never reads more than its credits while nothing is confirmed", async () => {
    const { forwarder, deliveries } = controlledForwarder();
    const r = runner(forwarder, 30);
    r.start();
    await until(() => deliveries.length === 3, "three batches of ten");
    await new Promise((res) => setTimeout(res, 200));
    expect(deliveries).toHaveLength(3);
    expect(produced).toBe(30);
    expect(acks).toEqual([]);
    for (const d of deliveries) d.confirm();
    await r.stop(1000);
  });

  it("acks cursors only after confirmation, in order, and reads more as credits return", async () => {
    const { forwarder, deliveries } = controlledForwarder();
    const r = runner(forwarder, 30);
    r.start();
    await until(() => deliveries.length === 3, "three batches");
    // The third batch is confirmed first: nothing may be acked while the first two are pending.
    deliveries[2]!.confirm();
    await new Promise((res) => setTimeout(res, 100));
    expect(acks).toEqual([]);
    deliveries[0]!.confirm();
    await until(() => acks.length === 1, "ack of the first cursor");
    expect(acks).toEqual(["10"]);
    deliveries[1]!.confirm();
    await until(() => acks.includes("30"), "ack up to the third cursor");
    expect(acks).toEqual(["10", "30"]);
    // Credits came back: the source is read again.
    await until(() => deliveries.length > 3, "more reads after credits returned");
    for (const d of deliveries) d.confirm();
    await r.stop(1000);
  });

  it("stop() resolves only once the source applied the last ack (the next reader starts after it)", async () => {
    ackDelayMs = 300;
    const { forwarder, deliveries } = controlledForwarder();
    const r = runner(forwarder, 20);
    r.start();
    await until(() => deliveries.length === 2, "two batches");
    for (const d of deliveries) d.confirm();
    await r.stop(1000);
    // The acks were sent before the stream was closed; a new owner reading the commit must see the last one.
    expect(acks.at(-1)).toBe("20");
  });

  it("retries a failed batch instead of acking past it", async () => {
    const { forwarder, deliveries } = controlledForwarder();
    const r = runner(forwarder, 10);
    r.start();
    await until(() => deliveries.length === 1, "first batch");
    deliveries[0]!.fail(new Error("sink down"));
    await until(() => deliveries.length === 2, "the same batch delivered again");
    expect(deliveries[1]!.records.map((x) => x.id)).toEqual(deliveries[0]!.records.map((x) => x.id));
    expect(acks).toEqual([]);
    deliveries[1]!.confirm();
    await until(() => acks.length === 1, "ack after the retry succeeded");
    expect(acks).toEqual(["10"]);
    for (const d of deliveries.slice(2)) d.confirm();
    await r.stop(1000);
  });

  it("splits a source read into batchSize chunks and acks when all chunks are confirmed", async () => {
    const { forwarder, deliveries } = controlledForwarder();
    const r = runner(forwarder, 10, 4);
    r.start();
    await until(() => deliveries.length === 3, "three chunks of one read");
    expect(deliveries.map((d) => d.records.length)).toEqual([4, 4, 2]);
    deliveries[0]!.confirm();
    deliveries[2]!.confirm();
    await new Promise((res) => setTimeout(res, 100));
    expect(acks).toEqual([]);
    deliveries[1]!.confirm();
    await until(() => acks.length === 1, "ack once every chunk is confirmed");
    expect(acks).toEqual(["10"]);
    for (const d of deliveries.slice(3)) d.confirm();
    await r.stop(1000);
  });
});
