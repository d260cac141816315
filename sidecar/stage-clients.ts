/**
 * Stage contracts (src/stages/contract.ts) implemented over gRPC: a user
 * Transform or Sink in this pod, and the Forward hop to a peer sidecar.
 * Protobuf shapes are converted here and nowhere else on the data path.
 */
import type * as grpc from "@grpc/grpc-js";
import { ConveyorError, isErrorCode, type ErrorCode } from "../src/errors";
import type { ProcessRequest } from "../src/generated/conveyor/v1/ProcessRequest";
import type { ProcessResponse__Output } from "../src/generated/conveyor/v1/ProcessResponse";
import type { WriteRequest } from "../src/generated/conveyor/v1/WriteRequest";
import type { WriteResponse__Output } from "../src/generated/conveyor/v1/WriteResponse";
import type { ForwardBatch } from "../src/generated/conveyor/v1/ForwardBatch";
import type { ForwardAck__Output } from "../src/generated/conveyor/v1/ForwardAck";
import type {
  CallOptions,
  Record,
  SinkStage,
  SourceBatch,
  SourceReader,
  TransformResult,
  TransformStage,
  WriteResult,
} from "../src/stages/contract";
import type { SourceClient } from "../src/generated/conveyor/v1/Source";
import type { ReadRequest } from "../src/generated/conveyor/v1/ReadRequest";
import type { ReadResponse__Output } from "../src/generated/conveyor/v1/ReadResponse";
import type { BatchStream } from "./batch-stream";

export class GrpcTransformStage implements TransformStage {
  constructor(
    private readonly stream: BatchStream<ProcessRequest, ProcessResponse__Output>,
    private readonly client: grpc.Client,
  ) {}

  async process(records: Record[], options: CallOptions = {}): Promise<TransformResult[]> {
    const res = await this.stream.send((batchId) => {
      options.onSent?.(batchId);
      return { batchId, records };
    }, options.timeoutMs);
    if (res.results.length !== records.length) {
      throw new ConveyorError(
        "PROTOCOL_VIOLATION",
        `transform answered ${res.results.length} results for ${records.length} records (one per record expected)`,
      );
    }
    return res.results.map((r) => ({ records: r.records, error: r.error }));
  }

  close(): void {
    this.stream.close();
    this.client.close();
  }
}

export class GrpcSinkStage implements SinkStage {
  constructor(
    private readonly stream: BatchStream<WriteRequest, WriteResponse__Output>,
    private readonly client: grpc.Client,
  ) {}

  async write(records: Record[], options: CallOptions = {}): Promise<WriteResult[]> {
    const res = await this.stream.send((batchId) => {
      options.onSent?.(batchId);
      return { batchId, records };
    }, options.timeoutMs);
    if (res.results.length !== records.length) {
      throw new ConveyorError(
        "PROTOCOL_VIOLATION",
        `sink answered ${res.results.length} results for ${records.length} records (one per record expected)`,
      );
    }
    return res.results.map((r) => ({ id: r.id, error: r.error }));
  }

  close(): void {
    this.stream.close();
    this.client.close();
  }
}

/**
 * A user Source's Read stream as a SourceReader. The first grant opens the
 * read (pipeline, partitions, credits); later grants carry credits and the
 * acked cursor.
 */
export class GrpcSourceReader implements SourceReader {
  private readonly call: grpc.ClientDuplexStream<ReadRequest, ReadResponse__Output>;
  private opened = false;
  private ended = false;
  /** Settles when the server ended the stream (after applying every ack it received), or it failed. */
  private readonly finished: Promise<void>;

  constructor(
    client: SourceClient,
    /** The handshake: what this stream reads, and the reading instance's generation. */
    private readonly open: { pipeline: string; partitions: number[]; generation: number },
  ) {
    this.call = client.read();
    this.finished = new Promise((resolve) => this.call.on("status", () => resolve()));
  }

  onBatch(handler: (batch: SourceBatch) => void): void {
    this.call.on("data", (res: ReadResponse__Output) =>
      handler(
        res.lag === undefined
          ? { records: res.records, cursor: res.cursor }
          : { records: res.records, cursor: res.cursor, lag: res.lag },
      ),
    );
  }

  onEnd(handler: (err?: Error) => void): void {
    const end = (err?: Error): void => {
      if (this.ended) return;
      this.ended = true;
      handler(err);
    };
    this.call.on("error", (err) => end(err));
    this.call.on("end", () => end());
  }

  grant(credits: number, ackCursor?: string): void {
    const ack = ackCursor === undefined ? {} : { ackCursor };
    if (!this.opened) {
      this.opened = true;
      this.call.write({ ...this.open, credits, ...ack });
    } else {
      this.call.write({ credits, ...ack });
    }
  }

  /** Half-closes: the SDK applies the acks it has, then ends the stream (resolving this). */
  close(): Promise<void> {
    this.call.end();
    return this.finished;
  }
}

export interface ForwardRequest {
  pipeline: string;
  stageIndex: number;
  generation: number;
  records: Record[];
}

export class PeerForwardClient {
  constructor(
    private readonly stream: BatchStream<ForwardBatch, ForwardAck__Output>,
    private readonly client: grpc.Client,
    private readonly selfId: string,
  ) {}

  /** Batches sent and not yet answered. */
  get inFlight(): number {
    return this.stream.inFlight;
  }

  /** Resolves once the peer confirmed the batch all the way to the sink, with what became of its records. */
  async forward(
    req: ForwardRequest,
    onSent?: (batchId: number) => void,
  ): Promise<{ written: number; filtered: number; deadLettered: number }> {
    const ack = await this.stream.send((batchId) => {
      onSent?.(batchId);
      return { batchId, senderId: this.selfId, ...req };
    });
    if (ack.error) throw forwardAckError(ack);
    return { written: ack.written, filtered: ack.filtered, deadLettered: ack.deadLettered };
  }

  close(): void {
    this.stream.close();
    this.client.close();
  }
}

/**
 * The error a peer answered for a batch: its code travels in ForwardAck.code
 * (ours, from the peer's table), the message in ForwardAck.error. An ack from a
 * peer that names no known code is the peer's own bug: INTERNAL.
 */
export function forwardAckError(ack: ForwardAck__Output): ConveyorError {
  const code: ErrorCode = isErrorCode(ack.code) ? ack.code : "INTERNAL";
  return new ConveyorError(code, ack.error, code === "INTERNAL" ? { peerCode: ack.code } : {});
}
