/**
 * A batch split by key among a sink's two instances (rendezvous), one of which
 * refuses for a while (its table lacks the stage). Real
 * processes' parts in one process: sidecar "a" runs the source, sidecars "b"
 * and "c" each run an instance of the sink, over real DataPlane.Forward hops;
 * c refuses its group retryably (STAGE_NOT_PLACED) until it has the table.
 * The group confirmed by b is done: only c's group is retried, so b writes
 * each of its records once, and the source is acked only when c wrote its own.
 */
import { startGrpcServer, type RunningServer } from "../src/grpc/server";
import { DEFAULT_SETTINGS } from "../src/config/pipeline";
import { makeRecord } from "../src/records";
import { serveSink, serveSource, type StageServer } from "../src/sdk";
import { createLogger } from "../src/telemetry/log";
import type { RoutingTable__Output } from "../src/generated/conveyor/v1/RoutingTable";
import { ClientPool } from "./client-pool";
import { Forwarder } from "./forwarder";
import { TableHolder } from "./table-holder";
import { LocalStages } from "./local-stages";
import { dataPlaneService } from "./peer-server";
import { RoutingTable } from "./routing-table";
import { SourceRunner } from "./source-runner";
import { GrpcSourceReader } from "./stage-clients";
import { StageStats } from "./stage-stats";
import { Taps } from "./taps";

const log = createLogger("test");
log.level = "silent";

const RECORDS = 20;

interface Node {
  forwarder: Forwarder;
  tables: TableHolder;
  pool: ClientPool;
  server: RunningServer;
}

async function node(id: string): Promise<Node> {
  const pool = new ClientPool({ idleMs: 60_000, batchTimeoutMs: 5000, peerTimeoutMs: 10_000, log });
  const taps = new Taps();
  const tables = new TableHolder();
  const forwarder = new Forwarder({
    sidecarId: id,
    tables,
    pool,
    localStages: new LocalStages(pool, id),
    stats: new StageStats(),
    taps,
    log,
  });
  const server = await startGrpcServer("127.0.0.1", 0, [
    dataPlaneService({
      forwarder,
      taps,
      localServices: () => [],
      lastScanMs: () => 0,
      accepting: () => true,
      log,
    }),
  ]);
  return { forwarder, tables, pool, server };
}

/** Source "gen" (index 0) → sink "out" (index 1) served by sidecars b and c; `withSink: false` drops the sink. */
function table(b: Node, c: Node, sinkB: string, sinkC: string, withSink = true): RoutingTable__Output {
  const instance = (sidecarId: string, peer: Node, endpoint: string) => ({
    sidecarId,
    peerAddress: peer.server.address,
    serviceEndpoint: endpoint,
    serviceName: "",
    partitions: [],
    generation: 1,
  });
  return {
    version: 1,
    generation: 1,
    pipelines: [
      {
        pipeline: "p",
        generation: 0,
        settings: {
          batchSize: 0,
          maxInFlightRecords: 0,
          maxInFlightBytes: 0,
          maxRecordBytes: 0,
          stageTimeoutMs: 2000,
          ordering: "none",
          retry: { maxRetries: 0, backoffMs: 1, maxBackoffMs: 5 },
        },
        stages: [
          {
            index: 0,
            name: "gen",
            kind: "STAGE_KIND_SOURCE",
            builtin: "",
            builtinConfigJson: "",
            deadLetter: false,
            instances: [],
          },
          ...(withSink
            ? [
                {
                  index: 1,
                  name: "out",
                  kind: "STAGE_KIND_SINK" as const,
                  builtin: "",
                  builtinConfigJson: "",
                  deadLetter: false,
                  instances: [instance("b", b, sinkB), instance("c", c, sinkC)],
                },
              ]
            : []),
        ],
      },
    ],
  };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out: ${what}`);
}

describe("a batch split among a stage's instances, one group failing", () => {
  let a: Node;
  let b: Node;
  let c: Node;
  let sinkB: StageServer;
  let sinkC: StageServer;
  let source: StageServer;
  const writtenAt = { b: [] as string[], c: [] as string[] };
  const acks: string[] = [];
  const records = Array.from({ length: RECORDS }, (_, i) =>
    makeRecord({ id: `r${i}`, key: Buffer.from(`key-${i}`), value: Buffer.from("{}") }),
  );

  beforeAll(async () => {
    [a, b, c] = await Promise.all([node("a"), node("b"), node("c")]);
    const sinkOf = (into: string[]) =>
      serveSink(
        0,
        (batch) => {
          into.push(...batch.map((r) => r.id));
          return batch.map(() => null);
        },
        { name: "out" },
      );
    [sinkB, sinkC] = await Promise.all([sinkOf(writtenAt.b), sinkOf(writtenAt.c)]);
    // One read of every record, acked once.
    source = await serveSource(
      0,
      {
        read: async ({ after }) =>
          after === "" ? { records, cursor: String(RECORDS) } : { records: [], cursor: after },
        ack: async (cursor) => {
          acks.push(cursor);
        },
      },
      { name: "gen" },
    );
  });

  beforeEach(() => {
    writtenAt.b.length = 0;
    writtenAt.c.length = 0;
    acks.length = 0;
    const t = table(b, c, sinkB.address, sinkC.address);
    a.tables.set(RoutingTable.fromProto(t, "a"));
    b.tables.set(RoutingTable.fromProto(t, "b"));
    // c's table lacks the sink for now: it refuses its group retryably (STAGE_NOT_PLACED).
    c.tables.set(RoutingTable.fromProto(table(b, c, sinkB.address, sinkC.address, false), "c"));
  });

  afterAll(async () => {
    for (const n of [a, b, c]) {
      n.pool.close();
      await n.server.stop(100);
    }
    await Promise.all([sinkB.stop(100), sinkC.stop(100), source.stop(100)]);
  });

  it("deliverSettled confirms b's group and leaves exactly c's group undelivered, in batch order", async () => {
    const { outcome, undelivered } = await a.forwarder.deliverSettled("p", 1, records);
    expect(writtenAt.b.length).toBeGreaterThan(0);
    expect(outcome.written).toBe(writtenAt.b.length);
    expect(undelivered?.error).toMatchObject({ code: "STAGE_NOT_PLACED", retryable: true });
    const left = undelivered!.records.map((r) => r.id);
    expect(left.length).toBe(RECORDS - writtenAt.b.length);
    expect([...left, ...writtenAt.b].sort()).toEqual(records.map((r) => r.id).sort());
    expect(left).toEqual(records.map((r) => r.id).filter((id) => left.includes(id)));
    // deliver() still rejects for the whole batch.
    await expect(
      a.forwarder.deliver("p", 1, records.slice(0, 1).concat(undelivered!.records)),
    ).rejects.toMatchObject({
      code: "STAGE_NOT_PLACED",
    });
  });

  it("the source runner retries only the failed group: b writes each record once, the ack waits for c", async () => {
    const pool = new ClientPool({ idleMs: 60_000, batchTimeoutMs: 5000, peerTimeoutMs: 10_000, log });
    const runner = new SourceRunner({
      pipeline: "p",
      stage: "gen",
      endpoint: source.address,
      partitions: [],
      open: (partitions) =>
        new GrpcSourceReader(pool.source(source.address), { pipeline: "p", partitions, generation: 1 }),
      settings: { ...DEFAULT_SETTINGS, maxInFlightRecords: 100, batchSize: 100 },
      forwarder: a.forwarder,
      stats: new StageStats(),
      log,
    });
    try {
      runner.start();
      await until(() => writtenAt.b.length > 0, "b's group written");
      // Let the runner retry c's group a few times (backoff from 50 ms) while c refuses.
      await new Promise((r) => setTimeout(r, 400));
      expect(acks).toEqual([]);
      expect(writtenAt.c).toEqual([]);
      c.tables.set(RoutingTable.fromProto(table(b, c, sinkB.address, sinkC.address), "c"));
      await until(() => acks.includes(String(RECORDS)), "the read acked once c wrote its group");
      const expectB = [...writtenAt.b].sort();
      expect(new Set(writtenAt.b).size).toBe(writtenAt.b.length); // before the fix: 12 ids written 60 times
      expect([...expectB, ...writtenAt.c].sort()).toEqual(records.map((r) => r.id).sort());
      expect(new Set(writtenAt.c).size).toBe(writtenAt.c.length);
    } finally {
      await runner.stop(1000);
      pool.close();
    }
  });
});
