/**
 * What the mirror core needs from a destination. Adapters (filesystem, later
 * S3 and Kafka) only implement this; the chain rule, the triggers and the
 * errors live in the core.
 */
import type { Segment } from "./chain";

export interface PartitionDestination {
  /** Where this partition's segments live, for messages (a directory, s3://bucket/prefix, ...). */
  readonly location: string;
  /** Removes what an interrupted write of this process may have left (temp files). */
  cleanup(): Promise<void>;
  /** Every name in the partition's directory / prefix (segments and anything else), unsorted. */
  list(): Promise<string[]>;
  /**
   * Durably writes one segment under its final name, never replacing an
   * existing one: resolves only when the segment is durable; rejects with
   * code "EEXIST" when the name is taken (another writer).
   */
  write(segment: Segment, body: Buffer): Promise<string>;
}
