/**
 * Errors that stop a mirror. Each code says what went wrong in terms a user of
 * an exactly-once mirror acts on; details carry the structured facts
 * (expected, actual, file, low/high watermark). These codes are meant to join
 * the project-wide table in src/errors.ts (see docs/mirror.md#errors).
 */
export const MIRROR_ERROR_CODES = {
  MIRROR_DESTINATION_INVALID:
    "The destination holds a file that breaks the chain (gap, overlap, foreign file); the mirror refuses to start.",
  MIRROR_DESTINATION_CHANGED:
    "The destination changed underneath a running mirror (another writer, or a file removed).",
  MIRROR_DESTINATION_UNREACHABLE: "The destination failed every write attempt of the retry budget.",
  MIRROR_SOURCE_BACKWARDS: "The source partition's high watermark is below what the destination holds.",
  MIRROR_OFFSET_GONE:
    "The next offset to copy no longer exists in the source (retention, compaction or truncation).",
  MIRROR_SOURCE_UNREACHABLE: "The source Kafka cluster could not be read.",
} as const;

export type MirrorErrorCode = keyof typeof MIRROR_ERROR_CODES;

export class MirrorError extends Error {
  constructor(
    readonly code: MirrorErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "MirrorError";
  }
}
