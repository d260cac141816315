/**
 * The data path in one process: sidecar "a" forwards to sidecar "b" over a
 * real DataPlane.Forward stream; b runs an SDK transform and an SDK sink.
 */
import * as grpc from "@grpc/grpc-js";
import { startGrpcServer, type RunningServer } from "../src/grpc/server";
import { registry } from "../src/telemetry/metrics";
import { makeRecord } from "../src/records";
import { serveSink, serveTransform, StageError, type StageServer } from "../src/sdk";
import type { Record } from "../src/stages/contract";
import { createLogger } from "../src/telemetry/log";
import type { RoutingTable__Output } from "../src/generated/conveyor/v1/RoutingTable";
import { ConveyorError } from "../src/errors";
import { ClientPool } from "./client-pool";
import { Forwarder } from "./forwarder";
import { TableHolder } from "./table-holder";
import { LocalStages } from "./local-stages";
import { dataPlaneService } from "./peer-server";
import { RoutingTable } from "./routing-table";
import { StageStats } from "./stage-stats";
import { Taps } from "./taps";

const log = createLogger("test");
log.level = "silent";

interface Node {
  forwarder: Forwarder;
  tables: TableHolder;
  pool: ClientPool;
  server: RunningServer;
  stats: StageStats;
}

async function node(id: string): Promise<Node> {
  const pool = new ClientPool({ idleMs: 60_000, batchTimeoutMs: 5000, peerTimeoutMs: 10_000, log });
  const stats = new StageStats();
  const taps = new Taps();
  const tables = new TableHolder();
  const forwarder = new Forwarder({
    sidecarId: id,
    tables,
    pool,
    localStages: new LocalStages(pool, id),
    stats,
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
  return { forwarder, tables, pool, server, stats };
}

function table(
  peerB: string,
  transformEndpoint: string,
  sinkEndpoint: string,
  maxRecordBytes = 0,
  dlqEndpoint?: string,
): RoutingTable__Output {
  const at = (endpoint: string) => [
    {
      sidecarId: "b",
      peerAddress: peerB,
      serviceEndpoint: endpoint,
      serviceName: "",
      partitions: [],
      generation: 1,
    },
  ];
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
          maxRecordBytes,
          stageTimeoutMs: 300,
          ordering: "none",
          retry: { maxRetries: 2, backoffMs: 1, maxBackoffMs: 5 },
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
          {
            index: 1,
            name: "upper",
            kind: "STAGE_KIND_TRANSFORM",
            builtin: "",
            builtinConfigJson: "",
            deadLetter: false,
            instances: at(transformEndpoint),
          },
          {
            index: 2,
            name: "out",
            kind: "STAGE_KIND_SINK",
            builtin: "",
            builtinConfigJson: "",
            deadLetter: false,
            instances: at(sinkEndpoint),
          },
          ...(dlqEndpoint
            ? [
                {
                  index: 3,
                  name: "dead",
                  kind: "STAGE_KIND_SINK" as const,
                  builtin: "",
                  builtinConfigJson: "",
                  deadLetter: true,
                  instances: at(dlqEndpoint),
                },
              ]
            : []),
        ],
      },
    ],
  };
}

const rec = (id: string, value: string): Record => makeRecord({ id, value: Buffer.from(value) });

async function metricValue(name: string, labels: { [key: string]: string }): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  const match = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return match?.value ?? 0;
}

/**
 * A Transform service that is not ours (no conveyor-error-code metadata): it
 * answers every Process stream with `status`, as a Python or Go stage or the
 * transport under it would. Counts the batches it received.
 */
async function foreignTransform(status: {
  code: grpc.status;
  details: string;
}): Promise<{ address: string; batches: () => number; stop(): Promise<void> }> {
  let batches = 0;
  const server = new grpc.Server();
  const raw = (b: Buffer): Buffer => b;
  server.addService(
    {
      Process: {
        path: "/conveyor.v1.Transform/Process",
        requestStream: true,
        responseStream: true,
        requestSerialize: raw,
        requestDeserialize: raw,
        responseSerialize: raw,
        responseDeserialize: raw,
      },
    },
    {
      Process: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        call.on("data", () => {
          batches++;
          call.emit("error", status);
        });
        call.on("error", () => undefined);
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    batches: () => batches,
    stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}

describe("Forwarder across a peer hop", () => {
  let a: Node;
  let b: Node;
  let transform: StageServer;
  let sink: StageServer;
  let dlq: StageServer;
  const written: Record[] = [];
  const deadLettered: Record[] = [];
  const poisoned = new Set<string>();
  /** Transform: ids failing retryably this many more times. */
  const flaky = new Map<string, number>();

  beforeAll(async () => {
    [a, b] = await Promise.all([node("a"), node("b")]);
    transform = await serveTransform(
      0,
      (records) => {
        if (records.some((r) => r.id.startsWith("hang"))) return new Promise(() => undefined);
        return records.map((r) => {
          const left = flaky.get(r.id) ?? 0;
          if (left > 0) {
            flaky.set(r.id, left - 1);
            return new StageError(`${r.id} not yet`, { retryable: true });
          }
          if (r.id.startsWith("bad-json")) return new StageError(`${r.id} is not JSON`, { retryable: false });
          return r.id.startsWith("drop") ? null : { value: Buffer.from(r.value.toString().toUpperCase()) };
        });
      },
      { name: "upper" },
    );
    dlq = await serveSink(
      0,
      (records) => {
        deadLettered.push(...records);
        return records.map(() => null);
      },
      { name: "dead" },
    );
    sink = await serveSink(
      0,
      (records) => {
        const outcome = records.map((r) =>
          poisoned.has(r.id) ? new StageError(`cannot store ${r.id}`, { retryable: false }) : null,
        );
        records.forEach((r, i) => outcome[i] === null && written.push(r));
        return outcome;
      },
      { name: "out" },
    );
    const t = table(b.server.address, transform.address, sink.address);
    a.tables.set(RoutingTable.fromProto(t, "a"));
    b.tables.set(RoutingTable.fromProto(t, "b"));
  });

  afterAll(async () => {
    for (const n of [a, b]) {
      n.pool.close();
      await n.server.stop(100);
    }
    await transform.stop(100);
    await sink.stop(100);
    await dlq.stop(100);
  });

  beforeEach(() => {
    written.length = 0;
    deadLettered.length = 0;
    poisoned.clear();
    flaky.clear();
  });

  const withDlq = async (fn: () => Promise<void>): Promise<void> => {
    const t = table(b.server.address, transform.address, sink.address, 0, dlq.address);
    a.tables.set(RoutingTable.fromProto(t, "a"));
    b.tables.set(RoutingTable.fromProto(t, "b"));
    try {
      await fn();
    } finally {
      const plain = table(b.server.address, transform.address, sink.address);
      a.tables.set(RoutingTable.fromProto(plain, "a"));
      b.tables.set(RoutingTable.fromProto(plain, "b"));
    }
  };

  it("retries only the records a transform failed retryably; their batch-mates are not redone", async () => {
    flaky.set("f1", 2);
    await a.forwarder.deliver("p", 1, [rec("f1", "x"), rec("ok", "y")]);
    expect(written.map((r) => r.id).sort()).toEqual(["f1", "ok"]);
    expect(b.stats.snapshot().find((s) => s.stage === "upper")).toMatchObject({
      recordsIn: 2,
      recordsOut: 2,
    });
  });

  it("sends records out of retries to the dead-letter sink with _dlq_ headers; the rest reach the sink", async () => {
    await withDlq(async () => {
      flaky.set("f-forever", 100);
      poisoned.add("sink-refuses");
      const outcome = await a.forwarder.deliver("p", 1, [
        rec("ok-1", "a"),
        rec("bad-json-1", "b"),
        rec("f-forever", "c"),
        rec("sink-refuses", "d"),
      ]);
      // What became of each record comes back across the peer hop (ForwardAck written/filtered/dead_lettered).
      expect(outcome).toEqual({ written: 1, filtered: 0, deadLettered: 3 });
      expect(written.map((r) => r.id)).toEqual(["ok-1"]);
      const byId = new Map(deadLettered.map((r) => [r.id, r.headers]));
      expect([...byId.keys()].sort()).toEqual(["bad-json-1", "f-forever", "sink-refuses"]);
      expect(byId.get("bad-json-1")).toMatchObject({
        _dlq_stage: "upper",
        _dlq_attempts: "1",
        _dlq_error: expect.stringContaining("bad-json-1 is not JSON"),
        _dlq_ts: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      });
      expect(byId.get("f-forever")).toMatchObject({ _dlq_stage: "upper", _dlq_attempts: "3" });
      expect(byId.get("sink-refuses")).toMatchObject({ _dlq_stage: "out", _dlq_attempts: "1" });
      // The poisoned sink record was transformed before it failed: the DLQ gets what the sink got.
      expect(deadLettered.find((r) => r.id === "sink-refuses")?.value.toString()).toBe("D");
      const upper = b.stats.snapshot().find((s) => s.stage === "upper");
      expect(upper?.dlqCount).toBeGreaterThanOrEqual(2);
    });
  });

  it("dead-letters the records of a transform that hangs past stageTimeoutMs", async () => {
    await withDlq(async () => {
      await a.forwarder.deliver("p", 1, [rec("hang-1", "x")]);
      expect(deadLettered.map((r) => r.id)).toEqual(["hang-1"]);
      expect(deadLettered[0]!.headers._dlq_error).toMatch(/^TIMEOUT: .*not answered within 300 ms/);
      expect(deadLettered[0]!.headers._dlq_attempts).toBe("3");
    });
  }, 15_000);

  it("delivers through the peer's transform to its sink and resolves only after the sink confirmed", async () => {
    const upperStats = () => b.stats.snapshot().find((s) => s.stage === "upper");
    const before = { recordsIn: upperStats()?.recordsIn ?? 0, recordsOut: upperStats()?.recordsOut ?? 0 };
    const records = Array.from({ length: 250 }, (_, i) => rec(`r${i}`, `value ${i}`));
    await Promise.all([
      a.forwarder.deliver("p", 1, records.slice(0, 100)),
      a.forwarder.deliver("p", 1, records.slice(100)),
    ]);
    expect(written.map((r) => r.id).sort()).toEqual(records.map((r) => r.id).sort());
    expect(written.find((r) => r.id === "r7")?.value.toString()).toBe("VALUE 7");
    expect(upperStats()).toMatchObject({
      recordsIn: Number(before.recordsIn) + 250,
      recordsOut: Number(before.recordsOut) + 250,
    });
  });

  it("drops filtered records without failing the batch", async () => {
    const outcome = await a.forwarder.deliver("p", 1, [rec("keep", "x"), rec("drop-1", "y")]);
    expect(written.map((r) => r.id)).toEqual(["keep"]);
    expect(outcome).toEqual({ written: 1, filtered: 1, deadLettered: 0 });
  });

  it("fails the batch with STAGE_FAILED naming the record the sink refused", async () => {
    poisoned.add("bad-2");
    await expect(a.forwarder.deliver("p", 1, [rec("ok-1", "a"), rec("bad-2", "b")])).rejects.toMatchObject({
      code: "STAGE_FAILED",
      message: expect.stringContaining("record bad-2: cannot store bad-2"),
    });
    expect(b.stats.snapshot().find((s) => s.stage === "out")).toMatchObject({
      lastError: expect.stringContaining("bad-2"),
      state: "error",
    });
  });

  it("checks record size per record at the receiving stage: an oversize record goes to the dead-letter sink alone", async () => {
    // Only b (the receiver) has the limit: the check is where the stage runs, whatever the sender's table says.
    const t = table(b.server.address, transform.address, sink.address, 100, dlq.address);
    a.tables.set(
      RoutingTable.fromProto(
        {
          ...t,
          pipelines: t.pipelines.map((p) => ({ ...p, settings: { ...p.settings!, maxRecordBytes: 0 } })),
        },
        "a",
      ),
    );
    b.tables.set(RoutingTable.fromProto(t, "b"));
    try {
      await a.forwarder.deliver("p", 1, [rec("small", "x"), rec("big", "y".repeat(500))]);
      expect(written.map((r) => r.id)).toEqual(["small"]);
      expect(deadLettered.map((r) => r.id)).toEqual(["big"]);
      expect(deadLettered[0]!.headers).toMatchObject({
        _dlq_stage: "upper",
        _dlq_attempts: "1",
        _dlq_error: expect.stringMatching(
          /^RECORD_TOO_LARGE: record big is \d+ bytes; pipeline "p" allows 100/,
        ),
      });
    } finally {
      const plain = table(b.server.address, transform.address, sink.address);
      a.tables.set(RoutingTable.fromProto(plain, "a"));
      b.tables.set(RoutingTable.fromProto(plain, "b"));
    }
  });

  it("stops the stage on an oversize record when the pipeline has no dead-letter sink (never retried)", async () => {
    const t = table(b.server.address, transform.address, sink.address, 100);
    b.tables.set(RoutingTable.fromProto(t, "b"));
    try {
      await expect(
        a.forwarder.deliver("p", 1, [rec("small", "x"), rec("big", "y".repeat(500))]),
      ).rejects.toMatchObject({
        code: "STAGE_FAILED",
        message: expect.stringMatching(
          /failed 1 of 2 records after 1 attempt.*record big: record big is \d+ bytes/,
        ),
      });
      expect(written.map((r) => r.id)).toEqual(["small"]);
    } finally {
      b.tables.set(RoutingTable.fromProto(table(b.server.address, transform.address, sink.address), "b"));
    }
  });

  it("never acks a batch for a stage the receiver's table does not have: refused retryably (NO_ROUTE)", async () => {
    const t = table(b.server.address, transform.address, sink.address);
    // b's table (same generation) lacks the sink stage: before the fix, b returned as if delivered.
    const short = { ...t, pipelines: t.pipelines.map((p) => ({ ...p, stages: p.stages.slice(0, 2) })) };
    b.tables.set(RoutingTable.fromProto(short, "b"));
    try {
      const err = await b.forwarder.deliver("p", 2, [rec("lost?", "x")]).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "NO_ROUTE", retryable: true });
      const viaPeer = await a.forwarder.deliver("p", 1, [rec("lost?", "x")]).catch((e: unknown) => e);
      expect(viaPeer).toMatchObject({ code: "NO_ROUTE", retryable: true });
      expect(written).toEqual([]);
    } finally {
      b.tables.set(RoutingTable.fromProto(t, "b"));
    }
  });

  it("refuses a batch routed on a newer generation than the receiver's (TABLE_BEHIND, retryable), then accepts it", async () => {
    const t = table(b.server.address, transform.address, sink.address);
    a.tables.set(RoutingTable.fromProto({ ...t, version: 3, generation: 3 }, "a"));
    try {
      const err = await a.forwarder.deliver("p", 1, [rec("n1", "x")]).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "TABLE_BEHIND", retryable: true });
      expect(err).toMatchObject({ message: expect.stringContaining("generation 3") });
      expect(written).toEqual([]);
      b.tables.set(RoutingTable.fromProto({ ...t, version: 3, generation: 3 }, "b"));
      await a.forwarder.deliver("p", 1, [rec("n1", "x")]);
      expect(written.map((r) => r.id)).toEqual(["n1"]);
    } finally {
      a.tables.set(RoutingTable.fromProto(t, "a"));
      b.tables.set(RoutingTable.fromProto(t, "b"));
    }
  });

  it("fences per pipeline: another pipeline's newer generation does not refuse this one's batches", async () => {
    const t = table(b.server.address, transform.address, sink.address);
    const other = { ...t.pipelines[0]!, pipeline: "other", generation: 5 };
    const withOther = {
      ...t,
      version: 5,
      generation: 5,
      pipelines: [{ ...t.pipelines[0]!, generation: 1 }, other],
    };
    a.tables.set(RoutingTable.fromProto(withOther, "a"));
    try {
      await a.forwarder.deliver("p", 1, [rec("p1", "x")]);
      expect(written.map((r) => r.id)).toEqual(["p1"]);
    } finally {
      a.tables.set(RoutingTable.fromProto(t, "a"));
    }
  });

  it("fails with a retryable PEER_UNAVAILABLE when the peer is down", async () => {
    const downTables = new TableHolder();
    const down = new Forwarder({
      sidecarId: "c",
      tables: downTables,
      pool: a.pool,
      localStages: new LocalStages(a.pool, "c"),
      stats: new StageStats(),
      taps: new Taps(),
      log,
    });
    downTables.set(RoutingTable.fromProto(table("127.0.0.1:1", transform.address, sink.address), "c"));
    const err = await down.deliver("p", 1, [rec("x", "y")]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "PEER_UNAVAILABLE", retryable: true });
  });

  it("fences a sender routing on an older generation (STALE_GENERATION), then accepts it on the new one", async () => {
    const t = table(b.server.address, transform.address, sink.address);
    b.tables.set(RoutingTable.fromProto({ ...t, version: 2, generation: 2 }, "b"));
    try {
      const err = await a.forwarder.deliver("p", 1, [rec("z1", "x")]).catch((e: unknown) => e);
      expect(err).toMatchObject({
        code: "STALE_GENERATION",
        message: expect.stringContaining("generation 1"),
      });
      expect(written).toEqual([]);
      a.tables.set(RoutingTable.fromProto({ ...t, version: 2, generation: 2 }, "a"));
      await a.forwarder.deliver("p", 1, [rec("z1", "x")]);
      expect(written.map((r) => r.id)).toEqual(["z1"]);
    } finally {
      a.tables.set(RoutingTable.fromProto(t, "a"));
      b.tables.set(RoutingTable.fromProto(t, "b"));
    }
  });

  it("answers malformed protobuf on Forward with an error status, counts it, and keeps serving", async () => {
    const raw = new grpc.Client(b.server.address, grpc.credentials.createInsecure());
    const before = await metricValue("conveyor_malformed_messages_total", { message: "ForwardBatch" });
    try {
      const status = await new Promise<grpc.StatusObject>((resolve) => {
        const call = raw.makeBidiStreamRequest(
          "/conveyor.v1.DataPlane/Forward",
          (b: Buffer) => b,
          (b: Buffer) => b,
        );
        call.on("data", () => undefined);
        call.on("status", resolve);
        call.on("error", () => undefined);
        call.write(Buffer.from([0x2f, 0x01])); // field 5 with wire type 7, which does not exist
      });
      expect(status.code).not.toBe(grpc.status.OK);
      expect(await metricValue("conveyor_malformed_messages_total", { message: "ForwardBatch" })).toBe(
        before + 1,
      );
    } finally {
      raw.close();
    }
    await a.forwarder.deliver("p", 1, [rec("after-garbage", "x")]);
    expect(written.map((r) => r.id)).toEqual(["after-garbage"]);
  });

  it("fails with PIPELINE_NOT_FOUND for a pipeline that is not routed", async () => {
    await expect(a.forwarder.deliver("nope", 1, [rec("x", "y")])).rejects.toMatchObject({
      code: "PIPELINE_NOT_FOUND",
    });
  });

  describe("a local stage that answers a gRPC status of its own (not Conveyor's)", () => {
    const cases: Array<[string, grpc.status, string, string, boolean]> = [
      // [what, status, details, code, counts against the stage]
      [
        "GOAWAY ENHANCE_YOUR_CALM (too_many_pings) as grpc-js reports it",
        grpc.status.RESOURCE_EXHAUSTED,
        "Bandwidth exhausted or memory limit exceeded",
        "PEER_UNAVAILABLE",
        false,
      ],
      ["a dropped connection", grpc.status.UNAVAILABLE, "Connection dropped", "PEER_UNAVAILABLE", false],
      [
        "a RST_STREAM",
        grpc.status.INTERNAL,
        "Received RST_STREAM with code 2 (Internal server error)",
        "PEER_UNAVAILABLE",
        false,
      ],
      ["NOT_FOUND from the stage", grpc.status.NOT_FOUND, "no such customer 42", "STAGE_CALL_FAILED", true],
      ["INTERNAL from the stage", grpc.status.INTERNAL, "KeyError: 'customer'", "STAGE_CALL_FAILED", true],
    ];

    it.each(cases)("%s", async (_what, code, details, expected, counts) => {
      const foreign = await foreignTransform({ code, details });
      const t = table(b.server.address, foreign.address, sink.address, 0, dlq.address);
      b.tables.set(RoutingTable.fromProto(t, "b"));
      const retriesBefore = await metricValue("conveyor_stage_retries_total", {
        pipeline: "p",
        stage: "upper",
      });
      const dlqBefore = b.stats.snapshot().find((s) => s.stage === "upper")?.dlqCount ?? 0;
      try {
        const result = await b.forwarder.deliver("p", 1, [rec("r1", "x"), rec("r2", "y")]).then(
          () => undefined,
          (e: unknown) => e,
        );
        const retries =
          (await metricValue("conveyor_stage_retries_total", { pipeline: "p", stage: "upper" })) -
          retriesBefore;
        const dlqCount =
          Number(b.stats.snapshot().find((s) => s.stage === "upper")?.dlqCount ?? 0) - Number(dlqBefore);
        if (counts) {
          // The stage's own failure: each record is a failed attempt, retried, then dead-lettered.
          expect(result).toBeUndefined();
          expect(foreign.batches()).toBe(3);
          expect(retries).toBe(4);
          expect(dlqCount).toBe(2);
          expect(deadLettered.map((r) => [r.id, r.headers._dlq_attempts])).toEqual([
            ["r1", "3"],
            ["r2", "3"],
          ]);
          for (const r of deadLettered) {
            expect(r.headers._dlq_error).toMatch(new RegExp(`^${expected}: transform "upper" at .*: `));
            expect(r.headers._dlq_error?.endsWith(details)).toBe(true);
          }
        } else {
          // Transport: not an attempt, not the records' fault. The batch fails whole (the source retries it).
          expect(result).toMatchObject({ code: expected, retryable: true });
          expect(foreign.batches()).toBe(1);
          expect(retries).toBe(0);
          expect(dlqCount).toBe(0);
          expect(deadLettered).toEqual([]);
        }
        expect(written).toEqual([]);
      } finally {
        b.tables.set(RoutingTable.fromProto(table(b.server.address, transform.address, sink.address), "b"));
        await foreign.stop();
      }
    });
  });

  it("sends a peer's error back with its code in ForwardAck.code; the sender rebuilds the same ConveyorError", async () => {
    const foreign = await foreignTransform({ code: grpc.status.UNAVAILABLE, details: "Connection dropped" });
    const t = table(b.server.address, foreign.address, sink.address);
    a.tables.set(RoutingTable.fromProto(t, "a"));
    b.tables.set(RoutingTable.fromProto(t, "b"));
    try {
      const err = await a.forwarder.deliver("p", 1, [rec("via-peer", "x")]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConveyorError);
      expect(err).toMatchObject({ code: "PEER_UNAVAILABLE", retryable: true, countsAgainstStage: false });
      expect((err as Error).message).toContain("Connection dropped");
      expect((err as Error).message).not.toMatch(/^PEER_UNAVAILABLE: /);
    } finally {
      const plain = table(b.server.address, transform.address, sink.address);
      a.tables.set(RoutingTable.fromProto(plain, "a"));
      b.tables.set(RoutingTable.fromProto(plain, "b"));
      await foreign.stop();
    }
  });
});
