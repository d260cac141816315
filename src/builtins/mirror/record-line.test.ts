import { SegmentBatch } from "./destination-segments";
import { decodeSegment, encodeRecordLine, type MirrorRecord } from "./record-line";

/** The format's definition: JSON.stringify of the line object. */
function reference(r: MirrorRecord): string {
  const line = {
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key === null ? null : r.key.toString("base64"),
    value: r.value === null ? null : r.value.toString("base64"),
    headers: r.headers.map(([k, v]) => [k, v.toString("base64")]),
  };
  return `${JSON.stringify(line)}\n`;
}

const records: MirrorRecord[] = [
  { offset: 0, timestamp: 1_700_000_000_000, key: null, value: null, headers: [] },
  { offset: 2 ** 52, timestamp: -1, key: Buffer.alloc(0), value: Buffer.from([0, 255, 10, 34]), headers: [] },
  {
    offset: 42,
    timestamp: 7,
    key: Buffer.from("k"),
    value: Buffer.alloc(5000, 0x7a),
    headers: [
      ["trace", Buffer.from("abc")],
      ['quo"te\\\n', Buffer.alloc(0)],
      ["ünïcödé ☃", Buffer.from("x")],
      ["trace", Buffer.from("again")],
    ],
  },
];

describe("record lines", () => {
  it.each(records.map((r) => [r.offset, r]))("offset %s: the same bytes as JSON.stringify", (_, r) => {
    expect(encodeRecordLine(r)).toBe(reference(r));
  });

  it("a segment batch holds every line across its buffer chunks and decodes back", () => {
    const batch = new SegmentBatch();
    const many: MirrorRecord[] = [];
    for (let i = 0; i < 400; i++) many.push({ ...records[2]!, offset: i }); // ~2.7 MiB: several 1 MiB chunks
    for (const r of many) batch.add(r);
    const expected = many.map(reference).join("");
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
