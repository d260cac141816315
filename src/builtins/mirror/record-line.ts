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

export function encodeRecordLine(r: MirrorRecord): string {
  const line: RecordLine = {
    offset: r.offset,
    timestamp: r.timestamp,
    key: r.key === null ? null : r.key.toString("base64"),
    value: r.value === null ? null : r.value.toString("base64"),
    headers: r.headers.map(([k, v]) => [k, v.toString("base64")]),
  };
  return `${JSON.stringify(line)}\n`;
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
