/**
 * The error a user stage returns (or throws) for a record it could not handle.
 * The sidecar retries retryable errors with backoff and sends the others
 * straight to the pipeline's dead-letter sink, so the class is the one thing a
 * stage author has to decide per failure.
 */
import { ConveyorError } from "../errors";
import type { RecordError } from "../stages/contract";

/** Code used when a stage does not name one. */
export const DEFAULT_STAGE_ERROR_CODE = "STAGE_FAILED";

export interface StageErrorOptions {
  /** Retry with backoff (default true) or dead-letter at once. */
  retryable?: boolean;
  /** A short machine-readable code, e.g. "BAD_JSON"; shown in the DLQ headers. */
  code?: string;
  cause?: unknown;
}

export class StageError extends Error {
  readonly retryable: boolean;
  readonly code: string;

  constructor(message: string, options: StageErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StageError";
    this.retryable = options.retryable ?? true;
    this.code = options.code ?? DEFAULT_STAGE_ERROR_CODE;
  }
}

/**
 * Converts anything a handler returned or threw into the wire RecordError.
 * Unknown errors are retryable: a transient bug in user code should not send
 * records to the DLQ on the first attempt.
 */
export function toRecordError(err: unknown): RecordError {
  if (err instanceof StageError) return { message: err.message, retryable: err.retryable, code: err.code };
  if (err instanceof ConveyorError) return { message: err.message, retryable: err.retryable, code: err.code };
  const message = err instanceof Error ? err.message : String(err);
  return { message, retryable: true, code: DEFAULT_STAGE_ERROR_CODE };
}

/** A non-retryable error for a stage that broke the SDK's result contract. */
export function contractError(message: string): RecordError {
  return { message, retryable: false, code: "PROTOCOL_VIOLATION" };
}
