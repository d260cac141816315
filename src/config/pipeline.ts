/**
 * Pipeline definitions: parse (YAML or JSON), interpolate ${VAR:-default},
 * validate against schemas/pipeline.schema.json (unknown fields rejected),
 * then check what a schema cannot: built-ins exist and sit in the right place,
 * stage names are unique. Every error is reported, nothing half-applied.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ErrorObject, ValidateFunction } from "ajv";
import pipelineSchema from "../../schemas/pipeline.schema.json";
import { builtinKindOf, builtinKinds, builtinNames, findBuiltin } from "../builtins/registry";
import { ConveyorError } from "../errors";
import { formatAjvError, interpolate, newAjv, parseYaml, unresolvedVariables } from "./config-file";
import { isPipelineResource, resourceProblem, unwrapPipelineResource } from "./pipeline-resource";
import type { StageKind } from "../stages/contract";

export interface StageRef {
  stage?: string;
  builtin?: string;
  name?: string;
  config?: Record<string, unknown>;
}

export interface DlqSpec {
  sink: StageRef;
  maxRetries?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** Retries of failed records at one stage; see the `dlq` block. */
export interface RetryPolicy {
  maxRetries: number;
  backoffMs: number;
  maxBackoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 3, backoffMs: 100, maxBackoffMs: 30_000 };

/** The `settings` block as written. */
export interface SettingsBlock {
  batchSize: number;
  maxInFlightRecords: number;
  maxInFlightBytes: number;
  maxRecordBytes: number;
  stageTimeoutMs: number;
  /**
   * "key": records with the same key are never in flight together, so every
   * stage sees each key's records in source order (across retries, failover
   * and scale-out); "none" (default): as many in flight as credits allow.
   */
  ordering: Ordering;
}

export type Ordering = "none" | "key";

/** Everything the data path needs to run a pipeline: `settings` and the retry policy, defaults filled in. */
export interface PipelineSettings extends SettingsBlock {
  retry: RetryPolicy;
}

export interface PipelineSpec {
  name: string;
  description?: string;
  source: StageRef;
  steps?: StageRef[];
  sink: StageRef;
  dlq?: DlqSpec;
  settings?: Partial<SettingsBlock>;
}

export const DEFAULT_SETTINGS: PipelineSettings = {
  batchSize: 100,
  maxInFlightRecords: 10_000,
  maxInFlightBytes: 64 * 1024 * 1024,
  maxRecordBytes: 4 * 1024 * 1024,
  stageTimeoutMs: 30_000,
  ordering: "none",
  retry: DEFAULT_RETRY,
};

/** The default name of a built-in dead-letter sink (the main sink often uses the same built-in). */
export const DEFAULT_DLQ_NAME = "dlq";

/** One stage of a pipeline, in order, as the router and sidecars see it. */
export interface PlannedStage {
  index: number;
  name: string;
  kind: StageKind;
  builtin?: string;
  config?: Record<string, unknown>;
  /** The pipeline's dead-letter sink (always the last stage). */
  deadLetter?: true;
}

/** Compiled on first use: a sidecar imports this module for its settings and never validates a pipeline. */
let compiled: ValidateFunction<PipelineSpec> | undefined;
const pipelineValidator = (): ValidateFunction<PipelineSpec> =>
  (compiled ??= newAjv().compile<PipelineSpec>(pipelineSchema));

export function stageName(ref: StageRef): string {
  return ref.stage ?? ref.name ?? ref.builtin ?? "";
}

/** The pipeline's stages in order: source, steps…, sink, then the dead-letter sink when there is one. */
export function pipelineStages(spec: PipelineSpec): PlannedStage[] {
  const refs: Array<[StageRef, StageKind]> = [
    [spec.source, "source"],
    ...(spec.steps ?? []).map((s): [StageRef, StageKind] => [s, "transform"]),
    [spec.sink, "sink"],
  ];
  const stages: PlannedStage[] = refs.map(([ref, kind], index) => ({
    index,
    name: stageName(ref),
    kind,
    ...(ref.builtin ? { builtin: ref.builtin, config: ref.config ?? {} } : {}),
  }));
  if (spec.dlq) {
    const ref = spec.dlq.sink;
    stages.push({
      index: stages.length,
      name: ref.builtin !== undefined && ref.name === undefined ? DEFAULT_DLQ_NAME : stageName(ref),
      kind: "sink",
      ...(ref.builtin ? { builtin: ref.builtin, config: ref.config ?? {} } : {}),
      deadLetter: true,
    });
  }
  return stages;
}

export function pipelineSettings(spec: PipelineSpec): PipelineSettings {
  const dlq = spec.dlq;
  return {
    ...DEFAULT_SETTINGS,
    ...spec.settings,
    retry: {
      maxRetries: dlq?.maxRetries ?? DEFAULT_RETRY.maxRetries,
      backoffMs: dlq?.backoffMs ?? DEFAULT_RETRY.backoffMs,
      maxBackoffMs: dlq?.maxBackoffMs ?? DEFAULT_RETRY.maxBackoffMs,
    },
  };
}

function pipelineAjvError(e: ErrorObject): string {
  if (e.keyword === "oneOf")
    return `${e.instancePath || "/"}: a stage needs exactly one of "stage" or "builtin"`;
  return formatAjvError(e);
}

function checkStages(spec: PipelineSpec, problems: string[]): void {
  const seen = new Map<string, number>();
  for (const stage of pipelineStages(spec)) {
    const where = stage.deadLetter
      ? "/dlq/sink"
      : stage.index === 0
        ? "/source"
        : stage.kind === "sink"
          ? "/sink"
          : `/steps/${stage.index - 1}`;
    if (seen.has(stage.name))
      problems.push(`${where}: stage "${stage.name}" appears twice; give built-ins distinct names`);
    seen.set(stage.name, stage.index);
    if (stage.builtin !== undefined) checkBuiltin(stage.builtin, stage.kind, stage.config, where, problems);
  }
}

function checkBuiltin(
  name: string,
  kind: StageKind,
  config: unknown,
  where: string,
  problems: string[],
): void {
  const builtin = findBuiltin(name);
  if (builtin === undefined) {
    problems.push(`${where}: unknown builtin "${name}" (known: ${builtinNames().join(", ")})`);
    return;
  }
  const stage = builtinKindOf(builtin, kind);
  if (stage === undefined) {
    problems.push(
      `${where}: builtin "${name}" is a ${builtinKinds(builtin).join(" or ")}, but this position needs a ${kind}`,
    );
    return;
  }
  for (const problem of stage.check(config ?? {}))
    problems.push(`${where}/config${problem.replace(/^\/: /, ": ")}`);
}

/**
 * Parses and validates one pipeline definition, ${VAR} resolved from `env`
 * (a file this process loads itself). Throws CONFIG_INVALID listing every
 * problem found (details.problems), prefixed with `source` when given.
 */
export function parsePipeline(
  text: string,
  source = "pipeline",
  env: NodeJS.ProcessEnv = process.env,
): PipelineSpec {
  return parseWith(text, source, (raw, problems) => interpolate(raw, env, problems));
}

/**
 * Parses and validates a definition received over the Admin API. Nothing is
 * interpolated: the router's environment never reaches a definition someone
 * else sent (it would come back through ListPipelines), so a ${VAR} still in
 * it is a problem naming the variable.
 */
export function parseReceivedPipeline(text: string, source = "pipeline"): PipelineSpec {
  return parseWith(text, source, (raw, problems) => {
    problems.push(...unresolvedVariables(raw));
    return raw;
  });
}

function parseWith(
  text: string,
  source: string,
  resolve: (raw: object, problems: string[]) => unknown,
): PipelineSpec {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    throw new ConveyorError("CONFIG_INVALID", `${source}: not valid YAML/JSON: ${(err as Error).message}`, {
      source,
    });
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConveyorError(
      "CONFIG_INVALID",
      `${source}: a pipeline must be a mapping with name, source and sink`,
      { source },
    );
  }
  const problems: string[] = [];
  let resolved = resolve(raw, problems);
  // The Kubernetes shape (apiVersion, kind, metadata, spec): its spec meets the same schema and checks.
  const resource = isPipelineResource(resolved as Record<string, unknown>);
  const flatProblems: string[] = [];
  if (resource) {
    const unwrapped = unwrapPipelineResource(resolved as Record<string, unknown>);
    problems.push(...unwrapped.problems);
    resolved = unwrapped.flat;
  }
  const validateSchema = pipelineValidator();
  if (!validateSchema(resolved)) {
    for (const e of validateSchema.errors ?? []) flatProblems.push(pipelineAjvError(e));
  } else {
    checkStages(resolved, flatProblems);
  }
  problems.push(...(resource ? flatProblems.map(resourceProblem) : flatProblems));
  if (problems.length > 0) {
    const unique = [...new Set(problems)];
    throw new ConveyorError("CONFIG_INVALID", `${source}: invalid pipeline:\n  - ${unique.join("\n  - ")}`, {
      source,
      problems: unique,
    });
  }
  return resolved as PipelineSpec;
}

export function loadPipelineFile(file: string, env: NodeJS.ProcessEnv = process.env): PipelineSpec {
  return parsePipeline(fs.readFileSync(file, "utf8"), file, env);
}

const PIPELINE_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

/** Pipeline files of a directory, in name order. */
export function pipelineFilesIn(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => PIPELINE_EXTENSIONS.has(path.extname(f)))
    .sort()
    .map((f) => path.join(dir, f));
}

export interface LoadResult {
  pipelines: PipelineSpec[];
  errors: ConveyorError[];
}

/** Loads a file or every pipeline file of a directory; duplicate names are errors. */
export function loadPipelines(fileOrDir: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  const files = fs.statSync(fileOrDir).isDirectory() ? pipelineFilesIn(fileOrDir) : [fileOrDir];
  const pipelines: PipelineSpec[] = [];
  const errors: ConveyorError[] = [];
  const byName = new Map<string, string>();
  for (const file of files) {
    try {
      const spec = loadPipelineFile(file, env);
      const other = byName.get(spec.name);
      if (other) {
        errors.push(
          new ConveyorError(
            "CONFIG_INVALID",
            `${file}: pipeline name "${spec.name}" is already used by ${other}`,
          ),
        );
        continue;
      }
      byName.set(spec.name, file);
      pipelines.push(spec);
    } catch (err) {
      if (err instanceof ConveyorError) errors.push(err);
      else throw err;
    }
  }
  return { pipelines, errors };
}
