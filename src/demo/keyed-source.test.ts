import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import type { ReadRequest } from "../generated/conveyor/v1/ReadRequest";
import type { ReadResponse__Output } from "../generated/conveyor/v1/ReadResponse";
import type { StageInfo__Output } from "../generated/conveyor/v1/StageInfo";
import { deadlineIn, v1 } from "../proto";
import { serveSource, type SourceContext, type StageServer } from "../sdk";
import {
  committedIndex,
  decodeCursor,
  keyedRecord,
  keyedSource,
  readSessionLog,
  type KeyedSourceOptions,
  type KeyedValue,
} from "./keyed-source";

const dirs: string[] = [];
const servers: StageServer[] = [];
const clients: grpc.Client[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.stop(200)));
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function options(perPartition = 50): KeyedSourceOptions {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "keyed-source-"));
  dirs.push(stateDir);
  return { partitions: 4, perPartition, keys: 20, stateDir, payloadBytes: 4 };
}

const ctx = (partitions: number[], generation = 1): SourceContext => ({
  pipeline: "p",
  partitions,
  generation,
});

const valueOf = (r: { value: Buffer }): KeyedValue => JSON.parse(r.value.toString()) as KeyedValue;

describe("keyedRecord", () => {
  test("each key lives in one partition and its sequence counts 0, 1, 2, … in source order", () => {
    const o = options(100);
    const partitionOfKey = new Map<string, number>();
    const lastSeq = new Map<string, number>();
    for (let p = 0; p < o.partitions; p++) {
      for (let i = 0; i < o.perPartition; i++) {
        const r = keyedRecord(o, p, i);
        const v = valueOf(r);
        expect(r.id).toBe(`p${p}-${i}`);
        expect(r.key.toString()).toBe(v.key);
        expect(partitionOfKey.get(v.key) ?? p).toBe(p);
        partitionOfKey.set(v.key, p);
        expect(v.seq).toBe((lastSeq.get(v.key) ?? -1) + 1);
        lastSeq.set(v.key, v.seq);
      }
    }
    expect(partitionOfKey.size).toBe(o.keys);
  });

  test("refuses a key count that does not divide among the partitions", () => {
    expect(() => keyedSource({ ...options(), keys: 10 })).toThrow(/multiple of partitions/);
  });
});

describe("keyedSource cursors", () => {
  test("a cursor names the last record sent per partition; reads go round robin and stop at the end", async () => {
    const o = options(3);
    const source = keyedSource(o);
    const start = await source.initialCursor!(ctx([1, 2]));
    expect(decodeCursor(start, [1, 2])).toEqual(
      new Map([
        [1, -1],
        [2, -1],
      ]),
    );
    const first = await source.read({ ...ctx([1, 2]), after: start, max: 3 });
    expect(first.records.map((r) => r.id)).toEqual(["p1-0", "p2-0", "p1-1"]);
    expect(JSON.parse(first.cursor)).toEqual({ 1: 1, 2: 0 });
    const rest = await source.read({ ...ctx([1, 2]), after: first.cursor, max: 100 });
    expect(rest.records.map((r) => r.id)).toEqual(["p1-2", "p2-1", "p2-2"]);
    const end = await source.read({ ...ctx([1, 2]), after: rest.cursor, max: 100 });
    expect(end.records).toEqual([]);
    expect(end.cursor).toBe(rest.cursor);
  });

  test("an ack is committed per partition; another process resumes after it, and commits never go back", async () => {
    const o = options();
    const podA = keyedSource(o);
    const read = await podA.read({ ...ctx([0, 3]), after: await podA.initialCursor!(ctx([0, 3])), max: 10 });
    await podA.ack!(read.cursor, ctx([0, 3]));
    expect(committedIndex(o.stateDir, 0)).toBe(4);
    expect(committedIndex(o.stateDir, 3)).toBe(4);
    expect(committedIndex(o.stateDir, 1)).toBe(-1);

    // Pod B takes partition 3 over (the same state directory): it starts after p3-4.
    const podB = keyedSource(o);
    const resumed = await podB.read({
      ...ctx([3], 2),
      after: await podB.initialCursor!(ctx([3], 2)),
      max: 2,
    });
    expect(resumed.records.map((r) => r.id)).toEqual(["p3-5", "p3-6"]);
    await podB.ack!(resumed.cursor, ctx([3], 2));
    expect(committedIndex(o.stateDir, 3)).toBe(6);

    // Pod A gets partition 3 back; resuming from its own stale cursor, it still starts after the commit.
    const back = await podA.read({ ...ctx([0, 3], 3), after: read.cursor, max: 2 });
    expect(back.records.map((r) => r.id)).toEqual(["p0-5", "p3-7"]);

    // A late ack of an older cursor does not move the commit backwards.
    await podA.ack!(JSON.stringify({ 0: 2, 3: 2 }), ctx([0, 3]));
    expect(committedIndex(o.stateDir, 0)).toBe(4);
    expect(committedIndex(o.stateDir, 3)).toBe(6);
  });

  test("a cursor without a position for a partition being read is refused", async () => {
    const source = keyedSource(options());
    await expect(source.read({ ...ctx([0, 1]), after: JSON.stringify({ 0: 3 }), max: 5 })).rejects.toThrow(
      /no position for 1/,
    );
    await expect(source.read({ ...ctx([0]), after: "7", max: 5 })).rejects.toThrow(/invalid cursor/);
  });
});

describe("keyedSource served over gRPC", () => {
  async function serve(o: KeyedSourceOptions): Promise<StageServer> {
    const server = await serveSource(0, keyedSource(o), { name: "keyed", host: "127.0.0.1" });
    servers.push(server);
    return server;
  }

  function client(server: StageServer): grpc.Client & {
    Read(opts: grpc.CallOptions): grpc.ClientDuplexStream<ReadRequest, ReadResponse__Output>;
    Describe(
      req: object,
      opts: grpc.CallOptions,
      cb: (err: grpc.ServiceError | null, info?: StageInfo__Output) => void,
    ): void;
  } {
    const c = new v1.Source(server.address, grpc.credentials.createInsecure());
    clients.push(c);
    return c as unknown as ReturnType<typeof client>;
  }

  function read(server: StageServer, handshake: ReadRequest) {
    const call = client(server).Read({ deadline: deadlineIn(10_000) });
    const responses: ReadResponse__Output[] = [];
    call.on("data", (r: ReadResponse__Output) => responses.push(r));
    const status = new Promise<grpc.StatusObject>((resolve) => {
      call.on("status", resolve);
      call.on("error", () => undefined);
    });
    call.write(handshake);
    return { call, responses, status, ids: () => responses.flatMap((r) => r.records.map((x) => x.id)) };
  }

  const waitFor = async (pred: () => boolean): Promise<void> => {
    const until = Date.now() + 5000;
    while (!pred()) {
      if (Date.now() > until) throw new Error("condition not met in time");
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  test("Describe lists every partition, so the router can divide them", async () => {
    const server = await serve(options());
    const info = await new Promise<StageInfo__Output>((resolve, reject) =>
      client(server).Describe({}, { deadline: deadlineIn(5000) }, (err, i) => (i ? resolve(i) : reject(err))),
    );
    expect(info.partitions).toEqual([0, 1, 2, 3]);
  });

  test("the handshake picks the partitions and carries the generation; sessions are logged and acks committed", async () => {
    const o = options(10);
    const server = await serve(o);
    const s = read(server, { pipeline: "p", partitions: [1, 3], generation: 7, credits: 4 });
    await waitFor(() => s.ids().length >= 4);
    expect(s.ids()).toEqual(["p1-0", "p3-0", "p1-1", "p3-1"]);
    s.call.write({ credits: 0, ackCursor: s.responses.at(-1)!.cursor });
    s.call.end();
    expect((await s.status).code).toBe(grpc.status.OK);
    expect(committedIndex(o.stateDir, 1)).toBe(1);
    expect(committedIndex(o.stateDir, 3)).toBe(1);

    await waitFor(() => readSessionLog(o.stateDir, 3).length >= 2);
    const events = readSessionLog(o.stateDir, 3);
    expect(events.map((e) => [e.event, e.generation, e.pid])).toEqual([
      ["open", 7, process.pid],
      ["close", 7, process.pid],
    ]);
    expect(events[0]!.committed).toBe(-1);
    expect(events[1]!.t).toBeGreaterThanOrEqual(events[0]!.t);
    expect(readSessionLog(o.stateDir, 0)).toEqual([]);

    // A second server (another pod) over the same directory resumes partition 3 after p3-1.
    const other = await serve(o);
    const next = read(other, { pipeline: "p", partitions: [3], generation: 8, credits: 2 });
    await waitFor(() => next.ids().length >= 2);
    expect(next.ids()).toEqual(["p3-2", "p3-3"]);
    next.call.end();
    await next.status;
    expect(readSessionLog(o.stateDir, 3)[2]).toMatchObject({ event: "open", generation: 8, committed: 1 });
  });

  test("a handshake for a partition the source does not have is refused", async () => {
    const server = await serve(options());
    const s = read(server, { pipeline: "p", partitions: [2, 9], generation: 1, credits: 4 });
    const status = await s.status;
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.details).toMatch(/9/);
    expect(s.responses).toEqual([]);
  });
});
