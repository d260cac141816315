import { execFileSync } from "node:child_process";
import * as lz4 from "lz4-napi";
import * as snappy from "snappy";
/**
 * The fetch protocol against kafkajs' own encoders (an independent
 * implementation): its Fetch v4 request, and record batches it builds,
 * uncompressed and gzip, with keys, nulls and headers.
 */
import {
  decodeFetchResponse,
  encodeFetchRequest,
  nextFetchOffset,
  recordsOf,
  transactionalAt,
  type AbortedTransaction,
  type PartitionFetch,
} from "./kafka-fetch-protocol";

/* eslint-disable @typescript-eslint/no-require-imports -- kafkajs' protocol encoders are not in its typings */
const fetchV4 = require("kafkajs/src/protocol/requests/fetch/v4/request") as (args: object) => {
  encode(): Promise<{ buffer: Buffer }>;
};
const { RecordBatch } = require("kafkajs/src/protocol/recordBatch/v0") as {
  RecordBatch(args: object): Promise<{ buffer: Buffer }>;
};
const Record = require("kafkajs/src/protocol/recordBatch/record/v0") as (args: object) => unknown;
const Long = require("kafkajs/src/utils/long") as { fromNumber(n: number): unknown };
/* eslint-enable @typescript-eslint/no-require-imports */

interface TestRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, string | string[]>;
  timestampDelta?: number;
}

async function batch(
  baseOffset: number,
  records: TestRecord[],
  options: { gzip?: boolean; producerId?: number; transactional?: boolean; control?: boolean } = {},
): Promise<Buffer> {
  const encoded = await RecordBatch({
    compression: options.gzip ? 1 : 0,
    firstOffset: Long.fromNumber(baseOffset),
    firstTimestamp: 1_700_000_000_000,
    maxTimestamp: 1_700_000_000_999,
    lastOffsetDelta: records.length - 1,
    transactional: options.transactional ?? false,
    producerId: Long.fromNumber(options.producerId ?? -1),
    records: records.map((r, i) =>
      Record({
        offsetDelta: i,
        timestampDelta: r.timestampDelta ?? i,
        key: r.key,
        value: r.value,
        headers: r.headers ?? {},
      }),
    ),
  });
  const b = Buffer.from(encoded.buffer);
  if (options.control) b.writeInt16BE(b.readInt16BE(21) | 0x20, 21);
  return b;
}

const decodeRecords = (f: PartitionFetch, from: number) => [...recordsOf(f, from)];

/** A Fetch v4 response body (after the correlation id) for one partition. */
function response(
  records: Buffer,
  opts: { errorCode?: number; aborted?: AbortedTransaction[]; topic?: string } = {},
): Buffer {
  const topic = Buffer.from(opts.topic ?? "orders");
  const aborted = opts.aborted ?? [];
  const head = Buffer.alloc(4 + 4 + 2 + topic.length + 4 + 4 + 2 + 8 + 8 + 4 + aborted.length * 16 + 4);
  let p = head.writeInt32BE(0, 0); // throttle
  p = head.writeInt32BE(1, p);
  p = head.writeInt16BE(topic.length, p);
  p += topic.copy(head, p);
  p = head.writeInt32BE(1, p);
  p = head.writeInt32BE(3, p); // partition
  p = head.writeInt16BE(opts.errorCode ?? 0, p);
  p = head.writeBigInt64BE(1000n, p);
  p = head.writeBigInt64BE(990n, p);
  p = head.writeInt32BE(aborted.length, p);
  for (const a of aborted) {
    p = head.writeBigInt64BE(BigInt(a.producerId), p);
    p = head.writeBigInt64BE(BigInt(a.firstOffset), p);
  }
  head.writeInt32BE(records.length, p);
  return Buffer.concat([head, records]);
}

const text = (s: string): Buffer => Buffer.from(s);

describe("Fetch v4 request", () => {
  it("encodes the same body as kafkajs", async () => {
    const ours = encodeFetchRequest({
      topic: "orders",
      partition: 3,
      offset: 2 ** 40 + 17,
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 4 << 20,
      readCommitted: true,
    });
    const theirs = await fetchV4({
      replicaId: -1,
      maxWaitTime: 500,
      minBytes: 1,
      maxBytes: 4 << 20,
      isolationLevel: 1,
      topics: [
        {
          topic: "orders",
          partitions: [{ partition: 3, fetchOffset: String(2 ** 40 + 17), maxBytes: 4 << 20 }],
        },
      ],
    }).encode();
    expect(ours.equals(theirs.buffer)).toBe(true);
  });
});

describe("Fetch v4 response and record batches", () => {
  const records: TestRecord[] = [
    { key: text("k0"), value: text("v0"), headers: { trace: "abc", dup: ["1", "2"] } },
    { key: null, value: text("v1") },
    { key: text("k2"), value: null, timestampDelta: -5 },
    { key: text(""), value: Buffer.alloc(3000, 0x61) },
  ];

  it.each([false, true])("decodes every field (gzip: %s)", async (gzip) => {
    const fetched = decodeFetchResponse(response(await batch(40, records, { gzip })), "orders", 3);
    expect(fetched).toMatchObject({ errorCode: 0, highWatermark: 1000, lastStableOffset: 990 });
    const decoded = decodeRecords(fetched, 0);
    expect(decoded.map((r) => r.offset)).toEqual([40, 41, 42, 43]);
    expect(decoded.map((r) => r.timestamp)).toEqual([
      1_700_000_000_000, 1_700_000_000_001, 1_699_999_999_995, 1_700_000_000_003,
    ]);
    expect(decoded.map((r) => r.key?.toString() ?? null)).toEqual(["k0", null, "k2", ""]);
    expect(decoded.map((r) => r.value?.toString() ?? null)).toEqual(["v0", "v1", null, "a".repeat(3000)]);
    expect(decoded[0]!.headers.map(([k, v]) => [k, v?.toString()])).toEqual([
      ["trace", "abc"],
      ["dup", "1"],
      ["dup", "2"],
    ]);
    expect(nextFetchOffset(fetched.records, 0)).toBe(44);
  });

  it("skips records below the fetch offset, and a last batch cut short by the size limit", async () => {
    const whole = Buffer.concat([await batch(0, records), await batch(4, records)]);
    const cut = whole.subarray(0, whole.length - 10);
    const fetched = decodeFetchResponse(response(cut), "orders", 3);
    expect(decodeRecords(fetched, 2).map((r) => r.offset)).toEqual([2, 3]);
    expect(nextFetchOffset(fetched.records, 2)).toBe(4);
    expect(nextFetchOffset(Buffer.alloc(0), 7)).toBe(7);
  });

  it("read_committed: hides aborted transactions and control batches, keeps committed ones", async () => {
    const abortMarker = { key: Buffer.from([0, 0, 0, 0]), value: Buffer.from([0, 0, 0, 0, 0, 0]) };
    const commitMarker = { key: Buffer.from([0, 0, 0, 1]), value: Buffer.from([0, 0, 0, 0, 0, 0]) };
    const log = Buffer.concat([
      await batch(0, [records[0]!, records[1]!], { producerId: 7, transactional: true }), // 0-1 aborted
      await batch(2, [records[1]!], { producerId: 9, transactional: true }), // 2 committed
      await batch(3, [abortMarker], { producerId: 7, transactional: true, control: true }),
      await batch(4, [commitMarker], { producerId: 9, transactional: true, control: true }),
      await batch(5, [records[3]!], { producerId: 7, transactional: true }), // 5 committed later
      await batch(6, [records[0]!]), // 6 not transactional
      await batch(7, [commitMarker], { producerId: 7, transactional: true, control: true }),
    ]);
    const fetched: PartitionFetch = decodeFetchResponse(
      response(log, { aborted: [{ producerId: 7, firstOffset: 0 }] }),
      "orders",
      3,
    );
    expect(decodeRecords(fetched, 0).map((r) => r.offset)).toEqual([2, 5, 6]);
    expect(nextFetchOffset(fetched.records, 0)).toBe(8);
  });

  it("names the partition error and refuses a codec it does not know", async () => {
    expect(decodeFetchResponse(response(Buffer.alloc(0), { errorCode: 1 }), "orders", 3).errorCode).toBe(1);
    expect(() => decodeFetchResponse(response(Buffer.alloc(0)), "other", 3)).toThrow(/no other\/3/);
    const unknown = await batch(0, records);
    unknown.writeInt16BE(5, 21);
    const fetched = decodeFetchResponse(response(unknown), "orders", 3);
    expect(() => decodeRecords(fetched, 0)).toThrow(/record batch at offset 0 \(codec 5\)/);
  });

  /** The batch with its records section compressed by `compress` and the codec bits set (CRC not checked). */
  async function compressed(codec: number, compress: (b: Buffer) => Buffer): Promise<Buffer> {
    const plain = await batch(40, records);
    const out = Buffer.concat([plain.subarray(0, 61), compress(plain.subarray(61))]);
    out.writeInt32BE(out.length - 12, 8);
    out.writeInt16BE((out.readInt16BE(21) & ~0x07) | codec, 21);
    return out;
  }
  /** Node 20's zlib has no zstd: the zstd CLI compresses (a real zstd frame, as librdkafka writes). */
  const zstdCompress = (b: Buffer): Buffer => execFileSync("zstd", ["-q", "-c", "-3"], { input: b });
  const xerial = (b: Buffer): Buffer => {
    // snappy-java's framing (the Java producer): magic, version 1, compatible 1, then [int32 length][block]s.
    const head = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
    const half = Math.floor(b.length / 2);
    const blocks = [b.subarray(0, half), b.subarray(half)].map((part) => {
      const c = snappy.compressSync(part);
      const n = Buffer.alloc(4);
      n.writeInt32BE(c.length);
      return Buffer.concat([n, c]);
    });
    return Buffer.concat([head, ...blocks]);
  };

  it.each([
    ["snappy (raw, librdkafka)", 2, (b: Buffer) => snappy.compressSync(b)],
    ["snappy (xerial framing, Java)", 2, xerial],
    ["lz4 (frame)", 3, (b: Buffer) => lz4.compressFrameSync(b)],
    ["zstd", 4, (b: Buffer) => Buffer.from(zstdCompress(b))],
  ] as const)("decodes %s batches", async (_, codec, compress) => {
    const plain = decodeRecords(decodeFetchResponse(response(await batch(40, records)), "orders", 3), 0);
    const fetched = decodeFetchResponse(response(await compressed(codec, compress)), "orders", 3);
    expect(decodeRecords(fetched, 0)).toEqual(plain);
  });
});

describe("transactionalAt", () => {
  const rec = (v: string): TestRecord => ({ key: null, value: Buffer.from(v) });

  it("says whether the batch holding an offset was written in a transaction, or that none holds it", async () => {
    const plain = await batch(10, [rec("a"), rec("b")]);
    const txn = await batch(12, [rec("c")], { producerId: 7, transactional: true });
    const marker = await batch(13, [rec("")], { producerId: 7, control: true });
    const records = Buffer.concat([plain, txn, marker]);
    expect(transactionalAt(records, 11)).toBe(false);
    expect(transactionalAt(records, 12)).toBe(true);
    expect(transactionalAt(records, 13)).toBe(true);
    expect(transactionalAt(records, 14)).toBeUndefined();
    expect(transactionalAt(records.subarray(0, plain.length + 5), 12)).toBeUndefined(); // cut short
  });
});
