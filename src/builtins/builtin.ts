/**
 * What a built-in is: a name and, per stage kind it can be, a config schema
 * and a factory. `builtinKind` ties the two together: the config type C
 * follows from the schema (ajv's `JSONSchemaType<C>`), the compiled schema
 * narrows an untyped config to C, and only then is `create(config: C, ctx)`
 * called, so neither the registry nor the sidecar needs a cast or a name check.
 *
 * Each built-in's folder exports one `Builtin` from its `index.ts`
 * (src/builtins/{file,mirror,relay,sling}); src/builtins/registry.ts lists them.
 * The index files import only the light config modules; the stage modules
 * (which bring kafkajs, @aws-sdk, the Sling runner…) are loaded inside `create`.
 */
import type Ajv from "ajv";
import type { AnySchema, JSONSchemaType, ValidateFunction } from "ajv";
import { formatAjvError, newAjv } from "../config/config-file";
import { ConveyorError } from "../errors";
import type { SinkStage, SourceReader, StageKind, TransformStage } from "../stages/contract";
import type { Logger } from "../telemetry/log";

/** What a built-in of each kind is once created: a source is a reader factory (one reader per read). */
export interface StageOfKind {
  source: SourceReader;
  transform: TransformStage;
  sink: SinkStage;
}

/** What the sidecar gives a built-in it creates. */
export interface BuiltinContext {
  pipeline: string;
  stage: string;
  sidecarId: string;
  /** This stage's own state directory (a built-in's config may name another). */
  stateDir: string;
  log: Logger;
}

/**
 * A config schema: written in TypeScript as `JSONSchemaType<C>`, or a committed
 * JSON Schema file with a function that compiles it with ajv's `compile<C>` on
 * first use (a JSON import cannot carry its type; the built-in's golden test
 * keeps the file and C in step). Nothing is compiled when the registry loads.
 */
export type ConfigSchema<C> = JSONSchemaType<C> | { json: AnySchema; validator(): ValidateFunction<C> };

/** One kind of stage a built-in can be, as the built-in declares it. */
export interface BuiltinKindSpec<K extends StageKind, C> {
  description: string;
  schema: ConfigSchema<C>;
  /** What the schema cannot check (e.g. unique names), as "<json path>: <what is wrong>". */
  refine?(config: C): string[];
  /** Creates the stage from a config the schema accepted. */
  create(config: C, ctx: BuiltinContext): StageOfKind[K];
}

/** One kind of stage a built-in can be, with its config type sealed in. */
export interface BuiltinKind<K extends StageKind> {
  readonly kind: K;
  readonly description: string;
  /** The config's JSON Schema (for docs and tools). */
  readonly schema: AnySchema;
  /** The config's problems as "<json path>: <what is wrong>"; empty when it is valid. */
  check(config: unknown): string[];
  /** Validates the config (CONFIG_INVALID naming every bad field) and creates the stage. */
  create(config: unknown, ctx: BuiltinContext): StageOfKind[K];
}

export interface Builtin {
  /** The name a pipeline uses in `builtin:`. */
  readonly name: string;
  /** The kinds of stage it can be (at least one). */
  readonly kinds: { readonly [K in StageKind]?: BuiltinKind<K> };
}

let ajv: Ajv | undefined; // made when a built-in's config is first checked

export function builtinKind<K extends StageKind, C>(kind: K, spec: BuiltinKindSpec<K, C>): BuiltinKind<K> {
  let compiled: ValidateFunction<C> | undefined;
  const validator = (): ValidateFunction<C> => {
    const schema = spec.schema;
    compiled ??= isLazy(schema) ? schema.validator() : (ajv ??= newAjv()).compile(schema);
    return compiled;
  };
  const problemsOf = (validate: ValidateFunction<C>): string[] => [
    // an `if` error adds nothing: the failing `then` says what is missing
    ...new Set((validate.errors ?? []).filter((e) => e.keyword !== "if").map(formatAjvError)),
  ];
  return {
    kind,
    description: spec.description,
    schema: isLazy(spec.schema) ? spec.schema.json : spec.schema,
    check(config) {
      const validate = validator();
      if (!validate(config)) return problemsOf(validate);
      return spec.refine?.(config) ?? [];
    },
    create(config, ctx) {
      const validate = validator();
      if (!validate(config)) throw invalidConfig(kind, ctx, problemsOf(validate));
      const problems = spec.refine?.(config) ?? [];
      if (problems.length > 0) throw invalidConfig(kind, ctx, problems);
      return spec.create(config, ctx);
    },
  };
}

function isLazy<C>(s: ConfigSchema<C>): s is { json: AnySchema; validator(): ValidateFunction<C> } {
  return typeof (s as { validator?: unknown }).validator === "function";
}

function invalidConfig(kind: StageKind, ctx: BuiltinContext, problems: string[]): ConveyorError {
  return new ConveyorError(
    "CONFIG_INVALID",
    `pipeline "${ctx.pipeline}" stage "${ctx.stage}": invalid ${kind} config:\n  - ${problems.join("\n  - ")}`,
    { pipeline: ctx.pipeline, stage: ctx.stage, problems },
  );
}
