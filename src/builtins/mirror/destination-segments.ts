/**
 * Destinations made of segment files or objects (filesystem, S3): each flush
 * is one `{from:020}-{to:020}.{parquet|ndjson}` under the partition's directory /
 * key prefix, and the chain of names is the checkpoint (chain.ts). A
 * SegmentStore only lists and writes names; SegmentDestination turns that into
 * the PartitionDestination contract and picks the format: the configured one,
 * else the one of the segments already there (a chain keeps its format), else
 * Parquet (mirror-v3's default). A configured format that differs from the
 * chain's is refused at open, as mirror-v3 refuses it.
 */
import type { ParquetCompression, SegmentFormat } from "./config";
import { segmentName, validateChain } from "./chain";
import type { DestinationBatch, DestinationHead, PartitionDestination } from "./destination";
import { MirrorError } from "./mirror-error";
import { ParquetBatch } from "./parquet-batch";
import { RecordLineWriter, type MirrorRecord } from "./record-line";
import type { Segment } from "./chain";

export interface SegmentStore {
  /** The partition's directory / prefix, for messages (file names are appended with "/"). */
  readonly location: string;
  /** Removes what an interrupted write of a previous run may have left (temp files). */
  cleanup(): Promise<void>;
  /**
   * Every name in the partition's directory / prefix (segments and anything
   * else), unsorted; only names sorting after `after` when given.
   */
  list(after?: string): Promise<string[]>;
  /**
   * Durably writes one segment under its final name, never replacing an
   * existing one: resolves only when the segment is durable; rejects with
   * code "EEXIST" when the name is taken (another writer). Resolves with the
   * segment's path / URL.
   */
  write(segment: Segment, body: readonly Buffer[]): Promise<string>;
  close(): Promise<void>;
}

/** A segment's records, encoded: the file's bytes in pieces (a retried write gets the same pieces). */
export interface SegmentBatch extends DestinationBatch {
  body(): readonly Buffer[];
}

/** NDJSON lines (record-line.ts), encoded into buffers as records arrive. */
export class NdjsonBatch implements SegmentBatch {
  private static readonly CHUNK = 1 << 20;
  private readonly chunks: Buffer[] = [];
  private chunk = Buffer.allocUnsafe(0);
  private used = 0;
  private size = 0;
  private lines = 0;
  private readonly writer: RecordLineWriter;

  constructor(topic: string, partition: number) {
    this.writer = new RecordLineWriter(topic, partition);
  }

  get count(): number {
    return this.lines;
  }

  get bytes(): number {
    return this.size;
  }

  add(record: MirrorRecord): void {
    const bound = this.writer.bound(record);
    if (this.chunk.length - this.used < bound) {
      this.seal();
      this.chunk = Buffer.allocUnsafe(Math.max(NdjsonBatch.CHUNK, bound));
    }
    const end = this.writer.write(record, this.chunk, this.used);
    this.size += end - this.used;
    this.used = end;
    this.lines++;
  }

  /** The segment's bytes, in pieces (written with one writev; a retried write gets the same pieces). */
  body(): readonly Buffer[] {
    this.seal();
    return this.chunks;
  }

  private seal(): void {
    if (this.used > 0) this.chunks.push(this.chunk.subarray(0, this.used));
    this.chunk = this.chunk.subarray(this.used);
    this.used = 0;
  }
}

export interface SegmentOptions {
  /** The source partition (the `topic` and `partition` columns / fields of every record). */
  topic: string;
  partition: number;
  /** undefined: the chain's format, else parquet. */
  format?: SegmentFormat;
  compression: ParquetCompression;
}

export class SegmentDestination implements PartitionDestination<SegmentBatch> {
  readonly location: string;
  readonly coversOffsets = true;
  private startOffset = 0;
  /** The last segment name known to end the chain (listings for the cheap check start after it). */
  private lastName: string | undefined;
  /** The format written: decided at open. */
  private format: SegmentFormat;

  constructor(
    readonly store: SegmentStore,
    private readonly o: SegmentOptions,
  ) {
    this.location = store.location;
    this.format = o.format ?? "parquet";
  }

  async inspect(startOffset: number): Promise<DestinationHead> {
    const { segments, next, format } = validateChain(await this.store.list(), startOffset, this.location);
    const last = segments.at(-1);
    if (format !== undefined && this.o.format !== undefined && format !== this.o.format) {
      throw new MirrorError(
        "MIRROR_DESTINATION_INVALID",
        `${this.location} holds ${format} segments (${this.location}/${last?.name}) but the config says ` +
          `format: ${this.o.format}; a chain keeps one format: set format: ${format}, or leave it out`,
        { file: `${this.location}/${last?.name}`, expected: this.o.format, actual: format },
      );
    }
    return {
      next,
      last: last ? `${this.location}/${last.name}` : undefined,
      facts: { segments: segments.length, format: format ?? this.o.format ?? "parquet" },
    };
  }

  async open(startOffset: number): Promise<DestinationHead> {
    this.startOffset = startOffset;
    await this.store.cleanup();
    const head = await this.inspect(startOffset);
    this.format = head.facts.format as SegmentFormat;
    this.lastName = head.last === undefined ? undefined : head.last.slice(this.location.length + 1);
    return head;
  }

  async check(expected: number, full: boolean): Promise<DestinationHead> {
    if (full || this.lastName === undefined) {
      const head = await this.inspect(this.startOffset);
      this.remember(head);
      return head;
    }
    // Only what sorts after the last known segment: names are zero-padded, so newer segments sort after it.
    const { segments, next } = validateChain(await this.store.list(this.lastName), expected, this.location);
    const last = segments.at(-1);
    const head: DestinationHead = {
      next,
      last: `${this.location}/${last?.name ?? this.lastName}`,
      facts: { new_segments: segments.length },
    };
    this.remember(head);
    return head;
  }

  newBatch(): SegmentBatch {
    const { topic, partition, compression } = this.o;
    switch (this.format) {
      case "parquet":
        return new ParquetBatch(topic, partition, compression);
      case "ndjson":
        return new NdjsonBatch(topic, partition);
    }
  }

  async write(from: number, to: number, batch: SegmentBatch): Promise<string> {
    const name = segmentName(from, to, this.format);
    try {
      const where = await this.store.write({ from, to, name, format: this.format }, batch.body());
      this.lastName = name;
      return where;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") {
        throw new MirrorError(
          "MIRROR_DESTINATION_CHANGED",
          `${this.location}/${name} appeared while this mirror was writing it: another writer is mirroring ` +
            "to the same destination",
          { file: `${this.location}/${name}` },
          { cause: err },
        );
      }
      throw err;
    }
  }

  close(): Promise<void> {
    return this.store.close();
  }

  private remember(head: DestinationHead): void {
    if (head.last !== undefined) this.lastName = head.last.slice(this.location.length + 1);
  }
}
