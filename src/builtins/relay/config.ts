/**
 * Configuration of `builtin: sse`, the Server-Sent-Events pipeline Source
 * (stage.ts). Checked by the pipeline validator (src/config/pipeline.ts)
 * through the BUILTINS registry; unknown fields are rejected.
 */
import type { JSONSchemaType } from "ajv";

export interface SseSourceConfig {
  /** The SSE stream (http or https). */
  url: string;
  /** Most records per batch (default 100). */
  batchSize?: number;
  /** A partial batch is sent after this long (default 200 ms). */
  maxBatchWaitMs?: number;
  /** Where the acked cursor is kept (default: the directory the sidecar gives the stage). */
  stateDir?: string;
  /** Extra request headers, e.g. Authorization or User-Agent (Accept and Last-Event-ID are the source's). */
  headers?: Record<string, string>;
  /** A connection silent for this long is dropped and reopened (default 60 000 ms). */
  idleTimeoutMs?: number;
}

export const SSE_SOURCE_DEFAULTS = { batchSize: 100, maxBatchWaitMs: 200, idleTimeoutMs: 60_000 } as const;

export const sseSourceConfigSchema: JSONSchemaType<SseSourceConfig> = {
  type: "object",
  additionalProperties: false,
  required: ["url"],
  properties: {
    url: { type: "string", pattern: "^https?://[^\\s]+$" },
    batchSize: { type: "integer", minimum: 1, maximum: 10_000, nullable: true },
    maxBatchWaitMs: { type: "integer", minimum: 0, maximum: 60_000, nullable: true },
    stateDir: { type: "string", minLength: 1, nullable: true },
    headers: {
      type: "object",
      nullable: true,
      required: [],
      additionalProperties: { type: "string" },
    },
    idleTimeoutMs: { type: "integer", minimum: 1000, nullable: true },
  },
};
