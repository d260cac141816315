import { ConveyorError, type ErrorCode } from "../../errors";

/**
 * Errors that stop a mirror. Each code says what went wrong in terms a user of
 * an exactly-once mirror acts on; details carry the structured facts
 * (expected, actual, file, low/high watermark). The codes are in the project's
 * one table, src/errors.ts (documented in docs/errors.md).
 */
export type MirrorErrorCode = Extract<ErrorCode, `MIRROR_${string}`>;

export class MirrorError extends ConveyorError {
  constructor(
    code: MirrorErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, details, options);
    this.name = "MirrorError";
  }
}
