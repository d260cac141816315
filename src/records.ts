/** Helpers for records: ids, sizes, key hashing, JSON (Inject) conversion. */
import { randomUUID } from "node:crypto";
import type { Record } from "./stages/contract";
import { ConveyorError } from "./errors";
import { encodedLength } from "./sdk/wire";
import type { InjectRecord__Output } from "./generated/conveyor/v1/InjectRecord";

export function newRecordId(): string {
  return randomUUID();
}

/**
 * Size in bytes, for byte windows and the max-record-size check: the encoded
 * size of a record received and not changed since (read without decoding a
 * routed record), otherwise an approximation from the fields.
 */
export function recordSize(r: Record): number {
  const encoded = encodedLength(r);
  if (encoded >= 0) return encoded;
  let headers = 0;
  for (const k in r.headers) headers += k.length + (r.headers[k]?.length ?? 0);
  return r.id.length + r.key.length + r.value.length + headers + 16;
}

export function batchSize(records: readonly Record[]): number {
  let n = 0;
  for (const r of records) n += recordSize(r);
  return n;
}

/** FNV-1a over the key bytes: cheap, stable across processes, good spread. */
export function hashKey(key: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function makeRecord(fields: Partial<Record> & { value: Buffer }): Record {
  return {
    id: fields.id || newRecordId(),
    key: fields.key ?? Buffer.alloc(0),
    value: fields.value,
    headers: fields.headers ?? {},
    eventTimeMs: fields.eventTimeMs ?? Date.now(),
  };
}

/**
 * Converts an Inject record: its value is `value`'s bytes as they are when set (any bytes, e.g. a
 * replayed dead letter), else value_json's UTF-8 bytes, which must parse as JSON.
 */
export function recordFromInject(r: InjectRecord__Output, index: number): Record {
  if (r.value !== undefined)
    return makeRecord({
      id: r.id,
      key: Buffer.from(r.key, "utf8"),
      value: Buffer.from(r.value),
      headers: { ...r.headers },
    });
  try {
    JSON.parse(r.valueJson);
  } catch (err) {
    throw new ConveyorError(
      "INVALID_RECORD",
      `record ${r.id || `#${index}`}: value_json is not valid JSON (${(err as Error).message})`,
      { id: r.id, index },
    );
  }
  return makeRecord({
    id: r.id,
    key: Buffer.from(r.key, "utf8"),
    value: Buffer.from(r.valueJson, "utf8"),
    headers: { ...r.headers },
  });
}
