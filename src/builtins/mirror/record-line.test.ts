import { NdjsonBatch } from "./destination-segments";
import { ParquetBatch, decodeParquetSegment } from "./parquet-batch";
import { decodeRecordLine, decodeSegment, encodeRecordLine, type MirrorRecord } from "./record-line";

/**
 * The format's definition: what mirror-v3's serde encoder writes (crates/mirror-envelope/src/ndjson.rs):
 * fields in declaration order, None fields and an empty header list left out.
 */
function reference(r: MirrorRecord, topic = "orders", partition = 3): string {
  const line: Record<string, unknown> = { topic, partition, offset: r.offset };
  if (r.timestampType !== "not_available") line.timestamp_ms = r.timestamp;
  line.timestamp_type = r.timestampType;
  if (r.key !== null) line.key = r.key.toString("base64");
  if (r.value !== null) line.value = r.value.toString("base64");
  if (r.headers.length > 0) {
    line.headers = r.headers.map(([key, v]) => (v === null ? { key } : { key, value: v.toString("base64") }));
  }
  return `${JSON.stringify(line)}\n`;
}

const records: MirrorRecord[] = [
  {
    offset: 0,
    timestamp: 1_700_000_000_000,
    timestampType: "create_time",
    key: null,
    value: null,
    headers: [],
  },
  {
    offset: 2 ** 52,
    timestamp: -1,
    timestampType: "not_available",
    key: Buffer.alloc(0),
    value: Buffer.from([0, 255, 10, 34]),
    headers: [],
  },
  {
    offset: 42,
    timestamp: 7,
    timestampType: "log_append_time",
    key: Buffer.from("k"),
    value: Buffer.alloc(5000, 0x7a),
    headers: [
      ["trace", Buffer.from("abc")],
      ['quo"te\\\n', Buffer.alloc(0)],
      ["ünïcödé ☃", Buffer.from("x")],
      ["nothing", null],
      ["trace", Buffer.from("again")],
    ],
  },
];

describe("record lines (mirror-v3's NDJSON schema)", () => {
  it.each(records.map((r) => [r.offset, r]))("offset %s: the bytes mirror-v3 writes", (_, r) => {
    expect(encodeRecordLine(r, "orders", 3)).toBe(reference(r));
    expect(decodeRecordLine(encodeRecordLine(r, "orders", 3))).toEqual(r);
  });

  it("escapes the topic name once, in the prefix", () => {
    expect(encodeRecordLine(records[0]!, 'a"b', 0)).toBe(reference(records[0]!, 'a"b', 0));
  });

  it("reads the lines Conveyor wrote before (offset, timestamp, headers as pairs)", () => {
    const old = '{"offset":5,"timestamp":9,"key":null,"value":"dg==","headers":[["h","YQ=="]]}';
    expect(decodeRecordLine(old)).toEqual({
      offset: 5,
      timestamp: 9,
      timestampType: "create_time",
      key: null,
      value: Buffer.from("v"),
      headers: [["h", Buffer.from("a")]],
    });
  });

  it("an NDJSON batch holds every line across its buffer chunks and decodes back", () => {
    const batch = new NdjsonBatch("orders", 3);
    const many: MirrorRecord[] = [];
    for (let i = 0; i < 400; i++) many.push({ ...records[2]!, offset: i }); // ~2.7 MiB: several 1 MiB chunks
    for (const r of many) batch.add(r);
    const expected = many.map((r) => reference(r)).join("");
    expect(batch.count).toBe(400);
    expect(batch.bytes).toBe(Buffer.byteLength(expected));
    const text = (): string => Buffer.concat(batch.body()).toString();
    expect(batch.body().length).toBeGreaterThan(1);
    expect(text()).toBe(expected);
    expect(text()).toBe(expected); // a retried write gets the same body
    const decoded = decodeSegment(text());
    expect(decoded.map((r) => r.offset)).toEqual(many.map((r) => r.offset));
    expect(decoded[399]).toEqual(many[399]);
  });
});

describe("Parquet segments", () => {
  it.each(["zstd-1", "zstd-3", "snappy", "lz4", "uncompressed"] as const)(
    "%s: a file with every record, null and header intact",
    (compression) => {
      const batch = new ParquetBatch("orders", 3, compression);
      for (const r of records) batch.add(r);
      const [file] = batch.body();
      expect(file!.subarray(0, 4).toString()).toBe("PAR1");
      expect(batch.bytes).toBe(file!.length);
      expect(batch.body()[0]).toBe(file); // encoded once: a retried write gets the same bytes
      const decoded = decodeParquetSegment(file!);
      expect(decoded).toEqual(records.map((r) => (r.timestamp < 0 ? { ...r, timestamp: -1 } : r)));
    },
  );

  it("an empty batch is a valid file with no rows (a range the source proved empty)", () => {
    const [file] = new ParquetBatch("orders", 0, "zstd-1").body();
    expect(decodeParquetSegment(file!)).toEqual([]);
  });
});
