/**
 * One error type for the whole project. Every code has one entry in ERROR_CODES
 * and one row in docs/errors.md; a unit test keeps the two in step. Map to gRPC
 * once, at the server edge, with toGrpcStatus(); back, at the client, with
 * fromGrpcError(). The columns decide what the code does, nothing else does:
 *
 *   status              the gRPC status at a server edge
 *   retryable           whether the same work may succeed if tried again
 *   countsAgainstStage  whether a failed call with this code is the stage's own
 *                       fault: each record of the call counts a failed attempt
 *                       (retried while `retryable` and attempts remain, then
 *                       dead-lettered). Otherwise (transport, placement, shutdown)
 *                       the failure says nothing about the records: the batch is
 *                       retried whole and never dead-lettered.
 */
import { randomBytes } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { createLogger } from "./telemetry/log";

export interface ErrorSpec {
  readonly status: grpc.status;
  readonly retryable: boolean;
  readonly countsAgainstStage: boolean;
  readonly doc: string;
}

export const ERROR_CODES = {
  CONFIG_INVALID: {
    status: grpc.status.INVALID_ARGUMENT,
    retryable: false,
    countsAgainstStage: false,
    doc: "A pipeline, flag or env value failed validation.",
  },
  UNKNOWN_BUILTIN: {
    status: grpc.status.INVALID_ARGUMENT,
    retryable: false,
    countsAgainstStage: false,
    doc: "A pipeline names a built-in stage that does not exist.",
  },
  PIPELINE_NOT_FOUND: {
    status: grpc.status.NOT_FOUND,
    retryable: false,
    countsAgainstStage: false,
    doc: "No pipeline with that name is applied (or routed to this sidecar).",
  },
  STAGE_NOT_FOUND: {
    status: grpc.status.NOT_FOUND,
    retryable: false,
    countsAgainstStage: false,
    doc: "The pipeline has no stage with that name or index.",
  },
  NO_ROUTE: {
    status: grpc.status.UNAVAILABLE,
    retryable: true,
    countsAgainstStage: false,
    doc: "No sidecar currently runs the stage a record must go to.",
  },
  PEER_UNAVAILABLE: {
    status: grpc.status.UNAVAILABLE,
    retryable: true,
    countsAgainstStage: false,
    doc: "A peer sidecar or a local stage service could not be reached, or the connection to it broke (dropped, reset, closed by a GOAWAY).",
  },
  STAGE_FAILED: {
    status: grpc.status.ABORTED,
    retryable: true,
    countsAgainstStage: true,
    doc: "A Transform or Sink reported an error for a record.",
  },
  STAGE_CALL_FAILED: {
    status: grpc.status.ABORTED,
    retryable: true,
    countsAgainstStage: true,
    doc: "A stage service answered a call with a gRPC error status of its own (not a transport failure): every record of the call failed.",
  },
  RECORD_TOO_LARGE: {
    status: grpc.status.RESOURCE_EXHAUSTED,
    retryable: false,
    countsAgainstStage: true,
    doc: "A record is larger than the configured maximum record size.",
  },
  INVALID_RECORD: {
    status: grpc.status.INVALID_ARGUMENT,
    retryable: false,
    countsAgainstStage: true,
    doc: "A record is malformed (e.g. Inject value_json is not JSON).",
  },
  PROTOCOL_VIOLATION: {
    status: grpc.status.INVALID_ARGUMENT,
    retryable: false,
    countsAgainstStage: true,
    doc: "A stream peer broke the contract (wrong result count, unknown batch id, missing handshake).",
  },
  STALE_GENERATION: {
    status: grpc.status.FAILED_PRECONDITION,
    retryable: true,
    countsAgainstStage: false,
    doc: "A command or peer batch carries an older generation than this sidecar has seen (fencing); the sender retries once it has the current table.",
  },
  TABLE_BEHIND: {
    status: grpc.status.UNAVAILABLE,
    retryable: true,
    countsAgainstStage: false,
    doc: "A peer batch was routed on a newer routing table than the receiver's; the sender retries once tables agree.",
  },
  TIMEOUT: {
    status: grpc.status.DEADLINE_EXCEEDED,
    retryable: true,
    countsAgainstStage: true,
    doc: "A call did not answer within its deadline.",
  },
  SHUTTING_DOWN: {
    status: grpc.status.UNAVAILABLE,
    retryable: true,
    countsAgainstStage: false,
    doc: "The process is draining and accepts no new work.",
  },
  UNAUTHENTICATED: {
    status: grpc.status.UNAUTHENTICATED,
    retryable: false,
    countsAgainstStage: false,
    doc: "A call came without a credential the method needs, or with one that is not valid (unknown token, certificate not from the cluster's CA).",
  },
  PERMISSION_DENIED: {
    status: grpc.status.PERMISSION_DENIED,
    retryable: false,
    countsAgainstStage: false,
    doc: "A valid credential of the wrong role (e.g. a data-plane token on the Admin API), or a sidecar acting as another sidecar than its certificate names.",
  },
  STAGE_NOT_PLACED: {
    status: grpc.status.PERMISSION_DENIED,
    retryable: true,
    countsAgainstStage: false,
    doc: "A peer forwarded a batch for a stage the router did not place on the receiving sidecar; refused, never acked, retried by an honest sender once tables agree.",
  },
  ROUTER_UNAVAILABLE: {
    status: grpc.status.UNAVAILABLE,
    retryable: true,
    countsAgainstStage: false,
    doc: "The router could not be reached.",
  },
  NOT_LEADER: {
    status: grpc.status.UNAVAILABLE,
    retryable: true,
    countsAgainstStage: false,
    doc: "This router is a standby (or was deposed): the leader of the router cluster plans and commits.",
  },
  STORE_UNAVAILABLE: {
    status: grpc.status.UNAVAILABLE,
    retryable: true,
    countsAgainstStage: false,
    doc: "The router's state store (etcd) could not be reached; nothing was committed.",
  },
  MIRROR_DESTINATION_INVALID: {
    status: grpc.status.FAILED_PRECONDITION,
    retryable: false,
    countsAgainstStage: false,
    doc: "A mirror destination holds a file that breaks the chain (gap, overlap, foreign file); the mirror refuses to start.",
  },
  MIRROR_DESTINATION_CHANGED: {
    status: grpc.status.ABORTED,
    retryable: false,
    countsAgainstStage: false,
    doc: "A mirror destination changed underneath the running mirror (another writer, or a file removed).",
  },
  MIRROR_DESTINATION_UNREACHABLE: {
    status: grpc.status.UNAVAILABLE,
    retryable: true,
    countsAgainstStage: false,
    doc: "A mirror destination failed every write attempt of the retry budget.",
  },
  MIRROR_SOURCE_BACKWARDS: {
    status: grpc.status.FAILED_PRECONDITION,
    retryable: false,
    countsAgainstStage: false,
    doc: "A mirrored partition's high watermark is below what the destination holds.",
  },
  MIRROR_OFFSET_GONE: {
    status: grpc.status.OUT_OF_RANGE,
    retryable: false,
    countsAgainstStage: false,
    doc: "The next offset to mirror no longer exists in the source (retention, compaction or truncation), or an offset-preserving Kafka destination met a gap in source offsets it cannot reproduce.",
  },
  MIRROR_SOURCE_UNREACHABLE: {
    status: grpc.status.UNAVAILABLE,
    retryable: true,
    countsAgainstStage: false,
    doc: "The mirror's source Kafka cluster could not be read.",
  },
  RELAY_PUBLISH_FAILED: {
    status: grpc.status.UNAVAILABLE,
    retryable: true,
    countsAgainstStage: false,
    doc: "The relay could not publish events (Kafka unreachable or refusing them); it replays them from the last published event.",
  },
  SLING_UNAVAILABLE: {
    status: grpc.status.FAILED_PRECONDITION,
    retryable: false,
    countsAgainstStage: false,
    doc: "The Sling CLI (SLING_BIN) is missing or does not run.",
  },
  SLING_PIPELINE_FAILED: {
    status: grpc.status.ABORTED,
    retryable: true,
    countsAgainstStage: true,
    doc: "A Sling run failed (non-zero exit or `execution failed`) on every attempt of its retry budget.",
  },
  SLING_TIMEOUT: {
    status: grpc.status.DEADLINE_EXCEEDED,
    retryable: true,
    countsAgainstStage: true,
    doc: "A Sling run did not finish within SLING_TIMEOUT and was killed.",
  },
  SLING_SOURCE_FAILED: {
    status: grpc.status.UNAVAILABLE,
    retryable: true,
    countsAgainstStage: false,
    doc: "A Sling source's read failed (connection, query or timeout); it is read again from the last acked cursor.",
  },
  INTERNAL: {
    status: grpc.status.INTERNAL,
    retryable: false,
    countsAgainstStage: true,
    doc: "A bug: an invariant did not hold.",
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** True when `code` is one of ours (e.g. read from the wire). */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}

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
    return errorSpec(this.code).retryable;
  }

  /** The stage's own failure (see the header): its records count a failed attempt. */
  get countsAgainstStage(): boolean {
    return errorSpec(this.code).countsAgainstStage;
  }

  get grpcStatus(): grpc.status {
    return errorSpec(this.code).status;
  }
}

function errorSpec(code: ErrorCode): ErrorSpec {
  return ERROR_CODES[code];
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

export const CODE_METADATA_KEY = "conveyor-error-code";

/** Where a server edge logs the full text of an INTERNAL error (a pino Logger fits). */
export interface EdgeLogger {
  error(fields: object, message: string): void;
}

let defaultEdgeLogger: EdgeLogger | undefined;

/** The process's own log, for edges that do not pass theirs. */
function edgeLogger(): EdgeLogger {
  defaultEdgeLogger ??= createLogger("grpc-edge");
  return defaultEdgeLogger;
}

/** The name a client is told to look for in logs: the edge logger's component. */
function processName(log: EdgeLogger): string {
  const bindings = (log as { bindings?: () => { component?: unknown } }).bindings?.();
  return typeof bindings?.component === "string" ? bindings.component : "conveyor";
}

/**
 * `err` as a client may see it. An INTERNAL error is redacted: the client reads
 * only a reference, and the full message and stack are logged here, once, under
 * that reference. Every other error is passed as it is.
 */
export function redactAtEdge(err: unknown, log?: EdgeLogger): ConveyorError {
  const e = asConveyorError(err);
  if (e.code !== "INTERNAL") return e;
  const ref = randomBytes(4).toString("hex");
  const edge = log ?? edgeLogger();
  edge.error({ err: e, ref, cause: e.cause }, "internal error answered at a server edge");
  return new ConveyorError("INTERNAL", `internal error (see the ${processName(edge)} log, ref ${ref})`, {
    ref,
  });
}

/** The status a server edge answers for `err` (redacted, see redactAtEdge), our code in the trailing metadata. */
export function toGrpcStatus(
  err: unknown,
  log?: EdgeLogger,
): Partial<grpc.StatusObject> & { code: grpc.status; details: string } {
  const e = redactAtEdge(err, log);
  const metadata = new grpc.Metadata();
  metadata.set(CODE_METADATA_KEY, e.code);
  return { code: e.grpcStatus, details: `${e.code}: ${e.message}`, metadata };
}

/**
 * A message-size refusal from a gRPC library's own check (grpc-js: "Received
 * message larger than max (…)", "Sent message larger than max", "…decompresses to
 * a size larger than …", "Attempted to send message with a size larger than …";
 * C-core and Go use the same words). Any other RESOURCE_EXHAUSTED is not about a
 * record: grpc-js reports an HTTP/2 ENHANCE_YOUR_CALM (the GOAWAY a C-core, Go or
 * Java server sends for excess keepalive pings, "too_many_pings") as
 * RESOURCE_EXHAUSTED "Bandwidth exhausted or memory limit exceeded".
 */
const MESSAGE_TOO_LARGE = /message larger than max|size larger than/i;

/**
 * Transport failures that grpc-js reports under a status a stage could also
 * send: a connection that dropped, was reset or refused the stream.
 */
const TRANSPORT_FAILURE =
  /Received RST_STREAM|Connection dropped|Stream refused|ECONNRESET|ETIMEDOUT|Bandwidth exhausted|too_many_pings|ENHANCE_YOUR_CALM|GOAWAY/i;

/**
 * The reverse of toGrpcStatus, for errors a client receives. Errors from our
 * own processes carry their code in the metadata and keep it. Anything else —
 * a user stage's own status, or the transport's — maps to a small fixed set:
 *
 *   UNAVAILABLE, CANCELLED, or a transport failure (connection dropped or reset,
 *   RST_STREAM, GOAWAY ENHANCE_YOUR_CALM / too_many_pings)   → PEER_UNAVAILABLE
 *   DEADLINE_EXCEEDED                                         → TIMEOUT
 *   RESOURCE_EXHAUSTED that names a message size limit        → RECORD_TOO_LARGE
 *   any other status (NOT_FOUND, INVALID_ARGUMENT, INTERNAL…) → STAGE_CALL_FAILED
 */
export function fromGrpcError(err: grpc.ServiceError): ConveyorError {
  const sent = err.metadata?.get(CODE_METADATA_KEY)[0];
  if (typeof sent === "string" && isErrorCode(sent)) {
    const message = err.details.startsWith(`${sent}: `) ? err.details.slice(sent.length + 2) : err.details;
    return new ConveyorError(sent, message, { grpcCode: err.code }, { cause: err });
  }
  const text = err.details || err.message;
  return new ConveyorError(foreignCode(err.code, text), text, { grpcCode: err.code }, { cause: err });
}

/** The code of a gRPC status that did not come from a Conveyor process (see fromGrpcError). */
export function foreignCode(status: grpc.status, message: string): ErrorCode {
  switch (status) {
    case grpc.status.UNAVAILABLE:
    case grpc.status.CANCELLED:
      return "PEER_UNAVAILABLE";
    case grpc.status.DEADLINE_EXCEEDED:
      return "TIMEOUT";
    case grpc.status.RESOURCE_EXHAUSTED:
      return MESSAGE_TOO_LARGE.test(message) ? "RECORD_TOO_LARGE" : "PEER_UNAVAILABLE";
    default:
      return TRANSPORT_FAILURE.test(message) ? "PEER_UNAVAILABLE" : "STAGE_CALL_FAILED";
  }
}

/**
 * The metric label for a record error's code: one of ours, or USER_ERROR for a
 * code a user stage chose (kept in logs, lastError and the `_dlq_error` header).
 */
export function errorCodeLabel(code: string): ErrorCode | "USER_ERROR" {
  return isErrorCode(code) ? code : "USER_ERROR";
}
