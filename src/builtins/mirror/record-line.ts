/**
 * The NDJSON line of one Kafka record in a destination segment:
 *
 *   {"offset":42,"timestamp":1700000000000,"key":"a2V5","value":"dmFsdWU=","headers":[["h","dg=="]]}
 *
 * key and value are base64 (null when the record has none), so any bytes
 * survive; headers keep Kafka's order and duplicates as [name, base64 value]
 * pairs; timestamp is the record's timestamp in ms since the epoch.
 */
export interface MirrorRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<[string, Buffer]>;
}

export interface RecordLine {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Array<[string, string]>;
}

/** The line, with its newline, as a string (tests, tools); segments use writeRecordLine. */
export function encodeRecordLine(r: MirrorRecord): string {
  const out = Buffer.allocUnsafe(recordLineBound(r));
  return out.toString("utf8", 0, writeRecordLine(r, out, 0));
}

/** At least the bytes writeRecordLine needs for `r`. */
export function recordLineBound(r: MirrorRecord): number {
  let bound = 96 + base64Length(r.key) + base64Length(r.value);
  for (const [k, v] of r.headers) bound += 8 + 6 * k.length + base64Length(v); // a JSON-escaped char: ≤ 6 bytes
  return bound;
}

/**
 * Writes the line into `out` at `pos` (room: recordLineBound) and returns where
 * it ends. The same bytes as JSON.stringify of the RecordLine object (base64
 * needs no escaping, header names go through JSON.stringify), but written in
 * pieces straight into the segment buffer: no line string to build and copy.
 */
export function writeRecordLine(r: MirrorRecord, out: Buffer, pos: number): number {
  if (r.timestamp !== lastTimestamp) {
    lastTimestamp = r.timestamp;
    lastTimestampText = String(r.timestamp);
  }
  pos += out.write(`{"offset":${r.offset},"timestamp":${lastTimestampText},"key":`, pos, "latin1");
  pos = writeBase64OrNull(r.key, out, pos);
  pos += out.write(',"value":', pos, "latin1");
  pos = writeBase64OrNull(r.value, out, pos);
  if (r.headers.length === 0) return pos + out.write(',"headers":[]}\n', pos, "latin1");
  let headers = "";
  for (const [k, v] of r.headers) {
    headers += `${headers.length > 0 ? "," : ""}[${JSON.stringify(k)},"${v.toString("base64")}"]`;
  }
  return pos + out.write(`,"headers":[${headers}]}\n`, pos, "utf8");
}

/** Records of one producer batch share a timestamp, and a 13-digit number costs ~0.3 µs to print. */
let lastTimestamp = Number.NaN;
let lastTimestampText = "";

function writeBase64OrNull(b: Buffer | null, out: Buffer, pos: number): number {
  if (b === null) return pos + out.write("null", pos, "latin1");
  out[pos++] = 0x22; // "
  pos += out.write(b.toString("base64"), pos, "latin1");
  out[pos++] = 0x22;
  return pos;
}

function base64Length(b: Buffer | null): number {
  return b === null ? 4 : 4 * Math.ceil(b.length / 3) + 2;
}

export function decodeRecordLine(text: string): MirrorRecord {
  const line = JSON.parse(text) as RecordLine;
  return {
    offset: line.offset,
    timestamp: line.timestamp,
    key: line.key === null ? null : Buffer.from(line.key, "base64"),
    value: line.value === null ? null : Buffer.from(line.value, "base64"),
    headers: line.headers.map(([k, v]) => [k, Buffer.from(v, "base64")]),
  };
}

/** Every record of a segment's contents, in order. */
export function decodeSegment(contents: string): MirrorRecord[] {
  return contents
    .split("\n")
    .filter((l) => l.length > 0)
    .map(decodeRecordLine);
}
