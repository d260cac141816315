/**
 * What the mirror core needs from a destination. Adapters only implement this;
 * the loop, the flush triggers, the retry budget and the errors live in the
 * core (partition-mirror.ts).
 *
 *   inspect  read-only: what the destination holds → the next offset to copy (status)
 *   open     take the destination over for writing (remove temp files, fence an
 *            older writer), then inspect
 *   check    before each flush / with each heartbeat: does it still end where
 *            this mirror left it?
 *   write    one batch [from, to], durable and atomic, never replacing what is there
 *
 * Two families implement it: segment stores (filesystem, S3: one
 * `{from:020}-{to:020}.{parquet|ndjson}` file or object per flush, wrapped by
 * SegmentDestination in destination-segments.ts) and Kafka (one transaction
 * per flush, destination-kafka.ts).
 */
import type { MirrorRecord } from "./record-line";

/** What a destination holds, as far as the mirror is concerned. */
export interface DestinationHead {
  /** The next source offset to copy: everything below it is in the destination, exactly once. */
  next: number;
  /** The newest entry found (file path, s3:// key, topic/partition@offset), for messages; undefined when empty. */
  last: string | undefined;
  /** Extra facts for the start log line (segments found, target offsets, ...). */
  facts: Record<string, number | string>;
}

/** The records of one flush, in the destination's own encoding. */
export interface DestinationBatch {
  readonly count: number;
  /** What the batch will write, in bytes (the max-bytes trigger). */
  readonly bytes: number;
  add(record: MirrorRecord): void;
}

export interface PartitionDestination<B extends DestinationBatch = DestinationBatch> {
  /** Where this partition's copy lives, for messages (a directory, s3://bucket/prefix, kafka topic/partition). */
  readonly location: string;
  /**
   * true: a batch covers a range of offsets and may hold fewer records (or
   * none) when the source proved the others empty (segment stores: the name
   * says the range). false: the destination knows records only, so a batch
   * ends at its last record (Kafka: the last record's source header).
   */
  readonly coversOffsets: boolean;
  /**
   * Read-only: validates what the destination holds and returns the next offset.
   * Throws MIRROR_DESTINATION_INVALID naming the file/record that breaks the chain.
   */
  inspect(startOffset: number): Promise<DestinationHead>;
  /** Takes the destination over for writing (cleans up, fences older writers), then inspects it. */
  open(startOffset: number): Promise<DestinationHead>;
  /**
   * The destination's head now, knowing that this mirror left it at `expected`.
   * `full` asks for a complete validation (heartbeat); otherwise a cheap check
   * (before each flush) that still sees another writer's entries.
   */
  check(expected: number, full: boolean): Promise<DestinationHead>;
  newBatch(): B;
  /**
   * Durably and atomically writes the batch holding offsets [from, to]; never
   * replaces or duplicates what is there. Rejects with a MirrorError
   * (MIRROR_DESTINATION_CHANGED) when another writer took the place; any other
   * rejection is transient and the core retries (after a check) within its budget.
   * Resolves with where the batch went (path, key, topic/partition@offsets).
   */
  write(from: number, to: number, batch: B): Promise<string>;
  close(): Promise<void>;
}
