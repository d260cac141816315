/**
 * One Kafka record as the mirror carries it, and its NDJSON line in a
 * destination segment: mirror-v3's line schema (crates/mirror-envelope/src/ndjson.rs),
 * byte for byte what its serde encoder writes:
 *
 *   {"topic":"orders","partition":0,"offset":42,"timestamp_ms":1700000000000,
 *    "timestamp_type":"create_time","key":"a2V5","value":"dmFsdWU=","headers":[{"key":"h","value":"dg=="}]}
 *
 * key, value and header values are base64; a field that is absent in Kafka
 * (null key, tombstone value, null header value, no timestamp) is left out, as
 * is an empty `headers` list. Headers keep Kafka's order and duplicates.
 * The decoder also reads the lines Conveyor wrote before (`offset, timestamp,
 * key, value, headers:[[name, value]]`), so an older chain can still be read.
 */
export type TimestampType = "create_time" | "log_append_time" | "not_available";

export interface MirrorRecord {
  offset: number;
  /** ms since the epoch; -1 when the record has none (timestampType not_available). */
  timestamp: number;
  timestampType: TimestampType;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<[string, Buffer | null]>;
}

/** The line of mirror-v3's NDJSON envelope, as parsed. */
interface RecordLine {
  topic: string;
  partition: number;
  offset: number;
  timestamp_ms?: number;
  timestamp_type: TimestampType;
  key?: string;
  value?: string;
  headers?: Array<{ key: string; value?: string }>;
}

/** The line Conveyor wrote before it took mirror-v3's schema. */
interface LegacyRecordLine {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Array<[string, string]>;
}

/**
 * Writes the lines of one partition's records: the `{"topic":…,"partition":…,"offset":`
 * prefix is the same for every line, so it is encoded once.
 */
export class RecordLineWriter {
  private readonly prefix: string;
  private lastTimestamp = Number.NaN;
  private lastTimestampText = "";

  constructor(topic: string, partition: number) {
    this.prefix = `{"topic":${JSON.stringify(topic)},"partition":${partition},"offset":`;
  }

  /** At least the bytes write() needs for `r`. */
  bound(r: MirrorRecord): number {
    let bound = 3 * this.prefix.length + 96 + base64Length(r.key) + base64Length(r.value);
    for (const [k, v] of r.headers) bound += 28 + 6 * k.length + base64Length(v); // an escaped char: ≤ 6 bytes
    return bound;
  }

  /**
   * Writes the line into `out` at `pos` (room: bound()) and returns where it
   * ends: the same bytes as JSON.stringify of the line object, written in pieces
   * straight into the segment buffer (no line string to build and copy).
   */
  write(r: MirrorRecord, out: Buffer, pos: number): number {
    pos += out.write(this.prefix, pos, "utf8");
    pos += out.write(String(r.offset), pos, "latin1");
    if (r.timestampType !== "not_available") {
      if (r.timestamp !== this.lastTimestamp) {
        // Records of one producer batch share a timestamp, and a 13-digit number costs ~0.3 µs to print.
        this.lastTimestamp = r.timestamp;
        this.lastTimestampText = String(r.timestamp);
      }
      pos += out.write(`,"timestamp_ms":${this.lastTimestampText}`, pos, "latin1");
    }
    pos += out.write(`,"timestamp_type":"${r.timestampType}"`, pos, "latin1");
    if (r.key !== null) pos = writeBase64Field(',"key":"', r.key, out, pos);
    if (r.value !== null) pos = writeBase64Field(',"value":"', r.value, out, pos);
    if (r.headers.length === 0) return pos + out.write("}\n", pos, "latin1");
    let headers = "";
    for (const [k, v] of r.headers) {
      headers += `${headers.length > 0 ? "," : ""}{"key":${JSON.stringify(k)}`;
      headers += v === null ? "}" : `,"value":"${v.toString("base64")}"}`;
    }
    return pos + out.write(`,"headers":[${headers}]}\n`, pos, "utf8");
  }
}

function writeBase64Field(name: string, b: Buffer, out: Buffer, pos: number): number {
  pos += out.write(name, pos, "latin1");
  pos += out.write(b.toString("base64"), pos, "latin1");
  out[pos++] = 0x22; // "
  return pos;
}

function base64Length(b: Buffer | null): number {
  return b === null ? 0 : 4 * Math.ceil(b.length / 3) + 12;
}

/** The line, with its newline, as a string (tests, tools); segments use RecordLineWriter.write. */
export function encodeRecordLine(r: MirrorRecord, topic: string, partition: number): string {
  const writer = new RecordLineWriter(topic, partition);
  const out = Buffer.allocUnsafe(writer.bound(r));
  return out.toString("utf8", 0, writer.write(r, out, 0));
}

const fromBase64 = (s: string | undefined | null): Buffer | null =>
  s === undefined || s === null ? null : Buffer.from(s, "base64");

/** A line of either schema (mirror-v3's, or Conveyor's before it). */
export function decodeRecordLine(text: string): MirrorRecord {
  const line = JSON.parse(text) as RecordLine | LegacyRecordLine;
  if ("timestamp_type" in line) {
    return {
      offset: line.offset,
      timestamp: line.timestamp_ms ?? -1,
      timestampType: line.timestamp_type,
      key: fromBase64(line.key),
      value: fromBase64(line.value),
      headers: (line.headers ?? []).map((h) => [h.key, fromBase64(h.value)]),
    };
  }
  return {
    offset: line.offset,
    timestamp: line.timestamp,
    timestampType: line.timestamp < 0 ? "not_available" : "create_time",
    key: fromBase64(line.key),
    value: fromBase64(line.value),
    headers: line.headers.map(([k, v]) => [k, Buffer.from(v, "base64")]),
  };
}

/** Every record of an NDJSON segment's contents, in order. */
export function decodeSegment(contents: string): MirrorRecord[] {
  return contents
    .split("\n")
    .filter((l) => l.length > 0)
    .map(decodeRecordLine);
}
