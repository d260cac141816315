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
import type { Record } from "../stages/contract";

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
    () => ({
      batchId: 11,
      credits: 1,
      error: text(),
      retryable: random() < 0.5,
      code: text(),
      written: Math.floor(random() * 3) * 1000,
      filtered: Math.floor(random() * 2) * 7,
      deadLettered: Math.floor(random() * 2) * 300,
    }),
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
      expect(wire.encodedLength(r)).toBeGreaterThan(0);
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

  test("unknown fields are skipped, length-delimited ones included", () => {
    // Record { 9: "xy" (unknown), id: "a", 15: varint 1 (unknown) } inside a ReadResponse.
    const record = [0x4a, 0x02, 0x78, 0x79, 0x0a, 0x01, 0x61, 0x78, 0x01];
    const message = Buffer.from([0x0a, record.length, ...record, 0x4a, 0x01, 0x00]);
    expect(wire.decodeReadResponse(message).records.map((r) => r.id)).toEqual(["a"]);
    const routed = wire.ROUTING_CODECS.ReadResponse.deserialize(message) as wire.ReadResponseMsg;
    expect(routed.records.map((r) => r.id)).toEqual(["a"]);
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

  describe("routing codecs (records kept as their bytes)", () => {
    const routed = (records: object[]) =>
      wire.ROUTING_CODECS.ForwardBatch.deserialize(
        wire.encodeForwardBatch({ batchId: 1, pipeline: "p", records: records as never }),
      ) as wire.ForwardBatchMsg;
    const sample = () =>
      Array.from({ length: 5 }, (_, i) => ({
        id: `r-${i}`,
        key: Buffer.from(`k${i}`),
        value: Buffer.alloc(i * 60 + 1, i),
        headers: (i % 2 === 0 ? { h: String(i), é: "ü" } : {}) as { [k: string]: string },
        eventTimeMs: 1000 + i,
      }));

    test("decode to EncodedRecords whose fields read back as sent", () => {
      const records = routed(sample()).records;
      expect(records.every((r) => r instanceof wire.EncodedRecord)).toBe(true);
      expect(records.map((r) => canonical(wire.plainRecord(r)))).toEqual(sample().map((r) => canonical(r)));
    });

    test("re-encoded untouched, they are the same bytes as an encoding from the fields, in every message", () => {
      const records = routed(sample()).records;
      for (const [name, encode, fields] of [
        ["ProcessRequest", wire.encodeBatchOfRecords, { batchId: 7 }],
        ["WriteRequest", wire.encodeBatchOfRecords, { batchId: 7 }],
        ["ReadResponse", wire.encodeReadResponse, { cursor: "c" }],
        ["ForwardBatch", wire.encodeForwardBatch, { batchId: 7, pipeline: "q", senderId: "s" }],
      ] as const) {
        const ours = (encode as (m: object) => Buffer)({ ...fields, records: records.slice(1, 4) });
        const theirs = type(name)
          .encode({ ...fields, records: sample().slice(1, 4) })
          .finish();
        expect(Buffer.compare(ours, Buffer.from(theirs))).toBe(0);
      }
      // Nothing was decoded on the way.
      expect(records.every((r) => wire.encodedLength(r) > 0)).toBe(true);
    });

    test("a field written after decoding is encoded from the fields", () => {
      const changes: Array<[(r: Record) => void, object]> = [
        [(r) => (r.id = "changed"), { id: "changed" }],
        [(r) => (r.value = Buffer.from("v2")), { value: Buffer.from("v2") }],
        [(r) => (r.headers = { z: "1" }), { headers: { z: "1" } }],
        [(r) => (r.headers.added = "y"), { headers: { h: "0", é: "ü", added: "y" } }],
        [(r) => (r.eventTimeMs = 6), { eventTimeMs: 6 }],
      ];
      for (const [change, expected] of changes) {
        const r = routed(sample()).records[0]!;
        change(r);
        expect(wire.encodedLength(r)).toBe(-1);
        const back = wire.decodeBatchOfRecords(wire.encodeBatchOfRecords({ records: [r] })).records[0]!;
        expect(canonical({ ...back })).toEqual(canonical({ ...sample()[0]!, ...expected }));
      }
    });

    test("a read field does not stop the record from being copied as received", () => {
      const r = routed(sample()).records[2]!;
      expect(r.id).toBe("r-2");
      expect(wire.encodedLength(r)).toBeGreaterThan(0);
    });

    test("malformed records fail when the message is decoded, not when a field is read", () => {
      const inForwardBatch = (record: number[]) => Buffer.from([0x2a, record.length, ...record]);
      for (const bad of [
        [0x0a, 0x05, 0x61], // id longer than the record
        [0x08, 0x01], // id (field 1) as a varint
        [0x22, 0x03, 0x0a, 0x05, 0x61], // header entry whose key runs past the entry
        [0x28], // truncated eventTimeMs
        [0x0f], // wire type 7
      ]) {
        expect(() => wire.ROUTING_CODECS.ForwardBatch.deserialize(inForwardBatch(bad))).toThrow(
          wire.WireError,
        );
      }
      const readResponse = Buffer.from([0x0a, 0x02, 0x08, 0x01]);
      expect(() => wire.ROUTING_CODECS.ReadResponse.deserialize(readResponse)).toThrow(wire.WireError);
      const processResponse = Buffer.from([0x12, 0x04, 0x0a, 0x02, 0x08, 0x01]);
      expect(() => wire.ROUTING_CODECS.ProcessResponse.deserialize(processResponse)).toThrow(wire.WireError);
    });

    test("plainRecord gives own properties, so spreads and JSON see the fields", () => {
      const r = routed(sample()).records[1]!;
      expect(Object.keys({ ...r })).toEqual([]);
      expect(Object.keys({ ...wire.plainRecord(r) }).sort()).toEqual(
        ["eventTimeMs", "headers", "id", "key", "value"].sort(),
      );
    });
  });
});

describe("ReadResponse.lag and routed-record peeks", () => {
  const rec = (headers: { [k: string]: string }): Record => ({
    id: "a",
    key: Buffer.from("k"),
    value: Buffer.from("v"),
    headers,
    eventTimeMs: 1234567,
  });

  test("lag is optional: absent stays absent, 0 (caught up) survives the round trip", () => {
    expect(
      wire.decodeReadResponse(wire.encodeReadResponse({ records: [], cursor: "c" })).lag,
    ).toBeUndefined();
    expect(wire.decodeReadResponse(wire.encodeReadResponse({ records: [], cursor: "c", lag: 0 })).lag).toBe(
      0,
    );
    expect(
      wire.decodeReadResponse(wire.encodeReadResponse({ records: [], cursor: "c", lag: 987654 })).lag,
    ).toBe(987654);
  });

  test("a routed record's header and event time are read without decoding it, and right", () => {
    const bytes = wire.encodeReadResponse({
      records: [rec({ traceparent: "tp" }), rec({ other: "x" })],
      cursor: "",
    });
    const [traced, plain] = (
      wire.ROUTING_CODECS.ReadResponse.deserialize(bytes) as unknown as { records: Record[] }
    ).records;
    const name = Buffer.from("traceparent");
    expect(wire.eventTimeMsOf(traced!)).toBe(1234567);
    expect(wire.hasHeader(plain!, "traceparent", name)).toBe(false);
    expect(wire.encodedLength(plain!)).toBeGreaterThan(0); // still not decoded
    expect(wire.hasHeader(traced!, "traceparent", name)).toBe(true);
  });

  test("looking for a header searches the record's own bytes, not the rest of its batch", () => {
    // 2,000 records of 5 KB in one 10 MB read, none with the header. Searching each record to the end of
    // the batch (the bug) scans ~10 GB: seconds; the record's bytes only: 10 MB, a few ms.
    const value = Buffer.alloc(5000, "x");
    const records = Array.from({ length: 2000 }, () => ({ ...rec({ other: "x" }), value }));
    const bytes = wire.encodeReadResponse({ records, cursor: "" });
    const routed = (wire.ROUTING_CODECS.ReadResponse.deserialize(bytes) as unknown as { records: Record[] })
      .records;
    const name = Buffer.from("traceparent");
    const started = performance.now();
    expect(routed.filter((r) => wire.hasHeader(r, "traceparent", name))).toHaveLength(0);
    expect(performance.now() - started).toBeLessThan(400);
  });
});
