/**
 * Pipelines in the Kubernetes style (the shape the original conveyor-etl router used):
 *
 *   apiVersion: conveyor.dev/v1
 *   kind: Pipeline
 *   metadata: { name, namespace?, labels?, annotations? }
 *   spec: { description?, source, steps?, sink, dlq?, settings? }
 *
 * A document with `apiVersion` or `kind` is read as one: the envelope is checked here (unknown keys
 * rejected), then `{ name: metadata.name, ...spec }` goes through the same pipeline schema and checks as
 * the flat shape, and their problems are given back at the resource's paths (`/spec/source/…`,
 * `/metadata/name`). Pure.
 */

export const PIPELINE_API_VERSION = "conveyor.dev/v1";
export const PIPELINE_KIND = "Pipeline";

const ENVELOPE_KEYS = ["apiVersion", "kind", "metadata", "spec"];
const METADATA_KEYS = ["name", "namespace", "labels", "annotations"];

export interface UnwrappedResource {
  /** The flat pipeline: metadata.name as name, the spec's fields beside it. */
  flat: Record<string, unknown>;
  /** What is wrong with the envelope itself. */
  problems: string[];
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** True when `raw` is meant as a resource (it names an apiVersion or a kind). */
export function isPipelineResource(raw: Record<string, unknown>): boolean {
  return "apiVersion" in raw || "kind" in raw;
}

export function unwrapPipelineResource(raw: Record<string, unknown>): UnwrappedResource {
  const problems: string[] = [];
  for (const key of Object.keys(raw)) {
    if (!ENVELOPE_KEYS.includes(key))
      problems.push(`/: unknown field "${key}" (a Pipeline has ${ENVELOPE_KEYS.join(", ")})`);
  }
  if (raw.apiVersion !== PIPELINE_API_VERSION) {
    problems.push(`/apiVersion: must be "${PIPELINE_API_VERSION}"${"apiVersion" in raw ? "" : " (missing)"}`);
  }
  if (raw.kind !== PIPELINE_KIND)
    problems.push(`/kind: must be "${PIPELINE_KIND}"${"kind" in raw ? "" : " (missing)"}`);
  const flat: Record<string, unknown> = {};
  const metadata = raw.metadata;
  if (!isMapping(metadata)) {
    problems.push(
      `/metadata: ${metadata === undefined ? 'missing required field "metadata"' : "must be a mapping"}`,
    );
  } else {
    for (const key of Object.keys(metadata)) {
      if (!METADATA_KEYS.includes(key)) problems.push(`/metadata: unknown field "${key}"`);
    }
    for (const key of ["labels", "annotations"] as const) {
      const m = metadata[key];
      if (m !== undefined && (!isMapping(m) || Object.values(m).some((v) => typeof v !== "string"))) {
        problems.push(`/metadata/${key}: must map names to strings`);
      }
    }
    if (metadata.namespace !== undefined && typeof metadata.namespace !== "string") {
      problems.push("/metadata/namespace: must be a string");
    }
    if (metadata.name !== undefined) flat.name = metadata.name; // else: the schema's "missing name"
  }
  const spec = raw.spec;
  if (!isMapping(spec)) {
    problems.push(`/spec: ${spec === undefined ? 'missing required field "spec"' : "must be a mapping"}`);
  } else {
    if ("name" in spec) problems.push('/spec: unknown field "name" (the name is metadata.name)');
    for (const [key, value] of Object.entries(spec)) if (key !== "name") flat[key] = value;
  }
  return { flat, problems };
}

/** A problem found in the flat pipeline (`<path>: <message>`), at its place in the resource. */
export function resourceProblem(problem: string): string {
  const m = /^(\/[^:]*): (.*)$/s.exec(problem);
  if (!m) return problem;
  const [, where, message] = m;
  if (where === "/") {
    return message === 'missing required field "name"' ? `/metadata: ${message}` : `/spec: ${message}`;
  }
  if (where === "/name" || where.startsWith("/name/")) return `/metadata${where}: ${message}`;
  return `/spec${where}: ${message}`;
}
