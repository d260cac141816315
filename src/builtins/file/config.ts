import type { JSONSchemaType } from "ajv";

export interface FileSinkConfig {
  /** Directory that receives <pipeline>-<sidecar>.ndjson. */
  dir: string;
  /** fsync before confirming a batch (default true). */
  fsync?: boolean;
}

export const fileSinkConfigSchema: JSONSchemaType<FileSinkConfig> = {
  type: "object",
  additionalProperties: false,
  required: ["dir"],
  properties: {
    dir: { type: "string", minLength: 1 },
    fsync: { type: "boolean", nullable: true },
  },
};
