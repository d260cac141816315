/**
 * The stage contracts every stage implements, whether it is a user service
 * discovered by reflection (reached through a gRPC client) or a built-in
 * running inside the sidecar. The data path only sees these interfaces.
 */
import type { Record__Output } from "../generated/conveyor/v1/Record";
import type { RecordError__Output } from "../generated/conveyor/v1/RecordError";

/** A record as the data path handles it (all fields present). */
export type Record = Record__Output;
export type RecordError = RecordError__Output;

export const STAGE_KINDS = ["source", "transform", "sink"] as const;
export type StageKind = (typeof STAGE_KINDS)[number];

/** Proto enum name ↔ StageKind, in one place. */
export const STAGE_KIND_TO_PROTO = {
  source: "STAGE_KIND_SOURCE",
  transform: "STAGE_KIND_TRANSFORM",
  sink: "STAGE_KIND_SINK",
} as const satisfies { [K in StageKind]: string };

export type ProtoStageKind = (typeof STAGE_KIND_TO_PROTO)[StageKind] | "STAGE_KIND_UNSPECIFIED";

export function stageKindFromProto(kind: string): StageKind | undefined {
  switch (kind) {
    case "STAGE_KIND_SOURCE":
      return "source";
    case "STAGE_KIND_TRANSFORM":
      return "transform";
    case "STAGE_KIND_SINK":
      return "sink";
    default:
      return undefined;
  }
}

/** One result per input record: records (0 = filtered, n = split) or an error. */
export interface TransformResult {
  records: Record[];
  error: RecordError | null;
}

/** One result per input record: error null means durable. */
export interface WriteResult {
  id: string;
  error: RecordError | null;
}

/** Per call: how long the stage may take for this batch (built-ins may ignore it). */
export interface CallOptions {
  timeoutMs?: number;
  /**
   * Called when the batch goes on the wire, after waiting for a slot in the stream's window, with its
   * batch id on that stream (queue-wait metric and trace attributes; built-ins may not call it).
   */
  onSent?(batchId: number): void;
}

export interface TransformStage {
  process(records: Record[], options?: CallOptions): Promise<TransformResult[]>;
  close(): void;
}

export interface SinkStage {
  write(records: Record[], options?: CallOptions): Promise<WriteResult[]>;
  close(): void;
}

export interface SourceBatch {
  records: Record[];
  cursor: string;
  /** Records the source was behind its newest data (ReadResponse.lag); absent when it cannot say. */
  lag?: number;
}

/**
 * Where one copy of a copying source (a `builtin: mirror` mirror) stands, for the console:
 * SidecarStatus.stages[].mirrors (proto/conveyor/v1/router.proto). null: not known yet.
 */
export interface MirrorProgress {
  name: string;
  topic: string;
  partition: number;
  sourceHigh: number | null;
  destNext: number | null;
  /** Unix time in ms of the last durable flush; null before the first. */
  lastFlushMs: number | null;
  state: string;
  /** Empty unless the mirror failed. */
  error: string;
}

/** A running read of a source: pull with credits, ack cursors in order. */
export interface SourceReader {
  /** Called for every batch the source sends. */
  onBatch(handler: (batch: SourceBatch) => void): void;
  /** Called once when the stream ends (err undefined = clean end). */
  onEnd(handler: (err?: Error) => void): void;
  grant(credits: number, ackCursor?: string): void;
  /**
   * Stops reading. Resolves once the source stopped and applied (made
   * durable) every ack granted before: only then may another reader start.
   */
  close(): Promise<void>;
  /** A mirroring source says where each of its mirrors stands (read at every heartbeat). */
  mirrorProgress?(): MirrorProgress[];
}
