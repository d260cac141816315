/**
 * The hand-written codecs against protobufjs (the reference encoding of the
 * .proto): random messages encoded by either side decode to the same thing on
 * the other, re-encoding a decoded message (the splice path) changes nothing,
 * and a changed record is never spliced with its old bytes.
 */
import * as path from "node:path";
import * as protobuf from "protobufjs";
import { PROTO_DIR, PROTO_FILES } from "../proto";
import * as wire from "./wire";

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(PROTO_DIR, target));
root.loadSync(PROTO_FILES, { keepCase: false });
const type = (name: string): protobuf.Type => root.lookupType(`conveyor.v1.${name}`);

/** A canonical, key-sorted view of a message (bytes as hex), for comparisons. */
function canonical(v: unknown): unknown {
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `hex:${Buffer.from(v).toString("hex")}`;
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    const o = v as { [k: string]: unknown };
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, canonical(o[k])]),
    );
  }
  return v;
}

/** What protobufjs reads from `bytes`, with every field (like proto-loader's defaults: true). */
function reference(name: string, bytes: Uint8Array): unknown {
  const t = type(name);
  return canonical(
    t.toObject(t.decode(bytes), { longs: Number, defaults: true, arrays: true, objects: true }),
  );
}

let seed = 42;
const random = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const text = (): string => pick(["", "a", "héllo", "x".repeat(200), `😀${random()}`]);
const bytes = (): Buffer => Buffer.from(text() + text());
const record = () => ({
  id: text(),
  key: bytes(),
  value: bytes(),
  headers: random() < 0.5 ? {} : { [text()]: text(), b: text() },
  eventTimeMs: pick([0, 1, Date.now(), -5, 2 ** 40]),
});
const recordError = () =>
  random() < 0.5 ? null : { message: text(), retryable: random() < 0.5, code: text() };

const CASES: Array<[string, () => object, (m: never) => Buffer, (b: Buffer) => object]> = [
  [
    "ReadResponse",
    () => ({ records: Array.from({ length: 3 }, record), cursor: text() }),
    wire.encodeReadResponse,
    wire.decodeReadResponse,
  ],
  [
    "ProcessRequest",
    () => ({ batchId: Math.floor(random() * 1e6), records: Array.from({ length: 3 }, record) }),
    wire.encodeBatchOfRecords,
    wire.decodeBatchOfRecords,
  ],
  [
    "WriteRequest",
    () => ({ batchId: 2 ** 33 + 7, records: Array.from({ length: 2 }, record) }),
    wire.encodeBatchOfRecords,
    wire.decodeBatchOfRecords,
  ],
  [
    "ProcessResponse",
    () => ({
      batchId: 3,
      results: [
        { records: Array.from({ length: 2 }, record), error: recordError() },
        { records: [], error: recordError() },
      ],
    }),
    wire.encodeProcessResponse,
    wire.decodeProcessResponse,
  ],
  [
    "WriteResponse",
    () => ({
      batchId: 5,
      results: [
        { id: text(), error: recordError() },
        { id: text(), error: null },
      ],
    }),
    wire.encodeWriteResponse,
    wire.decodeWriteResponse,
  ],
  [
    "ForwardBatch",
    () => ({
      batchId: 9,
      pipeline: text(),
      stageIndex: 2,
      generation: 12,
      records: Array.from({ length: 3 }, record),
      senderId: text(),
    }),
    wire.encodeForwardBatch,
    wire.decodeForwardBatch,
  ],
  [
    "ForwardAck",
    () => ({ batchId: 11, credits: 1, error: text(), retryable: random() < 0.5 }),
    wire.encodeForwardAck,
    wire.decodeForwardAck,
  ],
];

describe("wire codecs", () => {
  test.each(CASES)(
    "%s matches protobufjs both ways, and re-encodes unchanged",
    (name, make, encode, decode) => {
      for (let i = 0; i < 300; i++) {
        const message = make();
        const ours = encode(message as never);
        const theirs = Buffer.from(type(name).encode(message).finish());
        expect(reference(name, ours)).toEqual(reference(name, theirs));
        expect(canonical(decode(theirs))).toEqual(reference(name, theirs));
        expect(canonical(decode(ours))).toEqual(reference(name, theirs));
        // A decoded message written again (records spliced as received) says the same.
        expect(reference(name, encode(decode(ours) as never))).toEqual(reference(name, theirs));
      }
    },
  );

  test("decoded records are plain records: every field is an own property, spreads keep them", () => {
    const [r] = wire.decodeReadResponse(
      wire.encodeReadResponse({
        records: [{ id: "a", key: Buffer.from("k"), value: Buffer.from("v"), headers: {}, eventTimeMs: 0 }],
        cursor: "c",
      }),
    ).records;
    expect({ ...r }).toEqual({
      id: "a",
      key: Buffer.from("k"),
      value: Buffer.from("v"),
      headers: {},
      eventTimeMs: 0,
    });
    expect(Buffer.isBuffer(r!.key)).toBe(true);
  });

  test("a record changed after decoding is encoded from its fields, not from its old bytes", () => {
    const decodeOne = () =>
      wire.decodeBatchOfRecords(
        wire.encodeBatchOfRecords({
          batchId: 1,
          records: [
            { id: "a", key: Buffer.from("k"), value: Buffer.from("v"), headers: { h: "1" }, eventTimeMs: 5 },
          ],
        }),
      ).records[0] as wire.WireRecord;
    const roundTrip = (r: wire.WireRecord) =>
      wire.decodeBatchOfRecords(wire.encodeBatchOfRecords({ records: [r] })).records[0]!;
    const changes: Array<[string, (r: wire.WireRecord) => void, object]> = [
      ["id", (r) => (r.id = "b"), { id: "b" }],
      ["key", (r) => (r.key = Buffer.from("k2")), { key: Buffer.from("k2") }],
      ["value", (r) => (r.value = Buffer.from("v2")), { value: Buffer.from("v2") }],
      ["value in place", (r) => (r.value[0] = 0x77), { value: Buffer.from("w") }],
      ["eventTimeMs", (r) => (r.eventTimeMs = 6), { eventTimeMs: 6 }],
      ["header value", (r) => (r.headers.h = "2"), { headers: { h: "2" } }],
      ["header added", (r) => (r.headers.x = "y"), { headers: { h: "1", x: "y" } }],
      ["header removed", (r) => delete r.headers.h, { headers: {} }],
      ["headers replaced", (r) => (r.headers = { z: "1" }), { headers: { z: "1" } }],
    ];
    for (const [, change, expected] of changes) {
      const r = decodeOne();
      expect(wire.WireRecord.unchangedLength(r)).toBeGreaterThan(0);
      change(r);
      expect({ ...roundTrip(r) }).toEqual({
        id: "a",
        key: Buffer.from("k"),
        value: Buffer.from("v"),
        headers: { h: "1" },
        eventTimeMs: 5,
        ...expected,
      });
    }
  });

  test("records spliced in runs: mixed sources, changed records and re-tagged fields come out right", () => {
    const make = (prefix: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        id: `${prefix}-${i}`,
        key: Buffer.from(`k${i}`),
        value: Buffer.alloc(i * 70 + 1, i), // lengths cross the 1- and 2-byte varint boundary
        headers: (i % 3 === 0 ? { h: String(i) } : {}) as { [k: string]: string },
        eventTimeMs: 1000 + i,
      }));
    const a = wire.decodeReadResponse(
      wire.encodeReadResponse({ records: make("a", 6), cursor: "x" }),
    ).records;
    const b = wire.decodeForwardBatch(wire.encodeForwardBatch({ batchId: 1, records: make("b", 4) })).records;
    a[3]!.value = Buffer.from("changed"); // breaks the run in the middle
    const mixed = [a[0]!, a[1]!, a[2]!, a[3]!, a[4]!, a[5]!, b[0]!, b[1]!, a[0]!, b[2]!, b[3]!];
    const expected = mixed.map((r) => ({ ...r }));
    const forward = wire.encodeForwardBatch({ batchId: 2, pipeline: "p", records: mixed });
    expect(reference("ForwardBatch", forward)).toEqual(
      reference(
        "ForwardBatch",
        type("ForwardBatch").encode({ batchId: 2, pipeline: "p", records: expected }).finish(),
      ),
    );
    const again = wire.decodeBatchOfRecords(
      wire.encodeBatchOfRecords({ batchId: 3, records: wire.decodeForwardBatch(forward).records }),
    );
    expect(again.records.map((r) => canonical({ ...r }))).toEqual(expected.map((r) => canonical(r)));
  });

  test("malformed input throws instead of returning garbage", () => {
    for (const bad of [
      [0x0a, 0x05, 0x01], // length past the end
      [0x0f], // wire type 7
      [0x0a, 0x02, 0x0a, 0x09], // record whose id is longer than the record
      [0x08, 0xff, 0xff], // truncated varint
    ]) {
      expect(() => wire.decodeReadResponse(Buffer.from(bad))).toThrow(wire.WireError);
    }
  });
});
