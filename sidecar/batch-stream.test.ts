/**
 * BatchStream over a fake duplex stream: answers resolve their batch, the
 * fixed window holds batches back in order, and the per-stream deadline sweep
 * fails exactly the batches past their deadline (freeing their slots) while a
 * late answer is dropped.
 */
import { EventEmitter } from "node:events";
import type * as grpc from "@grpc/grpc-js";
import { ConveyorError } from "../src/errors";
import { BatchStream } from "./batch-stream";

interface Req {
  batchId: number;
}
interface Res {
  batchId: number;
}

class FakeCall extends EventEmitter {
  readonly written: Req[] = [];
  write(req: Req): boolean {
    this.written.push(req);
    return true;
  }
  end(): void {}
  answer(batchId: number): void {
    this.emit("data", { batchId });
  }
}

function stream(window = 2, timeoutMs = 1000): { s: BatchStream<Req, Res>; call: FakeCall } {
  const call = new FakeCall();
  const s = new BatchStream<Req, Res>({
    name: "test",
    open: () => call as unknown as grpc.ClientDuplexStream<Req, Res>,
    batchIdOf: (r) => r.batchId,
    timeoutMs,
    window,
  });
  return { s, call };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

test("answers resolve their batch; the window holds later batches back, in order", async () => {
  const { s, call } = stream(2);
  const a = s.send((batchId) => ({ batchId }));
  const b = s.send((batchId) => ({ batchId }));
  const c = s.send((batchId) => ({ batchId }));
  expect(call.written.map((r) => r.batchId)).toEqual([1, 2]);
  call.answer(2);
  await expect(b).resolves.toEqual({ batchId: 2 });
  expect(call.written.map((r) => r.batchId)).toEqual([1, 2, 3]);
  call.answer(1);
  call.answer(3);
  await expect(a).resolves.toEqual({ batchId: 1 });
  await expect(c).resolves.toEqual({ batchId: 3 });
  expect(s.inFlight).toBe(0);
  expect(jest.getTimerCount()).toBe(0); // nothing pending: no deadline timer left behind
});

test("a batch past its deadline fails with TIMEOUT, frees its slot, and its late answer is dropped", async () => {
  const { s, call } = stream(1, 1000);
  const a = s.send((batchId) => ({ batchId }));
  const b = s.send((batchId) => ({ batchId }), 5000);
  jest.advanceTimersByTime(999);
  expect(s.inFlight).toBe(1);
  jest.advanceTimersByTime(2);
  const err = await a.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConveyorError);
  expect((err as ConveyorError).code).toBe("TIMEOUT");
  expect((err as ConveyorError).message).toMatch(/batch 1 not answered within 1000 ms/);
  // The slot went to b, which has its own (longer) deadline.
  expect(call.written.map((r) => r.batchId)).toEqual([1, 2]);
  call.answer(1); // late: dropped
  jest.advanceTimersByTime(3000);
  expect(s.inFlight).toBe(1);
  call.answer(2);
  await expect(b).resolves.toEqual({ batchId: 2 });
});

test("batches with different deadlines each time out at their own", async () => {
  const { s } = stream(3, 10_000);
  const failedAt: { [id: string]: number } = {};
  const started = Date.now();
  const track = (name: string, p: Promise<Res>) =>
    p.catch(() => {
      failedAt[name] = Date.now() - started;
    });
  const slow = track(
    "slow",
    s.send((batchId) => ({ batchId }), 3000),
  );
  const fast = track(
    "fast",
    s.send((batchId) => ({ batchId }), 1000),
  );
  const mid = track(
    "mid",
    s.send((batchId) => ({ batchId }), 2000),
  );
  await jest.advanceTimersByTimeAsync(3500);
  await Promise.all([slow, fast, mid]);
  expect(failedAt).toEqual({ fast: 1000, mid: 2000, slow: 3000 });
});

test("close fails everything pending and waiting and clears the deadline timer", async () => {
  const { s } = stream(1);
  const a = s.send((batchId) => ({ batchId }));
  const b = s.send((batchId) => ({ batchId }));
  s.close();
  await expect(a).rejects.toMatchObject({ code: "SHUTTING_DOWN" });
  await expect(b).rejects.toMatchObject({ code: "SHUTTING_DOWN" });
  expect(jest.getTimerCount()).toBe(0);
});
