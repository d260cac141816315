/** Config of the `sling` built-in sink (`sink: { builtin: sling, config: {...} }` in a pipeline). */
import type { JSONSchemaType } from "ajv";

export const SINK_MODES = ["snapshot", "incremental", "full-refresh", "truncate"] as const;
export type SlingSinkMode = (typeof SINK_MODES)[number];

export interface SlingSinkConfig {
  /** Sling target connection: a name Sling knows (env var holding a URL) or the URL itself. */
  target: string;
  /** Target table (`schema.table`) or file URL (`file:///data/out.csv`). */
  object: string;
  /** Load mode; default `snapshot` (append every batch), or `incremental` when primaryKey is set (upsert). */
  mode?: SlingSinkMode;
  /** Columns that identify a row, for `incremental` (upsert). */
  primaryKey?: string[];
  /** Sling binary; default SLING_BIN, else `sling` on PATH. */
  slingBin?: string;
  /** Kill a batch's Sling run after this long (ms, s, m, h); default 5m. The batch is retried. */
  timeout?: string;
}

export const slingSinkConfigSchema: JSONSchemaType<SlingSinkConfig> = {
  type: "object",
  additionalProperties: false,
  required: ["target", "object"],
  properties: {
    target: { type: "string", minLength: 1 },
    object: { type: "string", minLength: 1 },
    mode: { type: "string", enum: SINK_MODES, nullable: true },
    primaryKey: { type: "array", items: { type: "string", minLength: 1 }, minItems: 1, nullable: true },
    slingBin: { type: "string", minLength: 1, nullable: true },
    timeout: { type: "string", pattern: "^([0-9.]+(ms|s|m|h))+$", nullable: true },
  },
};
