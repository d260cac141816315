/**
 * Config of the `sling` built-in as a pipeline Source (`source: { builtin: sling, config: {...} }`),
 * read by source.ts. Checked by the pipeline validator (src/config/pipeline.ts) through the BUILTINS
 * registry, and again when the reader opens (the update key is written into SQL); unknown fields are
 * rejected.
 */
import type { JSONSchemaType, ValidateFunction } from "ajv";
import { formatAjvError, newAjv } from "../../config/config-file";
import { ConveyorError } from "../../errors";

export interface SlingSourceConfig {
  /** Sling source connection: a name Sling knows (env var holding a URL, e.g. MISSION_DB) or the URL. */
  connection: string;
  /** A table (`schema.table`) or a SQL query (`select …`) to read. */
  stream: string;
  /** The incremental column (`id`, `updated_at`): rows are read in its order, the cursor is its value. */
  updateKey: string;
  /** Columns that identify a row: the record id and key. Default: a hash of the row. */
  primaryKey?: string[];
  /** Most records per batch (default 500). */
  batchSize?: number;
  /** After the stream is read to its end, look for new rows this often (default 5000 ms). */
  pollIntervalMs?: number;
  /** Most rows one Sling run reads; more are read by the next run, at once (default 100 000). */
  maxRowsPerRun?: number;
  /** Kill a Sling run after this long (ms, s, m, h); default 10m. The reader ends with the error. */
  timeout?: string;
  /** Where the acked cursor is kept (default: the directory the sidecar gives the stage). */
  stateDir?: string;
  /** Sling binary; default SLING_BIN, else `sling` on PATH. */
  slingBin?: string;
}

export const SLING_SOURCE_DEFAULTS = {
  batchSize: 500,
  pollIntervalMs: 5000,
  maxRowsPerRun: 100_000,
  timeout: "10m",
} as const;

/** A plain SQL identifier: the update key is written into the query unquoted (portable across dialects). */
export const SQL_IDENTIFIER = "^[A-Za-z_][A-Za-z0-9_]*$";

export const slingSourceConfigSchema: JSONSchemaType<SlingSourceConfig> = {
  type: "object",
  additionalProperties: false,
  required: ["connection", "stream", "updateKey"],
  properties: {
    connection: { type: "string", minLength: 1 },
    stream: { type: "string", minLength: 1 },
    updateKey: { type: "string", pattern: SQL_IDENTIFIER },
    primaryKey: { type: "array", items: { type: "string", minLength: 1 }, minItems: 1, nullable: true },
    batchSize: { type: "integer", minimum: 1, maximum: 10_000, nullable: true },
    pollIntervalMs: { type: "integer", minimum: 10, maximum: 86_400_000, nullable: true },
    maxRowsPerRun: { type: "integer", minimum: 1, nullable: true },
    timeout: { type: "string", pattern: "^([0-9.]+(ms|s|m|h))+$", nullable: true },
    stateDir: { type: "string", minLength: 1, nullable: true },
    slingBin: { type: "string", minLength: 1, nullable: true },
  },
};

let compiled: ValidateFunction<SlingSourceConfig> | undefined;

/** The config checked (a copy: Ajv coerces types in place); CONFIG_INVALID listing every problem. */
export function checkSlingSourceConfig(config: unknown): SlingSourceConfig {
  const copy: unknown = structuredClone(config);
  const validate = (compiled ??= newAjv().compile(slingSourceConfigSchema));
  if (validate(copy)) return copy;
  const problems = (validate.errors ?? []).map((e) => `sling source config ${formatAjvError(e)}`);
  throw new ConveyorError("CONFIG_INVALID", problems.join("; "), { problems });
}
