/**
 * Mirror configuration: a drop-in superset of mirror-v3's YAML (kebab-case keys).
 * Parse (YAML or JSON) → interpolate ${VAR:-default} → validate against
 * schemas/mirror.schema.json (unknown fields rejected) → check what a schema
 * cannot (unique mirror names, unique (topic, partition), unique destination
 * directories) → normalise into MirrorPlan[] with the flush defaults applied.
 * Every problem is reported at once (CONFIG_INVALID, details.problems).
 */
import * as fs from "node:fs";
import type { ErrorObject, ValidateFunction } from "ajv";
import mirrorSchema from "../../../schemas/mirror.schema.json";
import { formatAjvError, interpolate, newAjv, parseYaml } from "../../config/config-file";
import { ConveyorError } from "../../errors";

export type DestinationType = "filesystem" | "s3" | "kafka";
/** The segment format of filesystem and S3 destinations (mirror-v3's names). */
export type SegmentFormat = "parquet" | "ndjson";
/** The Parquet codec (mirror-v3's names); ignored for NDJSON. */
export type ParquetCompression = "zstd-1" | "zstd-3" | "snappy" | "lz4" | "uncompressed";
/** Kafka destinations: keep the source timestamp, or let the target broker stamp each record. */
export type TimestampMode = "source" | "destination";
/**
 * Kafka destinations: one transaction per flush with a header naming each record's source offset, or
 * mirror-v3's property (target offset = source offset, records as they are), kept by an idempotent producer.
 */
export type KafkaMode = "transactional" | "offset-preserving";

/** The file format, as written (kebab-case). */
export interface MirrorFileConfig {
  destination: {
    type: DestinationType;
    "bootstrap-servers"?: string | string[];
    root?: string;
    endpoint?: string | null;
    region?: string;
    bucket?: string;
    prefix?: string | null;
    format?: SegmentFormat;
    compression?: ParquetCompression;
    "timestamp-mode"?: TimestampMode;
    mode?: KafkaMode;
    flush?: { "max-time-ms"?: number; "max-bytes"?: number; "max-offsets"?: number };
  };
  mirrors: Array<{
    name: string;
    source: { "bootstrap-servers": string | string[]; "group-id"?: string | null };
    topic: string;
    partition: number;
    "destination-name-override"?: string | null;
    "start-offset"?: number;
  }>;
}

export interface FlushPolicy {
  maxOffsets: number;
  maxBytes: number;
  maxTimeMs: number;
}

export const DEFAULT_FLUSH: FlushPolicy = { maxOffsets: 10_000, maxBytes: 8 * 1024 * 1024, maxTimeMs: 5_000 };

export interface DestinationSpec {
  type: DestinationType;
  bootstrapServers: string[];
  root?: string;
  endpoint?: string;
  region?: string;
  bucket?: string;
  prefix: string;
  /** filesystem, s3: the configured format; undefined = the format already there, else parquet. */
  format?: SegmentFormat;
  compression: ParquetCompression;
  timestampMode: TimestampMode;
  kafkaMode: KafkaMode;
}

/** One mirror, normalised: everything the core needs to copy one partition. */
export interface MirrorPlan {
  name: string;
  sourceBrokers: string[];
  groupId: string;
  topic: string;
  partition: number;
  /** Directory / key prefix / target topic name: destination-name-override, or the topic. */
  destinationName: string;
  startOffset: number;
  flush: FlushPolicy;
  destination: DestinationSpec;
}

/** schemas/mirror.schema.json compiled as MirrorFileConfig's validator (config.test.ts keeps them in step). */
let compiled: ValidateFunction<MirrorFileConfig> | undefined;
/** The committed schema's validator, compiled on first use (not when a sidecar merely loads the registry). */
export function mirrorFileConfigValidator(): ValidateFunction<MirrorFileConfig> {
  return (compiled ??= newAjv().compile<MirrorFileConfig>(mirrorSchema));
}

function brokers(value: string | string[]): string[] {
  const list = Array.isArray(value) ? value : value.split(",");
  return list.map((b) => b.trim()).filter((b) => b.length > 0);
}

/** What the schema cannot check: unique mirror names, partitions and destinations. */
export function mirrorConfigProblems(config: MirrorFileConfig): string[] {
  const problems: string[] = [];
  checkUnique(config, problems);
  return problems;
}

function checkUnique(config: MirrorFileConfig, problems: string[]): void {
  const names = new Map<string, number>();
  const partitions = new Map<string, number>();
  const targets = new Map<string, number>();
  config.mirrors.forEach((m, i) => {
    const at = `/mirrors/${i}`;
    const byName = names.get(m.name);
    if (byName !== undefined)
      problems.push(`${at}/name: mirror name "${m.name}" is already used by /mirrors/${byName}`);
    else names.set(m.name, i);
    const tp = `${m.topic}/${m.partition}`;
    const byTp = partitions.get(tp);
    if (byTp !== undefined)
      problems.push(
        `${at}: topic "${m.topic}" partition ${m.partition} is already mirrored by /mirrors/${byTp}`,
      );
    else partitions.set(tp, i);
    const target = `${m["destination-name-override"] ?? m.topic}/${m.partition}`;
    const byTarget = targets.get(target);
    if (byTarget !== undefined && byTp === undefined)
      problems.push(
        `${at}: destination "${target}" is already written by /mirrors/${byTarget} (two writers on one destination)`,
      );
    else targets.set(target, i);
  });
}

export function toPlans(config: MirrorFileConfig): MirrorPlan[] {
  const d = config.destination;
  const destination: DestinationSpec = {
    type: d.type,
    bootstrapServers: d["bootstrap-servers"] === undefined ? [] : brokers(d["bootstrap-servers"]),
    ...(d.root !== undefined ? { root: d.root } : {}),
    ...(d.endpoint !== undefined && d.endpoint !== null ? { endpoint: d.endpoint } : {}),
    ...(d.region !== undefined ? { region: d.region } : {}),
    ...(d.bucket !== undefined ? { bucket: d.bucket } : {}),
    prefix: d.prefix ?? "",
    ...(d.format !== undefined ? { format: d.format } : {}),
    compression: d.compression ?? "zstd-1",
    timestampMode: d["timestamp-mode"] ?? "source",
    kafkaMode: d.mode ?? "transactional",
  };
  const flush: FlushPolicy = {
    maxOffsets: d.flush?.["max-offsets"] ?? DEFAULT_FLUSH.maxOffsets,
    maxBytes: d.flush?.["max-bytes"] ?? DEFAULT_FLUSH.maxBytes,
    maxTimeMs: d.flush?.["max-time-ms"] ?? DEFAULT_FLUSH.maxTimeMs,
  };
  return config.mirrors.map((m) => ({
    name: m.name,
    sourceBrokers: brokers(m.source["bootstrap-servers"]),
    groupId: `${m.source["group-id"] ?? "conveyor-mirror"}.${m.name}`,
    topic: m.topic,
    partition: m.partition,
    destinationName: m["destination-name-override"] ?? m.topic,
    startOffset: m["start-offset"] ?? 0,
    flush,
    destination,
  }));
}

/** Parses and validates a mirror config; throws CONFIG_INVALID listing every problem. */
export function parseMirrorConfig(
  text: string,
  source = "mirror config",
  env: NodeJS.ProcessEnv = process.env,
): MirrorPlan[] {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    throw new ConveyorError("CONFIG_INVALID", `${source}: not valid YAML/JSON: ${(err as Error).message}`, {
      source,
      problems: [`not valid YAML/JSON: ${(err as Error).message}`],
    });
  }
  return mirrorPlansFrom(raw, source, env);
}

/**
 * Validates an already parsed config (a file's content, or the `config` of a
 * `builtin: mirror` pipeline stage): interpolation, schema, uniqueness.
 * Throws CONFIG_INVALID listing every problem.
 */
export function mirrorPlansFrom(
  raw: unknown,
  source = "mirror config",
  env: NodeJS.ProcessEnv = process.env,
): MirrorPlan[] {
  const problems: string[] = [];
  const interpolated = interpolate(raw, env, problems);
  const validateMirrorFileConfig = mirrorFileConfigValidator();
  if (!validateMirrorFileConfig(interpolated)) {
    for (const e of validateMirrorFileConfig.errors ?? []) {
      if (e.keyword === "if") continue; // the failing `then` says what is missing
      problems.push(mirrorAjvError(e, interpolated));
    }
  } else {
    checkUnique(interpolated, problems);
  }
  if (problems.length > 0) {
    const unique = [...new Set(problems)];
    throw new ConveyorError(
      "CONFIG_INVALID",
      `${source}: invalid mirror config:\n  - ${unique.join("\n  - ")}`,
      {
        source,
        problems: unique,
      },
    );
  }
  return toPlans(interpolated as MirrorFileConfig);
}

/** formatAjvError, plus the field of another destination type (a `false` schema in the type's `then`). */
function mirrorAjvError(e: ErrorObject, config: unknown): string {
  if (e.keyword !== "false schema") return formatAjvError(e);
  const field = e.instancePath.split("/").at(-1) ?? "";
  const type = (config as { destination?: { type?: unknown } }).destination?.type;
  return `${e.instancePath.slice(0, -field.length - 1) || "/"}: field "${field}" does not belong to a destination of type ${String(type)}`;
}

export function loadMirrorConfig(file: string, env: NodeJS.ProcessEnv = process.env): MirrorPlan[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    const message =
      (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message;
    throw new ConveyorError("CONFIG_INVALID", `${file}: ${message}`, { source: file, problems: [message] });
  }
  return parseMirrorConfig(text, file, env);
}
