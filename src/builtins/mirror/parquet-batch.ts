/**
 * A Parquet segment: the records of one flush as one Parquet file with one row
 * group, in mirror-v3's schema (crates/mirror-envelope/src/parquet.rs):
 *
 *   topic          Utf8, not null         timestamp_type  Utf8, not null
 *   partition      Int32, not null        key             LargeBinary (null: no key)
 *   offset         UInt64, not null       value           LargeBinary (null: tombstone)
 *   timestamp_ms   Int64 (null: none)     headers         List<Struct{key Utf8 not null, value LargeBinary}>, not null
 *
 * Records are copied into column buffers as they arrive (so the batch holds no
 * fetch response alive); body() assembles Arrow arrays over those buffers
 * (apache-arrow, no per-value builders), hands them to parquet-wasm (Rust's
 * `parquet` crate, the writer mirror-v3 uses, compiled to WebAssembly) as one
 * Arrow IPC stream and gets the file back. Dictionary encoding and chunk
 * statistics are on, as in mirror-v3. Both libraries load on first use: a
 * process without a Parquet destination never loads them.
 *
 * Codecs: zstd-1 → ZSTD (parquet-rs' default level, 1); zstd-3 → ZSTD as well
 * (parquet-wasm 0.8 exposes no level: the files are valid zstd Parquet, slightly
 * larger than level 3's); snappy → SNAPPY; lz4 → LZ4_RAW (the codec the Parquet
 * format defines today; mirror-v3's parquet-rs `LZ4` is the deprecated
 * Hadoop-framed one; readers take both); uncompressed → UNCOMPRESSED.
 */
import type * as Arrow from "apache-arrow";
import type * as ParquetWasm from "parquet-wasm";
import type { ParquetCompression } from "./config";
import type { DestinationBatch } from "./destination";
import type { MirrorRecord } from "./record-line";

type ArrowModule = typeof Arrow;
type ParquetModule = typeof ParquetWasm;

let libs: { arrow: ArrowModule; parquet: ParquetModule } | undefined;
function load(): { arrow: ArrowModule; parquet: ParquetModule } {
  /* eslint-disable @typescript-eslint/no-require-imports -- loaded only by a Parquet destination */
  return (libs ??= {
    arrow: require("apache-arrow") as ArrowModule,
    parquet: require("parquet-wasm/node") as ParquetModule,
  });
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/** A byte buffer that grows by doubling. */
class Bytes {
  buf: Buffer;
  length = 0;

  constructor(initial: number) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(grown, 0, 0, this.length);
    this.buf = grown;
  }

  append(b: Buffer): void {
    this.room(b.length);
    this.length += b.copy(this.buf, this.length);
  }

  appendString(s: string): void {
    this.room(Buffer.byteLength(s));
    this.length += this.buf.write(s, this.length, "utf8");
  }

  view(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/** A column of nullable binary values: data, int64 offsets, validity. */
class BinaryColumn {
  readonly data = new Bytes(1 << 16);
  readonly offsets: number[] = [0];
  readonly valid: boolean[] = [];
  nulls = 0;

  add(b: Buffer | null): void {
    if (b === null) this.nulls++;
    else this.data.append(b);
    this.valid.push(b !== null);
    this.offsets.push(this.data.length);
  }
}

function bitmap(valid: readonly boolean[]): Uint8Array {
  const bits = new Uint8Array(Math.ceil(valid.length / 8));
  valid.forEach((v, i) => {
    if (v) bits[i >> 3]! |= 1 << (i & 7);
  });
  return bits;
}

const CODECS = {
  "zstd-1": "ZSTD",
  "zstd-3": "ZSTD",
  snappy: "SNAPPY",
  lz4: "LZ4_RAW",
  uncompressed: "UNCOMPRESSED",
} as const satisfies Record<ParquetCompression, keyof typeof ParquetWasm.Compression>;

export class ParquetBatch implements DestinationBatch {
  private readonly offsets: number[] = [];
  private readonly timestamps: number[] = [];
  private readonly timestampTypes: string[] = [];
  private readonly keys = new BinaryColumn();
  private readonly values = new BinaryColumn();
  private readonly headerKeys = new Bytes(1 << 10);
  private readonly headerKeyOffsets: number[] = [0];
  private readonly headerValues = new BinaryColumn();
  private readonly headerOffsets: number[] = [0];
  private size = 0;
  private encoded: Buffer | undefined;

  constructor(
    private readonly topic: string,
    private readonly partition: number,
    private readonly compression: ParquetCompression,
  ) {}

  get count(): number {
    return this.offsets.length;
  }

  /** The raw bytes buffered (the max-bytes trigger) until encoded, then the file's size. */
  get bytes(): number {
    return this.encoded?.length ?? this.size;
  }

  add(r: MirrorRecord): void {
    this.offsets.push(r.offset);
    this.timestamps.push(r.timestamp);
    this.timestampTypes.push(r.timestampType);
    this.keys.add(r.key);
    this.values.add(r.value);
    this.size += 24 + (r.key?.length ?? 0) + (r.value?.length ?? 0);
    for (const [k, v] of r.headers) {
      this.headerKeys.appendString(k);
      this.headerKeyOffsets.push(this.headerKeys.length);
      this.headerValues.add(v);
      this.size += k.length + (v?.length ?? 0) + 8;
    }
    this.headerOffsets.push(this.headerKeyOffsets.length - 1);
  }

  /** The Parquet file (encoded once; a retried write gets the same bytes). */
  body(): readonly Buffer[] {
    this.encoded ??= this.encode();
    return [this.encoded];
  }

  private encode(): Buffer {
    const { arrow, parquet } = load();
    const n = this.count;
    const utf8 = new arrow.Utf8();
    const largeBinary = new arrow.LargeBinary();
    const headerFields = [new arrow.Field("key", utf8, false), new arrow.Field("value", largeBinary, true)];
    const headerStruct = new arrow.Struct(headerFields);
    const headersType = new arrow.List(new arrow.Field("item", headerStruct, true));
    const fields = [
      new arrow.Field("topic", utf8, false),
      new arrow.Field("partition", new arrow.Int32(), false),
      new arrow.Field("offset", new arrow.Uint64(), false),
      new arrow.Field("timestamp_ms", new arrow.Int64(), true),
      new arrow.Field("timestamp_type", utf8, false),
      new arrow.Field("key", largeBinary, true),
      new arrow.Field("value", largeBinary, true),
      new arrow.Field("headers", headersType, false),
    ];
    const repeated = (s: string): Arrow.Data => {
      const text = new Bytes(Math.max(1, Buffer.byteLength(s) * n));
      const offsets = new Int32Array(n + 1);
      for (let i = 0; i < n; i++) {
        text.appendString(s);
        offsets[i + 1] = text.length;
      }
      return arrow.makeData({ type: utf8, length: n, valueOffsets: offsets, data: text.view() });
    };
    const strings = (list: readonly string[]): Arrow.Data => {
      const text = new Bytes(1 << 12);
      const offsets = new Int32Array(list.length + 1);
      list.forEach((s, i) => {
        text.appendString(s);
        offsets[i + 1] = text.length;
      });
      return arrow.makeData({ type: utf8, length: list.length, valueOffsets: offsets, data: text.view() });
    };
    const binary = (c: BinaryColumn): Arrow.Data =>
      arrow.makeData({
        type: largeBinary,
        length: c.valid.length,
        nullCount: c.nulls,
        nullBitmap: c.nulls > 0 ? bitmap(c.valid) : null,
        valueOffsets: BigInt64Array.from(c.offsets, BigInt),
        data: c.data.view(),
      });
    const timestampValid = this.timestampTypes.map((t) => t !== "not_available");
    const timestampNulls = timestampValid.filter((v) => !v).length;
    const headerKeys = arrow.makeData({
      type: utf8,
      length: this.headerKeyOffsets.length - 1,
      valueOffsets: Int32Array.from(this.headerKeyOffsets),
      data: this.headerKeys.view(),
    });
    const headerItems = arrow.makeData({
      type: headerStruct,
      length: this.headerKeyOffsets.length - 1,
      nullCount: 0,
      children: [headerKeys, binary(this.headerValues)],
    });
    const columns = [
      repeated(this.topic),
      arrow.makeData({ type: new arrow.Int32(), length: n, data: new Int32Array(n).fill(this.partition) }),
      arrow.makeData({
        type: new arrow.Uint64(),
        length: n,
        data: BigUint64Array.from(this.offsets, BigInt),
      }),
      arrow.makeData({
        type: new arrow.Int64(),
        length: n,
        nullCount: timestampNulls,
        nullBitmap: timestampNulls > 0 ? bitmap(timestampValid) : null,
        data: BigInt64Array.from(this.timestamps, (t) => BigInt(Math.max(0, t))),
      }),
      strings(this.timestampTypes),
      binary(this.keys),
      binary(this.values),
      arrow.makeData({
        type: headersType,
        length: n,
        nullCount: 0,
        valueOffsets: Int32Array.from(this.headerOffsets),
        child: headerItems,
      }),
    ];
    const schema = new arrow.Schema(fields);
    const batch = new arrow.RecordBatch(
      schema,
      arrow.makeData({ type: new arrow.Struct(fields), length: n, nullCount: 0, children: columns }),
    );
    const ipc = arrow.tableToIPC(new arrow.Table(schema, [batch]), "stream");
    const table = parquet.Table.fromIPCStream(ipc);
    const properties = new parquet.WriterPropertiesBuilder()
      .setCompression(parquet.Compression[CODECS[this.compression]])
      .setDictionaryEnabled(true)
      .setStatisticsEnabled(parquet.EnabledStatistics.Chunk)
      .setCreatedBy("conveyor mirror (parquet-wasm)")
      .build();
    const file = parquet.writeParquet(table, properties);
    return Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  }
}

/** The records of a Parquet segment (tests, taking over a chain); a real reader checks the files in e2e. */
export function decodeParquetSegment(file: Uint8Array): MirrorRecord[] {
  const { arrow, parquet } = load();
  const table = arrow.tableFromIPC(parquet.readParquet(file).intoIPCStream());
  const out: MirrorRecord[] = [];
  for (const row of table) {
    const r = row.toJSON() as {
      offset: bigint;
      timestamp_ms: bigint | null;
      timestamp_type: MirrorRecord["timestampType"];
      key: Uint8Array | null;
      value: Uint8Array | null;
      headers: Arrow.Vector;
    };
    const headers: Array<[string, Buffer | null]> = [];
    for (const h of r.headers) {
      const { key, value } = (h as Arrow.StructRowProxy).toJSON() as {
        key: string;
        value: Uint8Array | null;
      };
      headers.push([key, value === null ? null : Buffer.from(value)]);
    }
    out.push({
      offset: Number(r.offset),
      timestamp: r.timestamp_ms === null ? -1 : Number(r.timestamp_ms),
      timestampType: r.timestamp_type,
      key: r.key === null ? null : Buffer.from(r.key),
      value: r.value === null ? null : Buffer.from(r.value),
      headers,
    });
  }
  return out;
}
