/**
 * The SDK over real gRPC on 127.0.0.1:0, driven by raw clients built from the
 * proto (what the sidecar does), so the wire contract itself is under test.
 */
import * as grpc from "@grpc/grpc-js";
import type { ProcessResponse__Output } from "../generated/conveyor/v1/ProcessResponse";
import type { StageInfo__Output } from "../generated/conveyor/v1/StageInfo";
import type { WriteResponse__Output } from "../generated/conveyor/v1/WriteResponse";
import { deadlineIn, v1 } from "../proto";
import {
  generatorRecord,
  generatorSource,
  makeRecord,
  serveSink,
  serveSource,
  serveTransform,
  StageError,
  type Record,
  type SinkHandler,
  type SourceContext,
  type SourceHandler,
  type StageServer,
  type TransformHandler,
} from "./index";

const CALL_MS = 10_000;

const servers: StageServer[] = [];
const clients: grpc.Client[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.stop(200)));
});

async function track(server: Promise<StageServer>): Promise<StageServer> {
  const s = await server;
  servers.push(s);
  return s;
}

function trackClient<C extends grpc.Client>(c: C): C {
  clients.push(c);
  return c;
}

function rec(id: string, value: string): Record {
  return makeRecord({
    id,
    key: Buffer.from(`key-${id}`),
    value: Buffer.from(value),
    headers: { h: id },
    eventTimeMs: 1234,
  });
}

interface Describable {
  Describe(
    arg: object,
    options: grpc.CallOptions,
    cb: grpc.requestCallback<StageInfo__Output>,
  ): grpc.ClientUnaryCall;
}

function describe_(client: Describable): Promise<StageInfo__Output> {
  return new Promise((resolve, reject) =>
    client.Describe({}, { deadline: deadlineIn(CALL_MS) }, (err, info) =>
      err || !info ? reject(err) : resolve(info),
    ),
  );
}

/** Collects a stream's messages; `status` resolves with the final status (OK or error). */
function collect<Req, T>(
  call: grpc.ClientDuplexStream<Req, T>,
): { items: T[]; status: Promise<grpc.StatusObject> } {
  const items: T[] = [];
  call.on("data", (m: T) => items.push(m));
  const status = new Promise<grpc.StatusObject>((resolve) => {
    call.on("status", resolve);
    // Errors also arrive as a status; this only keeps the stream from throwing.
    call.on("error", () => undefined);
  });
  return { items, status };
}

async function waitFor(pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
describe("serveTransform", () => {
  async function process(
    handler: TransformHandler,
    batches: Record[][],
    opts: { maxInFlightBatches?: number } = {},
  ): Promise<Map<number, ProcessResponse__Output>> {
    const server = await track(serveTransform(0, handler, { name: "t", ...opts }));
    const client = trackClient(new v1.Transform(server.address, grpc.credentials.createInsecure()));
    const call = client.Process({ deadline: deadlineIn(CALL_MS) });
    const { items, status } = collect(call);
    batches.forEach((records, i) => call.write({ batchId: i + 1, records }));
    call.end();
    expect((await status).code).toBe(grpc.status.OK);
    return new Map(items.map((r) => [r.batchId, r]));
  }

  test("maps: a value-only patch keeps the input's id, key, headers and event time", async () => {
    const handler: TransformHandler = (records) =>
      records.map((r) => ({
        value: Buffer.from(JSON.stringify({ ...JSON.parse(r.value.toString()), enriched: true })),
      }));
    const out = await process(handler, [[rec("a", '{"n":1}'), rec("b", '{"n":2}')]]);
    const results = out.get(1)!.results;
    expect(results).toHaveLength(2);
    expect(results[0]).toEqual({
      records: [
        {
          id: "a",
          key: Buffer.from("key-a"),
          value: Buffer.from('{"n":1,"enriched":true}'),
          headers: { h: "a" },
          eventTimeMs: 1234,
        },
      ],
      error: null,
    });
    expect(results[1]!.records[0]!.value.toString()).toBe('{"n":2,"enriched":true}');
    expect(results[1]!.records[0]!.id).toBe("b");
  });

  test("filters (null and []) and splits with deterministic ids", async () => {
    const handler: TransformHandler = (records) =>
      records.map((r) => {
        const v = r.value.toString();
        if (v === "drop") return null;
        if (v === "empty") return [];
        return v
          .split(",")
          .map((part, i) => (i === 2 ? { id: "explicit", value: part } : { value: part, key: `k-${part}` }));
      });
    const out = await process(handler, [[rec("x", "drop"), rec("y", "p,q,r"), rec("z", "empty")]]);
    const [x, y, z] = out.get(1)!.results;
    expect(x).toEqual({ records: [], error: null });
    expect(z).toEqual({ records: [], error: null });
    expect(y!.error).toBeNull();
    expect(
      y!.records.map((r) => [r.id, r.key.toString(), r.value.toString(), r.headers, r.eventTimeMs]),
    ).toEqual([
      ["y/0", "k-p", "p", { h: "y" }, 1234],
      ["y/1", "k-q", "q", { h: "y" }, 1234],
      ["explicit", "key-y", "r", { h: "y" }, 1234],
    ]);
  });

  test("per-record errors: StageError keeps retryable and code, a plain Error is retryable", async () => {
    const handler: TransformHandler = (records) =>
      records.map((r) => {
        if (r.id === "bad") return new StageError("not JSON", { retryable: false, code: "BAD_JSON" });
        if (r.id === "flaky") return new Error("db timeout");
        return { value: r.value };
      });
    const out = await process(handler, [[rec("ok", "1"), rec("bad", "2"), rec("flaky", "3")]]);
    const [ok, bad, flaky] = out.get(1)!.results;
    expect(ok!.error).toBeNull();
    expect(ok!.records).toHaveLength(1);
    expect(bad).toEqual({ records: [], error: { message: "not JSON", retryable: false, code: "BAD_JSON" } });
    expect(flaky).toEqual({
      records: [],
      error: { message: "db timeout", retryable: true, code: "STAGE_FAILED" },
    });
  });

  test("a throwing handler fails every record of that batch only", async () => {
    const handler: TransformHandler = async (records) => {
      if (records[0]!.id === "boom") throw new Error("handler exploded");
      if (records[0]!.id === "fatal")
        throw new StageError("config broken", { retryable: false, code: "CONFIG" });
      return records.map((r) => ({ value: r.value }));
    };
    const out = await process(handler, [
      [rec("boom", "1"), rec("b2", "2")],
      [rec("fine", "3")],
      [rec("fatal", "4")],
    ]);
    expect(out.get(1)!.results).toEqual([
      { records: [], error: { message: "handler exploded", retryable: true, code: "STAGE_FAILED" } },
      { records: [], error: { message: "handler exploded", retryable: true, code: "STAGE_FAILED" } },
    ]);
    expect(out.get(2)!.results[0]!.records[0]!.id).toBe("fine");
    expect(out.get(3)!.results).toEqual([
      { records: [], error: { message: "config broken", retryable: false, code: "CONFIG" } },
    ]);
  });

  test("a wrong-length result fails every record non-retryably, explaining the contract", async () => {
    const handler: TransformHandler = (records) => records.slice(1).map((r) => ({ value: r.value }));
    const out = await process(handler, [[rec("a", "1"), rec("b", "2"), rec("c", "3")]]);
    const results = out.get(1)!.results;
    expect(results).toHaveLength(3);
    for (const r of results) {
      expect(r.records).toEqual([]);
      expect(r.error).toEqual({
        message:
          "transform handler must return exactly one result per input record: got 2 results for 3 records",
        retryable: false,
        code: "PROTOCOL_VIOLATION",
      });
    }
  });

  test("batches run concurrently (answered out of order by batch id), capped per stream", async () => {
    let running = 0;
    let maxRunning = 0;
    const handler: TransformHandler = async (records) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await sleep(Number(records[0]!.value.toString()));
      running--;
      return records.map((r) => ({ value: r.value }));
    };
    const server = await track(serveTransform(0, handler, { name: "t", maxInFlightBatches: 3 }));
    const client = trackClient(new v1.Transform(server.address, grpc.credentials.createInsecure()));
    const call = client.Process({ deadline: deadlineIn(CALL_MS) });
    const { items, status } = collect(call);
    call.write({ batchId: 1, records: [rec("slow", "300")] });
    call.write({ batchId: 2, records: [rec("fast", "1")] });
    for (let i = 3; i <= 10; i++) call.write({ batchId: i, records: [rec(`r${i}`, "30")] });
    call.end();
    expect((await status).code).toBe(grpc.status.OK);
    const order = items.map((r) => r.batchId);
    expect([...order].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(order.indexOf(2)).toBeLessThan(order.indexOf(1));
    expect(maxRunning).toBe(3);
  });

  test("stop() answers the batches already taken, then ends the stream with UNAVAILABLE", async () => {
    const handler: TransformHandler = async (records) => {
      await sleep(100);
      return records.map((r) => ({ value: r.value }));
    };
    const server = await serveTransform(0, handler, { name: "t" });
    const client = trackClient(new v1.Transform(server.address, grpc.credentials.createInsecure()));
    const call = client.Process({ deadline: deadlineIn(CALL_MS) });
    const { items, status } = collect(call);
    let started = false;
    call.write({ batchId: 1, records: [rec("a", "1")] }, () => (started = true));
    await waitFor(() => started);
    await sleep(20);
    await server.stop(3000);
    expect(items.map((r) => r.batchId)).toEqual([1]);
    expect((await status).code).toBe(grpc.status.UNAVAILABLE);
  });

  test("Describe names the stage", async () => {
    const server = await track(
      serveTransform(0, (r) => r, { name: "enrich", version: "1.2.3", labels: { team: "data" } }),
    );
    const client = trackClient(new v1.Transform(server.address, grpc.credentials.createInsecure()));
    expect(await describe_(client)).toEqual({
      name: "enrich",
      kind: "STAGE_KIND_TRANSFORM",
      version: "1.2.3",
      labels: { team: "data" },
      partitions: [],
    });
  });

  test("options are validated", async () => {
    await expect(serveTransform(0, (r) => r, { name: "" })).rejects.toThrow(/name is required/);
  });
});

// ---------------------------------------------------------------------------
describe("serveSink", () => {
  async function write(
    handler: SinkHandler,
    batches: Record[][],
  ): Promise<Map<number, WriteResponse__Output>> {
    const server = await track(serveSink(0, handler, { name: "out" }));
    const client = trackClient(new v1.Sink(server.address, grpc.credentials.createInsecure()));
    const call = client.Write({ deadline: deadlineIn(CALL_MS) });
    const { items, status } = collect(call);
    batches.forEach((records, i) => call.write({ batchId: i + 1, records }));
    call.end();
    expect((await status).code).toBe(grpc.status.OK);
    return new Map(items.map((r) => [r.batchId, r]));
  }

  test("void means every record is durable; the handler sees the records as sent", async () => {
    const written: string[] = [];
    const out = await write(
      async (records) => {
        for (const r of records) written.push(`${r.id}=${r.value.toString()}`);
      },
      [[rec("a", "1"), rec("b", "2")], [rec("c", "3")]],
    );
    expect(written.sort()).toEqual(["a=1", "b=2", "c=3"]);
    expect(out.get(1)!.results).toEqual([
      { id: "a", error: null },
      { id: "b", error: null },
    ]);
    expect(out.get(2)!.results).toEqual([{ id: "c", error: null }]);
  });

  test("partial errors per record; a throw fails the batch; a wrong length is a contract error", async () => {
    const out = await write(
      (records) => {
        if (records[0]!.id === "throw") throw new Error("disk full");
        if (records[0]!.id === "short") return [null];
        return records.map((r) =>
          r.id === "dup" ? new StageError("duplicate", { retryable: false, code: "DUP" }) : null,
        );
      },
      [
        [rec("ok", "1"), rec("dup", "2"), rec("ok2", "3")],
        [rec("throw", "4"), rec("t2", "5")],
        [rec("short", "6"), rec("s2", "7")],
      ],
    );
    expect(out.get(1)!.results).toEqual([
      { id: "ok", error: null },
      { id: "dup", error: { message: "duplicate", retryable: false, code: "DUP" } },
      { id: "ok2", error: null },
    ]);
    expect(out.get(2)!.results).toEqual([
      { id: "throw", error: { message: "disk full", retryable: true, code: "STAGE_FAILED" } },
      { id: "t2", error: { message: "disk full", retryable: true, code: "STAGE_FAILED" } },
    ]);
    for (const r of out.get(3)!.results) {
      expect(r.error).toMatchObject({ retryable: false, code: "PROTOCOL_VIOLATION" });
      expect(r.error!.message).toMatch(/one result per input record: got 1 results for 2 records/);
    }
  });

  test("Describe", async () => {
    const server = await track(serveSink(0, () => undefined, { name: "out" }));
    const client = trackClient(new v1.Sink(server.address, grpc.credentials.createInsecure()));
    expect(await describe_(client)).toMatchObject({ name: "out", kind: "STAGE_KIND_SINK", version: "0.0.0" });
  });
});

// ---------------------------------------------------------------------------
describe("serveSource", () => {
  /** A generator source that records acks and read calls. */
  function spySource(extra: Partial<SourceHandler> = {}) {
    const gen = generatorSource({ payloadBytes: 10 });
    const acks: Array<{ cursor: string; ctx: SourceContext }> = [];
    let reads = 0;
    const source: SourceHandler = {
      read: (req) => {
        reads++;
        return gen.read(req);
      },
      ack: (cursor, ctx) => {
        acks.push({ cursor, ctx });
      },
      ...extra,
    };
    return { source, acks, reads: () => reads };
  }

  async function open(
    server: StageServer,
    handshake: { pipeline: string; partitions?: number[]; credits: number },
  ) {
    const client = trackClient(new v1.Source(server.address, grpc.credentials.createInsecure()));
    const call = client.Read({ deadline: deadlineIn(CALL_MS) });
    const c = collect(call);
    call.write({ partitions: [], ...handshake });
    const records = () => c.items.flatMap((r) => r.records);
    return { call, ...c, records };
  }

  const ids = (records: Record[]) => records.map((r) => r.id);
  const withoutTime = (r: Record) => ({ ...r, eventTimeMs: 0 });

  test("never sends more records than the credits granted; each ReadRequest adds credits", async () => {
    const spy = spySource();
    const server = await track(serveSource(0, spy.source, { name: "gen" }));
    const s = await open(server, { pipeline: "p", credits: 5 });
    await waitFor(() => s.records().length >= 5);
    const readsAfterFive = spy.reads();
    await sleep(150);
    expect(s.records()).toHaveLength(5);
    // Out of credit, the source is not even asked.
    expect(spy.reads()).toBe(readsAfterFive);

    s.call.write({ credits: 3 });
    await waitFor(() => s.records().length >= 8);
    await sleep(100);
    expect(s.records().map(withoutTime)).toEqual(
      [0, 1, 2, 3, 4, 5, 6, 7].map((i) => withoutTime(generatorRecord(i, { payloadBytes: 10 }))),
    );
    // Cursors are the generator's: each names the last record of its response (stages.proto).
    expect(s.items.at(-1)!.cursor).toBe("7");
    s.call.end();
    expect((await s.status).code).toBe(grpc.status.OK);
  });

  test("reconnect resumes after the last acked cursor and re-sends unacked records", async () => {
    const spy = spySource();
    const server = await track(serveSource(0, spy.source, { name: "gen" }));
    const first = await open(server, { pipeline: "p", partitions: [], credits: 8 });
    await waitFor(() => first.records().length >= 8);
    first.call.write({ credits: 0, ackCursor: "5" });
    await waitFor(() => spy.acks.length === 1);
    expect(spy.acks[0]).toEqual({ cursor: "5", ctx: { pipeline: "p", partitions: [], generation: 0 } });
    first.call.end();
    expect((await first.status).code).toBe(grpc.status.OK);

    const second = await open(server, { pipeline: "p", credits: 4 });
    await waitFor(() => second.records().length >= 4);
    // The ack of "5" covers gen-0..gen-5; gen-6 and gen-7 were sent but never acked: they come again, then new ones.
    expect(ids(second.records())).toEqual(["gen-6", "gen-7", "gen-8", "gen-9"]);
    second.call.end();
    await second.status;

    // Another pipeline has its own position: from the start.
    const other = await open(server, { pipeline: "q", credits: 2 });
    await waitFor(() => other.records().length >= 2);
    expect(ids(other.records())).toEqual(["gen-0", "gen-1"]);
    other.call.end();
    await other.status;
  });

  test("initialCursor is where a reader starts when nothing was acked", async () => {
    // A cursor names the last record already delivered: "99" starts the read at gen-100.
    const spy = spySource({ initialCursor: (ctx) => (ctx.pipeline === "late" ? "99" : "") });
    const server = await track(serveSource(0, spy.source, { name: "gen" }));
    const s = await open(server, { pipeline: "late", credits: 2 });
    await waitFor(() => s.records().length >= 2);
    expect(ids(s.records())).toEqual(["gen-100", "gen-101"]);
    s.call.end();
    await s.status;
  });

  test("a bounded generator stops after count and keeps the stream open (empty reads are polled)", async () => {
    const server = await track(serveSource(0, generatorSource({ count: 3, prefix: "g" }), { name: "gen" }));
    const s = await open(server, { pipeline: "p", credits: 100 });
    await waitFor(() => s.records().length >= 3);
    await sleep(100);
    expect(ids(s.records())).toEqual(["g-0", "g-1", "g-2"]);
    const v = JSON.parse(s.records()[2]!.value.toString()) as { seq: number; payload: string };
    expect(v.seq).toBe(2);
    expect(v.payload).toHaveLength(1000);
    expect(s.records()[2]!.key.toString()).toBe("k2");
    s.call.end();
    expect((await s.status).code).toBe(grpc.status.OK);
  });

  test("a read() that throws ends the stream with an error status", async () => {
    const source: SourceHandler = {
      read: async () => {
        throw new Error("upstream gone");
      },
    };
    const server = await track(serveSource(0, source, { name: "broken" }));
    const s = await open(server, { pipeline: "p", credits: 10 });
    const status = await s.status;
    expect(status.code).toBe(grpc.status.ABORTED);
    expect(status.details).toMatch(/source read failed: upstream gone/);
  });

  test("a handshake for partitions the source does not have is INVALID_ARGUMENT", async () => {
    const source: SourceHandler = { ...generatorSource(), partitions: [0, 1, 2] };
    const server = await track(serveSource(0, source, { name: "parts" }));
    const s = await open(server, { pipeline: "p", partitions: [1, 7], credits: 10 });
    const status = await s.status;
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toMatch(/partitions this source does not have: 7/);
  });

  test("stop() ends an open read stream with UNAVAILABLE", async () => {
    const server = await serveSource(0, generatorSource(), { name: "gen" });
    const s = await open(server, { pipeline: "p", credits: 1 });
    await waitFor(() => s.records().length >= 1);
    const started = Date.now();
    await server.stop(3000);
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await s.status).code).toBe(grpc.status.UNAVAILABLE);
  });

  test("Describe reports the partitions", async () => {
    const server = await track(serveSource(0, { ...generatorSource(), partitions: [0, 1] }, { name: "gen" }));
    const client = trackClient(new v1.Source(server.address, grpc.credentials.createInsecure()));
    expect(await describe_(client)).toEqual({
      name: "gen",
      kind: "STAGE_KIND_SOURCE",
      version: "0.0.0",
      labels: {},
      partitions: [0, 1],
    });
  });
});
