/**
 * Destinations made of segment files or objects (filesystem, S3): each flush
 * is one `{from:020}-{to:020}.ndjson` under the partition's directory / key
 * prefix, and the chain of names is the checkpoint (chain.ts). A SegmentStore
 * only lists and writes names; SegmentDestination turns that into the
 * PartitionDestination contract.
 */
import { segmentName, validateChain } from "./chain";
import type { DestinationBatch, DestinationHead, PartitionDestination } from "./destination";
import { MirrorError } from "./mirror-error";
import { recordLineBound, writeRecordLine, type MirrorRecord } from "./record-line";
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

/** NDJSON lines (record-line.ts), encoded into buffers as records arrive. */
export class SegmentBatch implements DestinationBatch {
  private static readonly CHUNK = 1 << 20;
  private readonly chunks: Buffer[] = [];
  private chunk = Buffer.allocUnsafe(0);
  private used = 0;
  private size = 0;
  private lines = 0;

  get count(): number {
    return this.lines;
  }

  get bytes(): number {
    return this.size;
  }

  add(record: MirrorRecord): void {
    const bound = recordLineBound(record);
    if (this.chunk.length - this.used < bound) {
      this.seal();
      this.chunk = Buffer.allocUnsafe(Math.max(SegmentBatch.CHUNK, bound));
    }
    const end = writeRecordLine(record, this.chunk, this.used);
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

export class SegmentDestination implements PartitionDestination<SegmentBatch> {
  readonly location: string;
  private startOffset = 0;
  /** The last segment name known to end the chain (listings for the cheap check start after it). */
  private lastName: string | undefined;

  constructor(readonly store: SegmentStore) {
    this.location = store.location;
  }

  async inspect(startOffset: number): Promise<DestinationHead> {
    const { segments, next } = validateChain(await this.store.list(), startOffset, this.location);
    const last = segments.at(-1);
    return {
      next,
      last: last ? `${this.location}/${last.name}` : undefined,
      facts: { segments: segments.length },
    };
  }

  async open(startOffset: number): Promise<DestinationHead> {
    this.startOffset = startOffset;
    await this.store.cleanup();
    const head = await this.inspect(startOffset);
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
    return new SegmentBatch();
  }

  async write(from: number, to: number, batch: SegmentBatch): Promise<string> {
    const name = segmentName(from, to);
    try {
      const where = await this.store.write({ from, to, name }, batch.body());
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
