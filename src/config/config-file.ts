/**
 * What every config file of the project shares: ${VAR:-default} interpolation,
 * the Ajv options, and Ajv errors in words a user acts on. Used by pipelines
 * (config/pipeline.ts) and the mirror (builtins/mirror/config.ts).
 */
import type Ajv from "ajv";
import type { ErrorObject } from "ajv";
import type { DocumentOptions, ParseOptions, SchemaOptions, ToJSOptions } from "yaml";

// strictRequired is off: `oneOf: [{ required: ["stage"] }, { required: ["builtin"] }]` is the draft-07
// idiom for "exactly one of", and that check rejects it (the module failed to load).
// coerceTypes: ${VAR:-100} interpolates to the string "100"; the schema's type makes it a number.
export const AJV_OPTIONS = {
  allErrors: true,
  strict: true,
  strictRequired: false,
  allowUnionTypes: true,
  coerceTypes: true,
} as const;

/**
 * A new Ajv with AJV_OPTIONS. ajv (63 modules) and yaml (72) are required on first use, not at
 * import: a sidecar imports the config modules for their types and defaults, and checks a config
 * only when a pipeline places a built-in on it (docs/benchmarks.md, "Start-up").
 */
export function newAjv(): Ajv {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ajv = require("ajv") as typeof import("ajv");
  return new ajv.default(AJV_OPTIONS);
}

/** `YAML.parse`, with yaml required on first use (see newAjv). */
export function parseYaml(
  text: string,
  options?: ParseOptions & DocumentOptions & SchemaOptions & ToJSOptions,
): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const yaml = require("yaml") as typeof import("yaml");
  return yaml.parse(text, options) as unknown;
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}/g;

/** Replaces ${VAR} and ${VAR:-default} in every string value. */
export function interpolate(value: unknown, env: NodeJS.ProcessEnv, problems: string[], at = ""): unknown {
  if (typeof value === "string") {
    return value.replace(VARIABLE, (_m, name: string, hasDefault, def: string) => {
      const v = env[name];
      if (v !== undefined && v !== "") return v;
      if (hasDefault !== undefined) return def;
      problems.push(
        `${at || "/"}: environment variable ${name} is not set and has no default (use \${${name}:-default})`,
      );
      return "";
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, problems, `${at}/${i}`));
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, interpolate(v, env, problems, `${at}/${k}`)]),
    );
  }
  return value;
}

/**
 * One problem per ${VAR} or ${VAR:-default} left in a string value: for a
 * definition received over the Admin API, which the router never resolves
 * with its own environment (`conveyor apply` resolves it with the applier's).
 */
export function unresolvedVariables(value: unknown, at = ""): string[] {
  if (typeof value === "string") {
    return [...value.matchAll(VARIABLE)].map(
      ([, name]) =>
        `${at || "/"}: \${${name}} is not resolved: the router never reads its own environment for a definition ` +
        `received over the API; resolve it before sending (conveyor apply resolves \${VAR} from the applier's environment)`,
    );
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => unresolvedVariables(v, `${at}/${i}`));
  if (value && typeof value === "object")
    return Object.entries(value).flatMap(([k, v]) => unresolvedVariables(v, `${at}/${k}`));
  return [];
}

/** One Ajv error as "<json path>: <what is wrong>". */
export function formatAjvError(e: ErrorObject): string {
  const where = e.instancePath || "/";
  switch (e.keyword) {
    case "additionalProperties":
      return `${where}: unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
    case "required":
      return `${where}: missing required field "${(e.params as { missingProperty: string }).missingProperty}"`;
    case "enum":
      return `${where}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(", ")}`;
    default:
      return `${where}: ${e.message ?? e.keyword}`;
  }
}
