/**
 * One error type for the whole project. Every code has one entry in ERROR_CODES
 * (gRPC status, retryable?, description) and one row in docs/errors.md; a unit
 * test keeps the two in step. Map to gRPC once, at the server edge, with toGrpcStatus().
 */
import * as grpc from "@grpc/grpc-js";

export const ERROR_CODES = {
  CONFIG_INVALID: {
    status: grpc.status.INVALID_ARGUMENT,
    retryable: false,
    doc: "A pipeline, flag or env value failed validation.",
  },
  UNKNOWN_BUILTIN: {
    status: grpc.status.INVALID_ARGUMENT,
    retryable: false,
    doc: "A pipeline names a built-in stage that does not exist.",
  },
  PIPELINE_NOT_FOUND: {
    status: grpc.status.NOT_FOUND,
    retryable: false,
    doc: "No pipeline with that name is applied (or routed to this sidecar).",
  },
  STAGE_NOT_FOUND: {
    status: grpc.status.NOT_FOUND,
    retryable: false,
    doc: "The pipeline has no stage with that name or index.",
  },
  NO_ROUTE: {
    status: grpc.status.UNAVAILABLE,
    retryable: true,
    doc: "No sidecar currently runs the stage a record must go to.",
  },
  PEER_UNAVAILABLE: {
    status: grpc.status.UNAVAILABLE,
    retryable: true,
    doc: "A peer sidecar or a local stage service could not be reached.",
  },
  STAGE_FAILED: {
    status: grpc.status.ABORTED,
    retryable: true,
    doc: "A Transform or Sink reported an error for a record.",
  },
  RECORD_TOO_LARGE: {
    status: grpc.status.RESOURCE_EXHAUSTED,
    retryable: false,
    doc: "A record is larger than the configured maximum record size.",
  },
  INVALID_RECORD: {
    status: grpc.status.INVALID_ARGUMENT,
    retryable: false,
    doc: "A record is malformed (e.g. Inject value_json is not JSON).",
  },
  PROTOCOL_VIOLATION: {
    status: grpc.status.INVALID_ARGUMENT,
    retryable: false,
    doc: "A stream peer broke the contract (wrong result count, unknown batch id, missing handshake).",
  },
  STALE_GENERATION: {
    status: grpc.status.FAILED_PRECONDITION,
    retryable: false,
    doc: "A command or peer batch carries an older generation than this sidecar has seen (fencing).",
  },
  TABLE_BEHIND: {
    status: grpc.status.UNAVAILABLE,
    retryable: true,
    doc: "A peer batch was routed on a newer routing table than the receiver has; the sender retries once the receiver has caught up.",
  },
  TIMEOUT: {
    status: grpc.status.DEADLINE_EXCEEDED,
    retryable: true,
    doc: "A call did not answer within its deadline.",
  },
  SHUTTING_DOWN: {
    status: grpc.status.UNAVAILABLE,
    retryable: true,
    doc: "The process is draining and accepts no new work.",
  },
  ROUTER_UNAVAILABLE: {
    status: grpc.status.UNAVAILABLE,
    retryable: true,
    doc: "The router could not be reached.",
  },
  MIRROR_DESTINATION_INVALID: {
    status: grpc.status.FAILED_PRECONDITION,
    retryable: false,
    doc: "A mirror destination holds a file that breaks the chain (gap, overlap, foreign file); the mirror refuses to start.",
  },
  MIRROR_DESTINATION_CHANGED: {
    status: grpc.status.ABORTED,
    retryable: false,
    doc: "A mirror destination changed underneath the running mirror (another writer, or a file removed).",
  },
  MIRROR_DESTINATION_UNREACHABLE: {
    status: grpc.status.UNAVAILABLE,
    retryable: true,
    doc: "A mirror destination failed every write attempt of the retry budget.",
  },
  MIRROR_SOURCE_BACKWARDS: {
    status: grpc.status.FAILED_PRECONDITION,
    retryable: false,
    doc: "A mirrored partition's high watermark is below what the destination holds.",
  },
  MIRROR_OFFSET_GONE: {
    status: grpc.status.OUT_OF_RANGE,
    retryable: false,
    doc: "The next offset to mirror no longer exists in the source (retention, compaction or truncation).",
  },
  MIRROR_SOURCE_UNREACHABLE: {
    status: grpc.status.UNAVAILABLE,
    retryable: true,
    doc: "The mirror's source Kafka cluster could not be read.",
  },
  RELAY_PUBLISH_FAILED: {
    status: grpc.status.UNAVAILABLE,
    retryable: true,
    doc: "The relay could not publish events (Kafka unreachable or refusing them); it replays them from the last published event.",
  },
  SLING_UNAVAILABLE: {
    status: grpc.status.FAILED_PRECONDITION,
    retryable: false,
    doc: "The Sling CLI (SLING_BIN) is missing or does not run.",
  },
  SLING_PIPELINE_FAILED: {
    status: grpc.status.ABORTED,
    retryable: true,
    doc: "A Sling run failed (non-zero exit or `execution failed`) on every attempt of its retry budget.",
  },
  SLING_TIMEOUT: {
    status: grpc.status.DEADLINE_EXCEEDED,
    retryable: true,
    doc: "A Sling run did not finish within SLING_TIMEOUT and was killed.",
  },
  SLING_SOURCE_FAILED: {
    status: grpc.status.UNAVAILABLE,
    retryable: true,
    doc: "A Sling source's read failed (connection, query or timeout); it is read again from the last acked cursor.",
  },
  INTERNAL: { status: grpc.status.INTERNAL, retryable: false, doc: "A bug: an invariant did not hold." },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class ConveyorError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ConveyorError";
    this.code = code;
    this.details = details;
  }

  get retryable(): boolean {
    return ERROR_CODES[this.code].retryable;
  }

  get grpcStatus(): grpc.status {
    return ERROR_CODES[this.code].status;
  }
}

/** Wraps anything thrown into a ConveyorError (unknown errors become INTERNAL). */
export function asConveyorError(err: unknown, fallback: ErrorCode = "INTERNAL"): ConveyorError {
  if (err instanceof ConveyorError) return err;
  if (isServiceError(err)) return fromGrpcError(err);
  const message = err instanceof Error ? err.message : String(err);
  return new ConveyorError(fallback, message, {}, { cause: err });
}

function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as Partial<grpc.ServiceError>).code === "number";
}

const CODE_METADATA_KEY = "conveyor-error-code";

/** A grpc ServiceError carrying our code in trailing metadata, for callback(err). */
export function toGrpcStatus(
  err: unknown,
): Partial<grpc.StatusObject> & { code: grpc.status; details: string } {
  const e = asConveyorError(err);
  const metadata = new grpc.Metadata();
  metadata.set(CODE_METADATA_KEY, e.code);
  return { code: e.grpcStatus, details: `${e.code}: ${e.message}`, metadata };
}

/** The reverse of toGrpcStatus, for errors a client receives. */
export function fromGrpcError(err: grpc.ServiceError): ConveyorError {
  const sent = err.metadata?.get(CODE_METADATA_KEY)[0];
  if (typeof sent === "string" && sent in ERROR_CODES) {
    const message = err.details.replace(`${sent}: `, "");
    return new ConveyorError(sent as ErrorCode, message, { grpcCode: err.code }, { cause: err });
  }
  const code: ErrorCode =
    err.code === grpc.status.DEADLINE_EXCEEDED
      ? "TIMEOUT"
      : err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.CANCELLED
        ? "PEER_UNAVAILABLE"
        : err.code === grpc.status.RESOURCE_EXHAUSTED
          ? "RECORD_TOO_LARGE"
          : err.code === grpc.status.NOT_FOUND
            ? "STAGE_NOT_FOUND"
            : err.code === grpc.status.INVALID_ARGUMENT
              ? "PROTOCOL_VIOLATION"
              : "INTERNAL";
  return new ConveyorError(code, err.details || err.message, { grpcCode: err.code }, { cause: err });
}
