/**
 * Hand-written protobuf codecs for the hot messages of the data path
 * (ReadResponse, ProcessRequest/Response, WriteRequest/Response, ForwardBatch/Ack),
 * shared by the SDK stage servers and the sidecar (sidecar/fast-codec.ts).
 *
 * Why not proto-loader or protobufjs: proto-loader makes two extra full copies of
 * every record per message (fromObject/toObject), and protobufjs still builds a
 * list of write operations per field. Here a message is encoded in two passes
 * (sizes, then one allocation and straight writes) and decoded in one pass into
 * plain objects whose `key` and `value` are views of the received buffer.
 *
 * A decoded record also remembers its own encoded bytes (a view, no copy). When
 * the same record is encoded again unchanged — the sidecar routes records from
 * the source to a peer, from a peer to a transform, from a transform to a sink
 * without touching them — those bytes are spliced into the new message instead
 * of encoding it field by field. "Unchanged" is checked on every encode: same
 * id, key, value and eventTimeMs (by identity) and the same header entries;
 * anything else is encoded from the fields. Mutating a key or value buffer in
 * place changes the remembered bytes too (they are the same memory), so that is
 * safe as well.
 *
 * Field numbers and shapes are those of proto/conveyor/v1 (record.proto,
 * stages.proto, dataplane.proto); decoded messages have every field (proto3
 * defaults), like proto-loader's `defaults: true` output, and 64-bit integers
 * are numbers.
 */
import type * as grpc from "@grpc/grpc-js";
import type { Record, RecordError } from "../stages/contract";

type Headers = { [key: string]: string };

// ---------------------------------------------------------------------------
// Decoded records

/** Marks a record that had a repeated header key (the last one wins): it is always re-encoded. */
const DUPLICATE_HEADERS: string[] = [];

/**
 * A record decoded from the wire. It is an ordinary Record (fields are plain,
 * writable properties); the private fields hold its encoded bytes and what the
 * fields were when decoded, so an unchanged record can be re-encoded by copying.
 */
export class WireRecord implements Record {
  id: string;
  key: Buffer;
  value: Buffer;
  headers: Headers;
  eventTimeMs: number;
  /** The record's encoding as received: #buf[#start, #end) (no copy, no extra Buffer object). */
  readonly #buf: Buffer;
  readonly #start: number;
  readonly #end: number;
  readonly #id: string;
  readonly #key: Buffer;
  readonly #value: Buffer;
  readonly #headers: Headers;
  /** Header entries as decoded, [k0, v0, k1, v1, …]; undefined when there were none. */
  readonly #entries: string[] | undefined;
  readonly #eventTimeMs: number;

  constructor(
    buf: Buffer,
    start: number,
    end: number,
    id: string,
    key: Buffer,
    value: Buffer,
    headers: Headers,
    entries: string[] | undefined,
    eventTimeMs: number,
  ) {
    this.id = id;
    this.key = key;
    this.value = value;
    this.headers = headers;
    this.eventTimeMs = eventTimeMs;
    this.#buf = buf;
    this.#start = start;
    this.#end = end;
    this.#id = id;
    this.#key = key;
    this.#value = value;
    this.#headers = headers;
    this.#entries = entries;
    this.#eventTimeMs = eventTimeMs;
  }

  /**
   * Points `span` at the record's encoding as received, if its fields still
   * match it (then it can be copied instead of encoded); false otherwise.
   */
  static unchangedSpan(r: WireRecord, span: Span): boolean {
    if (
      r.id !== r.#id ||
      r.key !== r.#key ||
      r.value !== r.#value ||
      r.eventTimeMs !== r.#eventTimeMs ||
      r.headers !== r.#headers
    )
      return false;
    const entries = r.#entries;
    if (entries === DUPLICATE_HEADERS) return false;
    let i = 0;
    for (const k in r.headers) {
      if (entries === undefined || entries[i] !== k || entries[i + 1] !== r.headers[k]) return false;
      i += 2;
    }
    if (i !== (entries?.length ?? 0)) return false;
    span.buf = r.#buf;
    span.start = r.#start;
    span.end = r.#end;
    return true;
  }
}

/**
 * A record a sidecar only routes: its encoded bytes as received (checked to be
 * a well-formed Record when the message was decoded), decoded into fields only
 * when something reads or writes one. Routing a record from a source to a peer,
 * from a peer to a transform and from a transform to a sink reads none, so a
 * routed record costs one small object instead of an object, two Buffer views,
 * an id string and a headers object (most of a sidecar's garbage, and with
 * thousands of records in flight for a few hundred ms, most of its old-generation
 * GC).
 *
 * The fields are accessors on the prototype, so `{ ...record }` and
 * `JSON.stringify(record)` do not see them: code that copies records field by
 * field must name the fields (`plainRecord`). The SDK's stage servers decode
 * eager WireRecords instead, since user code spreads records.
 */
export class EncodedRecord implements Record {
  readonly #buf: Buffer;
  readonly #start: number;
  readonly #end: number;
  #fields: WireRecord | undefined;

  constructor(buf: Buffer, start: number, end: number) {
    this.#buf = buf;
    this.#start = start;
    this.#end = end;
  }

  #decoded(): WireRecord {
    return (this.#fields ??= readRecord(new Reader(this.#buf, this.#end, this.#start)));
  }

  get id(): string {
    return this.#decoded().id;
  }
  set id(v: string) {
    this.#decoded().id = v;
  }
  get key(): Buffer {
    return this.#decoded().key;
  }
  set key(v: Buffer) {
    this.#decoded().key = v;
  }
  get value(): Buffer {
    return this.#decoded().value;
  }
  set value(v: Buffer) {
    this.#decoded().value = v;
  }
  get headers(): Headers {
    return this.#decoded().headers;
  }
  set headers(v: Headers) {
    this.#decoded().headers = v;
  }
  get eventTimeMs(): number {
    return this.#decoded().eventTimeMs;
  }
  set eventTimeMs(v: number) {
    this.#decoded().eventTimeMs = v;
  }

  /** False when the record's bytes, as received, cannot contain `needle` (the record is not decoded). */
  static mayContain(r: EncodedRecord, needle: Buffer): boolean {
    if (r.#fields !== undefined) return true;
    // Only the record's own bytes: its buffer is the whole batch, and searching on to the batch's end
    // made each record cost O(batch) (a read of 1,000 records scanned ~500 MB: issue #16's bench).
    return r.#buf.subarray(r.#start, r.#end).indexOf(needle) >= 0;
  }

  /** event_time_ms without decoding the other fields (the latency metric reads it at every sink). */
  static eventTimeMsOf(r: EncodedRecord): number {
    if (r.#fields !== undefined) return r.#fields.eventTimeMs;
    const reader = new Reader(r.#buf, r.#end, r.#start);
    let eventTimeMs = 0;
    while (reader.pos < reader.end) {
      const tag = reader.varint();
      if (tag === 0x28) eventTimeMs = reader.varint();
      else reader.skip(tag & 7);
    }
    return eventTimeMs;
  }

  /** Points `span` at the record's encoding if it is still what would be encoded; false otherwise. */
  static unchangedSpan(r: EncodedRecord, span: Span): boolean {
    if (r.#fields !== undefined) return WireRecord.unchangedSpan(r.#fields, span);
    span.buf = r.#buf;
    span.start = r.#start;
    span.end = r.#end;
    return true;
  }
}

/**
 * Whether `r` has a header `name` (`nameBytes`: its UTF-8). For a routed record, a byte search of its
 * encoding first, so a record without it is not decoded.
 */
export function hasHeader(r: Record, name: string, nameBytes: Buffer): boolean {
  if (r instanceof EncodedRecord)
    return EncodedRecord.mayContain(r, nameBytes) && r.headers[name] !== undefined;
  return r.headers[name] !== undefined;
}

/** A record's event_time_ms, read without decoding a routed record's other fields. */
export function eventTimeMsOf(r: Record): number {
  return r instanceof EncodedRecord ? EncodedRecord.eventTimeMsOf(r) : r.eventTimeMs;
}

/** A record as a plain object with own properties (for code that spreads or serialises records). */
export function plainRecord(r: Record): Record {
  return { id: r.id, key: r.key, value: r.value, headers: r.headers, eventTimeMs: r.eventTimeMs };
}

/** Where a record's encoding is: buf[start, end). */
interface Span {
  buf: Buffer;
  start: number;
  end: number;
}

const scratchSpan: Span = { buf: Buffer.alloc(0), start: 0, end: 0 };

/**
 * Size of `r`'s encoding when it is a record decoded by this module and
 * unchanged since (it would be copied as received); -1 otherwise. For a routed
 * EncodedRecord this reads no field.
 */
export function encodedLength(r: Record): number {
  return unchangedSpan(r, scratchSpan) ? scratchSpan.end - scratchSpan.start : -1;
}

/** Points `span` at `r`'s encoding as received when it can be copied instead of encoded; false otherwise. */
function unchangedSpan(r: Record, span: Span): boolean {
  if (r instanceof EncodedRecord) return EncodedRecord.unchangedSpan(r, span);
  if (r instanceof WireRecord) return WireRecord.unchangedSpan(r, span);
  return false;
}

// ---------------------------------------------------------------------------
// Reading

export class WireError extends Error {}

const EMPTY: Buffer = Buffer.alloc(0);

class Reader {
  constructor(
    readonly buf: Buffer,
    public end: number,
    public pos = 0,
  ) {}

  varint(): number {
    const buf = this.buf;
    let pos = this.pos;
    let result = 0;
    let shift = 1;
    for (let i = 0; i < 7; i++) {
      if (pos >= this.end) throw new WireError("truncated varint");
      const b = buf[pos++]!;
      result += (b & 0x7f) * shift;
      if (b < 0x80) {
        this.pos = pos;
        return result;
      }
      shift *= 128;
    }
    // More than 49 bits: rare (negative int64, huge uint64); exact via BigInt.
    this.pos = pos - 7;
    return Number(BigInt.asIntN(64, this.varint64()));
  }

  private varint64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new WireError("truncated varint");
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return BigInt.asUintN(64, result);
      shift += 7n;
    }
    throw new WireError("varint longer than 10 bytes");
  }

  /** Length of a length-delimited field; checks it fits. */
  length(): number {
    const n = this.varint();
    if (n < 0 || this.pos + n > this.end) throw new WireError("length-delimited field past the end");
    return n;
  }

  bytes(): Buffer {
    const n = this.length();
    const start = this.pos;
    this.pos += n;
    return n === 0 ? EMPTY : this.buf.subarray(start, start + n);
  }

  string(): string {
    const n = this.length();
    const start = this.pos;
    this.pos += n;
    return n === 0 ? "" : this.buf.toString("utf8", start, start + n);
  }

  bool(): boolean {
    return this.varint() !== 0;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        this.pos += 8;
        break;
      case 2: {
        const n = this.length(); // read first: `this.pos += this.length()` would add to the old position
        this.pos += n;
        return;
      }
      case 5:
        this.pos += 4;
        break;
      default:
        throw new WireError(`unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new WireError("fixed field past the end");
  }

  /** Runs `field(number, wireType)` for every field up to `end`; it must consume the field. */
  fields(field: (no: number, wt: number) => void): void {
    while (this.pos < this.end) {
      const tag = this.varint();
      field(tag >>> 3, tag & 7);
    }
    if (this.pos !== this.end) throw new WireError("field past the end of its message");
  }

  /** Reads a length-delimited sub-message with `decode(reader)`; the reader is confined to it. */
  message<T>(decode: (r: Reader) => T): T {
    const n = this.length();
    const outer = this.end;
    this.end = this.pos + n;
    const v = decode(this);
    this.end = outer;
    return v;
  }
}

function expectWireType(no: number, wt: number, expected: number): void {
  if (wt !== expected) throw new WireError(`field ${no} has wire type ${wt}, expected ${expected}`);
}

/** One Record, the reader confined to it (the hottest decode: a plain loop, no closures). */
function readRecord(r: Reader): WireRecord {
  const start = r.pos;
  const end = r.end;
  let id = "";
  let key = EMPTY;
  let value = EMPTY;
  const headers: Headers = {};
  let entries: string[] | undefined;
  let eventTimeMs = 0;
  let duplicate = false;
  while (r.pos < end) {
    const tag = r.varint();
    const no = tag >>> 3;
    const wt = tag & 7;
    if (no === 1) {
      expectWireType(no, wt, 2);
      id = r.string();
    } else if (no === 2) {
      expectWireType(no, wt, 2);
      key = r.bytes();
    } else if (no === 3) {
      expectWireType(no, wt, 2);
      value = r.bytes();
    } else if (no === 4) {
      expectWireType(no, wt, 2);
      const [k, v] = r.message(readMapEntry);
      // A repeated key (the last one wins) makes the remembered entries unreliable: never splice.
      if (Object.prototype.hasOwnProperty.call(headers, k)) duplicate = true;
      headers[k] = v;
      (entries ??= []).push(k, v);
    } else if (no === 5) {
      expectWireType(no, wt, 0);
      eventTimeMs = r.varint();
    } else {
      r.skip(wt);
    }
  }
  if (r.pos !== end) throw new WireError("field past the end of its message");
  if (duplicate) entries = DUPLICATE_HEADERS;
  return new WireRecord(r.buf, start, end, id, key, value, headers, entries, eventTimeMs);
}

/** A map<string, string> entry, the reader confined to it: [key, value]. */
function readMapEntry(r: Reader): [string, string] {
  let k = "";
  let v = "";
  r.fields((no, wt) => {
    if (no === 1 && wt === 2) k = r.string();
    else if (no === 2 && wt === 2) v = r.string();
    else r.skip(wt);
  });
  return [k, v];
}

/**
 * One Record, the reader confined to it, checked field by field as readRecord
 * would (wire types, lengths, header entries) but kept as its bytes: an
 * EncodedRecord. Malformed input fails here, when the message arrives, not
 * later when a field happens to be read.
 */
function scanRecord(r: Reader): EncodedRecord {
  const start = r.pos;
  const end = r.end;
  while (r.pos < end) {
    const tag = r.varint();
    const no = tag >>> 3;
    const wt = tag & 7;
    if (no >= 1 && no <= 3) {
      expectWireType(no, wt, 2);
      r.skip(wt);
    } else if (no === 4) {
      expectWireType(no, wt, 2);
      r.message(scanMapEntry);
    } else if (no === 5) {
      expectWireType(no, wt, 0);
      r.varint();
    } else {
      r.skip(wt);
    }
  }
  if (r.pos !== end) throw new WireError("field past the end of its message");
  return new EncodedRecord(r.buf, start, end);
}

function scanMapEntry(r: Reader): void {
  r.fields((_no, wt) => r.skip(wt));
}

function readRecordError(r: Reader): RecordError {
  const e: RecordError = { message: "", retryable: false, code: "" };
  r.fields((no, wt) => {
    if (no === 1 && wt === 2) e.message = r.string();
    else if (no === 2 && wt === 0) e.retryable = r.bool();
    else if (no === 3 && wt === 2) e.code = r.string();
    else r.skip(wt);
  });
  return e;
}

function decoder<T>(decode: (r: Reader) => T): (bytes: Buffer) => T {
  return (bytes) => decode(new Reader(bytes, bytes.length));
}

// ---------------------------------------------------------------------------
// Writing

function varintSize(n: number): number {
  if (n < 0) return 10;
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let size = 5;
  n = Math.floor(n / 0x800000000);
  while (n > 0) {
    size++;
    n = Math.floor(n / 128);
  }
  return size;
}

/** Size of a length-delimited field with a one-byte tag. */
const ldSize = (n: number): number => 1 + varintSize(n) + n;

class Writer {
  pos = 0;
  readonly buf: Buffer;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  varint(n: number): void {
    const buf = this.buf;
    if (n < 0) {
      // int64 two's complement, 10 bytes.
      let v = BigInt.asUintN(64, BigInt(Math.trunc(n)));
      for (let i = 0; i < 9; i++) {
        buf[this.pos++] = Number(v & 0x7fn) | 0x80;
        v >>= 7n;
      }
      buf[this.pos++] = Number(v);
      return;
    }
    while (n >= 0x80) {
      buf[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    buf[this.pos++] = n;
  }

  /** A length-delimited string field whose UTF-8 length is already known. */
  string(tag: number, s: string, len: number): void {
    this.byte(tag);
    this.varint(len);
    if (len > 0) this.pos += this.buf.write(s, this.pos, len, "utf8");
  }

  bytes(tag: number, b: Uint8Array): void {
    this.byte(tag);
    this.varint(b.length);
    this.copy(b);
  }

  copy(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  done(): Buffer {
    if (this.pos !== this.buf.length) {
      throw new Error(`wire: encoded ${this.pos} bytes, sized ${this.buf.length} (codec bug)`);
    }
    return this.buf;
  }
}

const utf8Length = (s: string): number => (s.length === 0 ? 0 : Buffer.byteLength(s, "utf8"));

function toBytes(v: unknown): Uint8Array {
  if (v instanceof Uint8Array) return v;
  // proto-loader's fromObject reads a string for a bytes field as base64; so do we.
  if (typeof v === "string") return Buffer.from(v, "base64");
  return EMPTY;
}

function toInt(v: unknown): number {
  if (typeof v === "number") return Number.isFinite(v) ? Math.trunc(v) : 0;
  if (v === undefined || v === null) return 0;
  return Number(v) || 0;
}

/**
 * One record to be written: either its encoding as received (`raw`: copied
 * from buf[start, end)) or its fields, with the sizes computed in the first pass.
 */
interface RecordPlan extends Span {
  size: number;
  raw: boolean;
  id: string;
  idLen: number;
  key: Uint8Array;
  value: Uint8Array;
  /** [k, klen, v, vlen, entrySize] per header. */
  headers: Array<string | number> | undefined;
  eventTimeMs: number;
}

function planRecord(rec: Record): RecordPlan {
  if (unchangedSpan(rec, scratchSpan)) {
    const { buf, start, end } = scratchSpan;
    return {
      size: end - start,
      raw: true,
      buf,
      start,
      end,
      id: "",
      idLen: 0,
      key: EMPTY,
      value: EMPTY,
      headers: undefined,
      eventTimeMs: 0,
    };
  }
  const id = typeof rec.id === "string" ? rec.id : rec.id == null ? "" : String(rec.id);
  const idLen = utf8Length(id);
  const key = toBytes(rec.key);
  const value = toBytes(rec.value);
  const eventTimeMs = toInt(rec.eventTimeMs);
  let size = 0;
  if (idLen > 0) size += ldSize(idLen);
  if (key.length > 0) size += ldSize(key.length);
  if (value.length > 0) size += ldSize(value.length);
  let headers: Array<string | number> | undefined;
  const h = rec.headers as { [k: string]: unknown } | null | undefined;
  if (h) {
    for (const k in h) {
      const raw = h[k];
      const v = typeof raw === "string" ? raw : raw == null ? "" : String(raw);
      const kl = utf8Length(k);
      const vl = utf8Length(v);
      const entry = ldSize(kl) + ldSize(vl);
      size += ldSize(entry);
      (headers ??= []).push(k, kl, v, vl, entry);
    }
  }
  if (eventTimeMs !== 0) size += 1 + varintSize(eventTimeMs);
  return { size, raw: false, buf: EMPTY, start: 0, end: 0, id, idLen, key, value, headers, eventTimeMs };
}

function writeRecord(w: Writer, p: RecordPlan): void {
  if (p.raw) {
    p.buf.copy(w.buf, w.pos, p.start, p.end);
    w.pos += p.size;
    return;
  }
  if (p.idLen > 0) w.string(0x0a, p.id, p.idLen);
  if (p.key.length > 0) w.bytes(0x12, p.key);
  if (p.value.length > 0) w.bytes(0x1a, p.value);
  const h = p.headers;
  if (h !== undefined) {
    for (let i = 0; i < h.length; i += 5) {
      w.byte(0x22);
      w.varint(h[i + 4] as number);
      w.string(0x0a, h[i] as string, h[i + 1] as number);
      w.string(0x12, h[i + 2] as string, h[i + 3] as number);
    }
  }
  if (p.eventTimeMs !== 0) {
    w.byte(0x28);
    w.varint(p.eventTimeMs);
  }
}

function planRecords(records: readonly Record[] | undefined): { plans: RecordPlan[]; size: number } {
  const plans: RecordPlan[] = [];
  let size = 0;
  if (records) {
    for (const r of records) {
      const p = planRecord(r);
      plans.push(p);
      size += ldSize(p.size);
    }
  }
  return { plans, size };
}

/**
 * Whether `b` was received right after `a` in the same message, separated only
 * by its own field prefix (a one-byte tag and the minimal varint of its length):
 * then both, prefix included, can be copied in one go.
 */
function adjacent(a: RecordPlan, b: RecordPlan): boolean {
  return b.raw && a.buf === b.buf && a.end + 1 + varintSize(b.size) === b.start;
}

function writeRecords(w: Writer, tag: number, plans: RecordPlan[]): void {
  for (let i = 0; i < plans.length; i++) {
    const first = plans[i]!;
    w.byte(tag);
    w.varint(first.size);
    if (!first.raw) {
      writeRecord(w, first);
      continue;
    }
    // Records received back to back (a chunk of one source read, a forwarded batch) are copied
    // as one run, with the field prefixes between them rewritten for this message's tag: one
    // copy per run instead of one per record.
    let j = i;
    while (j + 1 < plans.length && adjacent(plans[j]!, plans[j + 1]!)) j++;
    if (j === i) {
      writeRecord(w, first);
      continue;
    }
    const runStart = w.pos;
    const last = plans[j]!;
    first.buf.copy(w.buf, runStart, first.start, last.end);
    for (let k = i + 1; k <= j; k++) {
      const q = plans[k]!;
      w.pos = runStart + (q.start - first.start) - 1 - varintSize(q.size);
      w.byte(tag);
      w.varint(q.size);
    }
    w.pos = runStart + (last.end - first.start);
    i = j;
  }
}

interface ErrorPlan {
  size: number;
  message: string;
  messageLen: number;
  retryable: boolean;
  code: string;
  codeLen: number;
}

function planError(e: Partial<RecordError> | null | undefined): ErrorPlan | undefined {
  if (!e) return undefined;
  const message = e.message ?? "";
  const code = e.code ?? "";
  const messageLen = utf8Length(message);
  const codeLen = utf8Length(code);
  const retryable = Boolean(e.retryable);
  const size =
    (messageLen > 0 ? ldSize(messageLen) : 0) + (retryable ? 2 : 0) + (codeLen > 0 ? ldSize(codeLen) : 0);
  return { size, message, messageLen, retryable, code, codeLen };
}

function writeError(w: Writer, tag: number, p: ErrorPlan): void {
  w.byte(tag);
  w.varint(p.size);
  if (p.messageLen > 0) w.string(0x0a, p.message, p.messageLen);
  if (p.retryable) {
    w.byte(0x10);
    w.byte(1);
  }
  if (p.codeLen > 0) w.string(0x1a, p.code, p.codeLen);
}

const uintFieldSize = (n: number): number => (n === 0 ? 0 : 1 + varintSize(n));
function writeUint(w: Writer, tag: number, n: number): void {
  if (n === 0) return;
  w.byte(tag);
  w.varint(n);
}
function writeStringField(w: Writer, tag: number, s: string, len: number): void {
  if (len > 0) w.string(tag, s, len);
}

// ---------------------------------------------------------------------------
// Messages

export interface ReadResponseMsg {
  records: Record[];
  cursor: string;
  /** Records the source is behind the newest data (optional: absent = unknown). */
  lag?: number;
}

export interface BatchOfRecords {
  batchId: number;
  records: Record[];
}

export interface TransformResultMsg {
  records: Record[];
  error: RecordError | null;
}

export interface ProcessResponseMsg {
  batchId: number;
  results: TransformResultMsg[];
}

export interface WriteResultMsg {
  id: string;
  error: RecordError | null;
}

export interface WriteResponseMsg {
  batchId: number;
  results: WriteResultMsg[];
}

export interface ForwardBatchMsg {
  batchId: number;
  pipeline: string;
  stageIndex: number;
  generation: number;
  records: Record[];
  senderId: string;
}

export interface ForwardAckMsg {
  batchId: number;
  credits: number;
  error: string;
  retryable: boolean;
  code: string;
  written: number;
  filtered: number;
  deadLettered: number;
}

type In<T> = { [K in keyof T]?: T[K] | null };

/** ReadResponse { repeated Record records = 1; string cursor = 2; optional uint64 lag = 3; } */
export function encodeReadResponse(m: In<ReadResponseMsg>): Buffer {
  const { plans, size: recordsSize } = planRecords(m.records ?? undefined);
  const cursor = m.cursor ?? "";
  const cursorLen = utf8Length(cursor);
  // proto3 optional: a lag of 0 (caught up) is written too; absent means unknown.
  const lag = m.lag === undefined || m.lag === null ? undefined : toInt(m.lag);
  const w = new Writer(
    recordsSize + (cursorLen > 0 ? ldSize(cursorLen) : 0) + (lag === undefined ? 0 : 1 + varintSize(lag)),
  );
  writeRecords(w, 0x0a, plans);
  writeStringField(w, 0x12, cursor, cursorLen);
  if (lag !== undefined) {
    w.byte(0x18);
    w.varint(lag);
  }
  return w.done();
}

type RecordReader = (r: Reader) => Record;

const readResponseDecoder = (readRecord: RecordReader) =>
  decoder((r): ReadResponseMsg => {
    const m: ReadResponseMsg = { records: [], cursor: "" };
    r.fields((no, wt) => {
      if (no === 1 && wt === 2) m.records.push(r.message(readRecord));
      else if (no === 2 && wt === 2) m.cursor = r.string();
      else if (no === 3 && wt === 0) m.lag = r.varint();
      else r.skip(wt);
    });
    return m;
  });
export const decodeReadResponse = readResponseDecoder(readRecord);

/** ProcessRequest / WriteRequest { uint64 batch_id = 1; repeated Record records = 2; } */
export function encodeBatchOfRecords(m: In<BatchOfRecords>): Buffer {
  const batchId = toInt(m.batchId);
  const { plans, size } = planRecords(m.records ?? undefined);
  const w = new Writer(uintFieldSize(batchId) + size);
  writeUint(w, 0x08, batchId);
  writeRecords(w, 0x12, plans);
  return w.done();
}

export const decodeBatchOfRecords = decoder((r): BatchOfRecords => {
  const m: BatchOfRecords = { batchId: 0, records: [] };
  r.fields((no, wt) => {
    if (no === 1 && wt === 0) m.batchId = r.varint();
    else if (no === 2 && wt === 2) m.records.push(r.message(readRecord));
    else r.skip(wt);
  });
  return m;
});

/** ProcessResponse { uint64 batch_id = 1; repeated TransformResult results = 2; }
 *  TransformResult { repeated Record records = 1; RecordError error = 2; } */
export function encodeProcessResponse(m: In<ProcessResponseMsg>): Buffer {
  const batchId = toInt(m.batchId);
  let size = uintFieldSize(batchId);
  const results = (m.results ?? []).map((res) => {
    const { plans, size: recordsSize } = planRecords(res?.records ?? undefined);
    const error = planError(res?.error);
    const resultSize = recordsSize + (error ? ldSize(error.size) : 0);
    size += ldSize(resultSize);
    return { plans, error, size: resultSize };
  });
  const w = new Writer(size);
  writeUint(w, 0x08, batchId);
  for (const res of results) {
    w.byte(0x12);
    w.varint(res.size);
    writeRecords(w, 0x0a, res.plans);
    if (res.error) writeError(w, 0x12, res.error);
  }
  return w.done();
}

const processResponseDecoder = (readRecord: RecordReader) =>
  decoder((r): ProcessResponseMsg => {
    const m: ProcessResponseMsg = { batchId: 0, results: [] };
    r.fields((no, wt) => {
      if (no === 1 && wt === 0) m.batchId = r.varint();
      else if (no === 2 && wt === 2) {
        m.results.push(
          r.message(() => {
            const res: TransformResultMsg = { records: [], error: null };
            r.fields((rno, rwt) => {
              if (rno === 1 && rwt === 2) res.records.push(r.message(readRecord));
              else if (rno === 2 && rwt === 2) res.error = r.message(readRecordError);
              else r.skip(rwt);
            });
            return res;
          }),
        );
      } else r.skip(wt);
    });
    return m;
  });
export const decodeProcessResponse = processResponseDecoder(readRecord);

/** WriteResponse { uint64 batch_id = 1; repeated WriteResult results = 2; }
 *  WriteResult { string id = 1; RecordError error = 2; } */
export function encodeWriteResponse(m: In<WriteResponseMsg>): Buffer {
  const batchId = toInt(m.batchId);
  let size = uintFieldSize(batchId);
  const results = (m.results ?? []).map((res) => {
    const id = res?.id ?? "";
    const idLen = utf8Length(id);
    const error = planError(res?.error);
    const resultSize = (idLen > 0 ? ldSize(idLen) : 0) + (error ? ldSize(error.size) : 0);
    size += ldSize(resultSize);
    return { id, idLen, error, size: resultSize };
  });
  const w = new Writer(size);
  writeUint(w, 0x08, batchId);
  for (const res of results) {
    w.byte(0x12);
    w.varint(res.size);
    writeStringField(w, 0x0a, res.id, res.idLen);
    if (res.error) writeError(w, 0x12, res.error);
  }
  return w.done();
}

export const decodeWriteResponse = decoder((r): WriteResponseMsg => {
  const m: WriteResponseMsg = { batchId: 0, results: [] };
  r.fields((no, wt) => {
    if (no === 1 && wt === 0) m.batchId = r.varint();
    else if (no === 2 && wt === 2) {
      m.results.push(
        r.message(() => {
          const res: WriteResultMsg = { id: "", error: null };
          r.fields((rno, rwt) => {
            if (rno === 1 && rwt === 2) res.id = r.string();
            else if (rno === 2 && rwt === 2) res.error = r.message(readRecordError);
            else r.skip(rwt);
          });
          return res;
        }),
      );
    } else r.skip(wt);
  });
  return m;
});

/** ForwardBatch { uint64 batch_id = 1; string pipeline = 2; uint32 stage_index = 3;
 *  uint64 generation = 4; repeated Record records = 5; string sender_id = 6; } */
export function encodeForwardBatch(m: In<ForwardBatchMsg>): Buffer {
  const batchId = toInt(m.batchId);
  const stageIndex = toInt(m.stageIndex);
  const generation = toInt(m.generation);
  const pipeline = m.pipeline ?? "";
  const senderId = m.senderId ?? "";
  const pipelineLen = utf8Length(pipeline);
  const senderLen = utf8Length(senderId);
  const { plans, size: recordsSize } = planRecords(m.records ?? undefined);
  const w = new Writer(
    uintFieldSize(batchId) +
      (pipelineLen > 0 ? ldSize(pipelineLen) : 0) +
      uintFieldSize(stageIndex) +
      uintFieldSize(generation) +
      recordsSize +
      (senderLen > 0 ? ldSize(senderLen) : 0),
  );
  writeUint(w, 0x08, batchId);
  writeStringField(w, 0x12, pipeline, pipelineLen);
  writeUint(w, 0x18, stageIndex);
  writeUint(w, 0x20, generation);
  writeRecords(w, 0x2a, plans);
  writeStringField(w, 0x32, senderId, senderLen);
  return w.done();
}

const forwardBatchDecoder = (readRecord: RecordReader) =>
  decoder((r): ForwardBatchMsg => {
    const m: ForwardBatchMsg = {
      batchId: 0,
      pipeline: "",
      stageIndex: 0,
      generation: 0,
      records: [],
      senderId: "",
    };
    r.fields((no, wt) => {
      if (no === 1 && wt === 0) m.batchId = r.varint();
      else if (no === 2 && wt === 2) m.pipeline = r.string();
      else if (no === 3 && wt === 0) m.stageIndex = r.varint() >>> 0;
      else if (no === 4 && wt === 0) m.generation = r.varint();
      else if (no === 5 && wt === 2) m.records.push(r.message(readRecord));
      else if (no === 6 && wt === 2) m.senderId = r.string();
      else r.skip(wt);
    });
    return m;
  });
export const decodeForwardBatch = forwardBatchDecoder(readRecord);

/**
 * ForwardAck { uint64 batch_id = 1; uint32 credits = 2; string error = 3; bool retryable = 4; string code = 5;
 *              uint32 written = 6; uint32 filtered = 7; uint32 dead_lettered = 8; }
 */
export function encodeForwardAck(m: In<ForwardAckMsg>): Buffer {
  const batchId = toInt(m.batchId);
  const credits = toInt(m.credits);
  const error = m.error ?? "";
  const errorLen = utf8Length(error);
  const retryable = Boolean(m.retryable);
  const code = m.code ?? "";
  const codeLen = utf8Length(code);
  const written = toInt(m.written);
  const filtered = toInt(m.filtered);
  const deadLettered = toInt(m.deadLettered);
  const w = new Writer(
    uintFieldSize(batchId) +
      uintFieldSize(credits) +
      (errorLen > 0 ? ldSize(errorLen) : 0) +
      (retryable ? 2 : 0) +
      (codeLen > 0 ? ldSize(codeLen) : 0) +
      uintFieldSize(written) +
      uintFieldSize(filtered) +
      uintFieldSize(deadLettered),
  );
  writeUint(w, 0x08, batchId);
  writeUint(w, 0x10, credits);
  writeStringField(w, 0x1a, error, errorLen);
  if (retryable) {
    w.byte(0x20);
    w.byte(1);
  }
  writeStringField(w, 0x2a, code, codeLen);
  writeUint(w, 0x30, written);
  writeUint(w, 0x38, filtered);
  writeUint(w, 0x40, deadLettered);
  return w.done();
}

export const decodeForwardAck = decoder((r): ForwardAckMsg => {
  const m: ForwardAckMsg = {
    batchId: 0,
    credits: 0,
    error: "",
    retryable: false,
    code: "",
    written: 0,
    filtered: 0,
    deadLettered: 0,
  };
  r.fields((no, wt) => {
    if (no === 1 && wt === 0) m.batchId = r.varint();
    else if (no === 2 && wt === 0) m.credits = r.varint() >>> 0;
    else if (no === 3 && wt === 2) m.error = r.string();
    else if (no === 4 && wt === 0) m.retryable = r.bool();
    else if (no === 5 && wt === 2) m.code = r.string();
    else if (no === 6 && wt === 0) m.written = r.varint() >>> 0;
    else if (no === 7 && wt === 0) m.filtered = r.varint() >>> 0;
    else if (no === 8 && wt === 0) m.deadLettered = r.varint() >>> 0;
    else r.skip(wt);
  });
  return m;
});

// ---------------------------------------------------------------------------
// Service definitions

export interface WireCodec {
  serialize(value: object): Buffer;
  deserialize(bytes: Buffer): object;
}

const codec = (encode: (m: never) => Buffer, decode: (b: Buffer) => object): WireCodec => ({
  serialize: encode as (value: object) => Buffer,
  deserialize: decode,
});

/** The hot messages' codecs, by protobuf message name; decoded records are WireRecords (plain fields). */
export const WIRE_CODECS = {
  ReadResponse: codec(encodeReadResponse, decodeReadResponse),
  ProcessRequest: codec(encodeBatchOfRecords, decodeBatchOfRecords),
  ProcessResponse: codec(encodeProcessResponse, decodeProcessResponse),
  WriteRequest: codec(encodeBatchOfRecords, decodeBatchOfRecords),
  WriteResponse: codec(encodeWriteResponse, decodeWriteResponse),
  ForwardBatch: codec(encodeForwardBatch, decodeForwardBatch),
  ForwardAck: codec(encodeForwardAck, decodeForwardAck),
};

/**
 * The same codecs, except that the messages a sidecar receives and only routes
 * decode their records as EncodedRecords (fields decoded on first use).
 */
export const ROUTING_CODECS: typeof WIRE_CODECS = {
  ...WIRE_CODECS,
  ReadResponse: codec(encodeReadResponse, readResponseDecoder(scanRecord)),
  ProcessResponse: codec(encodeProcessResponse, processResponseDecoder(scanRecord)),
  ForwardBatch: codec(encodeForwardBatch, forwardBatchDecoder(scanRecord)),
};

/**
 * A copy of a grpc-js service definition whose listed methods use other codecs
 * ([request, response]; undefined keeps the method's own).
 */
export function withCodecs(
  service: grpc.ServiceDefinition,
  methods: { [method: string]: [WireCodec | undefined, WireCodec | undefined] },
): grpc.ServiceDefinition {
  const out: { [method: string]: grpc.MethodDefinition<object, object> } = { ...service };
  for (const [method, [req, res]] of Object.entries(methods)) {
    const def = service[method];
    if (!def) throw new Error(`wire: ${method} is not a method of the service`);
    out[method] = {
      ...def,
      ...(req ? { requestSerialize: req.serialize, requestDeserialize: req.deserialize } : {}),
      ...(res ? { responseSerialize: res.serialize, responseDeserialize: res.deserialize } : {}),
    };
  }
  return out as grpc.ServiceDefinition;
}
