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
  /** Fails only these records (a split batch whose other groups were confirmed). */
  failSome(records: Record[], err: Error): void;
}

/** A forwarder whose deliveries wait until the test confirms or fails them. */
function controlledForwarder(): { forwarder: Forwarder; deliveries: Delivery[] } {
  const deliveries: Delivery[] = [];
  const forwarder = {
    deliverSettled: (_p: string, _i: number, records: Record[]) =>
      new Promise<Awaited<ReturnType<Forwarder["deliverSettled"]>>>((resolve) => {
        const outcome = { written: 0, filtered: 0, deadLettered: 0 };
        deliveries.push({
          records,
          confirm: () => resolve({ outcome }),
          fail: (error) => resolve({ outcome, undelivered: { records, error } }),
          failSome: (failed, error) => resolve({ outcome, undelivered: { records: failed, error } }),
        });
      }),
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
  /** Keys of the records the source makes (r<i> gets keys[i % keys.length]); none: keyless. */
  let keys: string[] = [];
  let pool: ClientPool;

  beforeEach(async () => {
    acks.length = 0;
    produced = 0;
    ackDelayMs = 0;
    keys = [];
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
            makeRecord({
              id: `r${start + i}`,
              value: Buffer.from("{}"),
              ...(keys.length > 0 ? { key: Buffer.from(keys[(start + i) % keys.length]!) } : {}),
            }),
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

  function runner(
    forwarder: Forwarder,
    maxInFlightRecords: number,
    batchSize = 100,
    ordering: "none" | "key" = "none",
  ): SourceRunner {
    return new SourceRunner({
      pipeline: "p",
      stage: "gen",
      endpoint: source.address,
      partitions: [],
      open: (partitions) =>
        new GrpcSourceReader(pool.source(source.address), { pipeline: "p", partitions, generation: 1 }),
      settings: { ...DEFAULT_SETTINGS, maxInFlightRecords, batchSize, ordering },
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

  it("retries only the records a split batch left undelivered, and acks once they are confirmed", async () => {
    const { forwarder, deliveries } = controlledForwarder();
    const r = runner(forwarder, 10);
    r.start();
    await until(() => deliveries.length === 1, "first batch");
    const batch = deliveries[0]!.records;
    // The batch went as two groups (two instances); the group of the odd records failed.
    deliveries[0]!.failSome(
      batch.filter((_, i) => i % 2 === 1),
      new Error("instance down"),
    );
    await until(() => deliveries.length === 2, "the failed group delivered again");
    expect(deliveries[1]!.records.map((x) => x.id)).toEqual(["r1", "r3", "r5", "r7", "r9"]);
    await new Promise((res) => setTimeout(res, 100));
    expect(acks).toEqual([]); // half the read is still unconfirmed
    deliveries[1]!.confirm();
    await until(() => acks.length === 1, "ack after the failed group was confirmed");
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

  describe("ordering: key", () => {
    const idsOf = (d: Delivery): string[] => d.records.map((x) => x.id);

    it("never has two records of one key in flight: each key's next record goes once the one before is confirmed", async () => {
      keys = ["k0", "k1", "k2"];
      const { forwarder, deliveries } = controlledForwarder();
      const r = runner(forwarder, 10, 100, "key");
      r.start();
      await until(() => deliveries.length === 1, "the first delivery");
      await new Promise((res) => setTimeout(res, 100));
      // One read of ten records over three keys: only the first record of each key goes.
      expect(deliveries.map(idsOf)).toEqual([["r0", "r1", "r2"]]);
      deliveries[0]!.confirm();
      await until(() => deliveries.length === 2, "the next record of each key");
      expect(idsOf(deliveries[1]!)).toEqual(["r3", "r4", "r5"]);
      expect(acks).toEqual([]); // the read is not confirmed until all ten are
      deliveries[1]!.confirm();
      await until(() => deliveries.length === 3, "third round");
      deliveries[2]!.confirm();
      await until(() => deliveries.length === 4, "last of the read");
      expect(idsOf(deliveries[3]!)).toEqual(["r9"]);
      deliveries[3]!.confirm();
      await until(() => acks.length === 1, "ack of the whole read");
      expect(acks).toEqual(["10"]);
      await r.stop(0);
    });

    it("a failed record is retried before any later record of its key goes (other keys are not held)", async () => {
      keys = ["a", "b"];
      const { forwarder, deliveries } = controlledForwarder();
      const r = runner(forwarder, 4, 1, "key");
      r.start();
      await until(() => deliveries.length === 2, "one batch per key (batchSize 1)");
      expect(deliveries.map(idsOf)).toEqual([["r0"], ["r1"]]);
      deliveries[0]!.fail(new Error("sink down")); // key a
      deliveries[1]!.confirm(); // key b moves on
      await until(() => deliveries.length === 4, "a retried, b's next");
      expect(deliveries.slice(2).map(idsOf).sort()).toEqual([["r0"], ["r3"]]);
      for (const d of deliveries.slice(2)) d.confirm();
      await until(
        () => deliveries.some((d) => idsOf(d)[0] === "r2"),
        "a's next only after its retry succeeded",
      );
      for (const d of deliveries) d.confirm();
      await r.stop(0);
    });
  });
});
