/**
 * The Sling job's configuration: environment variables (the CronJob's interface), each overridable by a
 * flag, resolved once at start-up into a SlingJobConfig. Pure: `resolveSlingConfig(flags, env)` reads no
 * files, so every rule is unit-tested; pipelines.ts does the filesystem part. Every problem is reported
 * at once (CONFIG_INVALID, details.problems), each naming the variable and its flag.
 */
import { ConveyorError } from "../../errors";
import { parseDuration } from "./duration";
import {
  parseOtlpProtocol,
  resolveOtlpExport,
  type OtlpExport,
  type OtlpProtocol,
} from "../../config/otlp-endpoint";
import { DEFAULT_SLING_STATE, parseStatePath } from "./state-path";

export const SYNC_MODES = ["normal", "noop", "backfill"] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

export const DEFAULT_PIPELINE_DIR = "/etc/sling/pipelines";

/** What flags can set; undefined = not given on the command line. Values are raw strings. */
export interface SlingFlags {
  clusterId?: string;
  config?: string;
  pipelineDir?: string;
  state?: string;
  mode?: string;
  maxRetries?: string;
  backoffBase?: string;
  slingBin?: string;
  timeout?: string;
  otlpEndpoint?: string;
  otlpProtocol?: string;
  metricsPort?: string;
  metricsFile?: string;
  pushgateway?: string;
}

export type PipelineSource =
  | { kind: "file"; file: string }
  /** `defaulted`: neither SLING_CONFIG nor PIPELINE_DIR was given, so errors say so. */
  | { kind: "dir"; dir: string; defaulted: boolean };

export interface SlingJobConfig {
  clusterId: string;
  pipelines: PipelineSource;
  /** SLING_STATE as given, and the local file it names. */
  stateSpec: string;
  statePath: string;
  mode: SyncMode;
  maxRetries: number;
  backoffBaseMs: number;
  slingBin: string;
  timeoutMs: number;
  /** Where spans go (OTLP/gRPC or OTLP/HTTP JSON); absent: spans are kept in memory only. */
  otlp?: OtlpExport;
  metricsPort: number;
  metricsFile?: string;
  pushgateway?: string;
}

/**
 * Each setting: flag name (sling-sync-wrapper's where it had one), Conveyor's earlier name as an alias,
 * env var, default. One table, so help text and errors agree.
 */
export const SETTINGS = {
  clusterId: {
    flag: "--mission-cluster-id",
    aliases: ["--cluster-id"],
    env: "MISSION_CLUSTER_ID",
    default: "unknown-cluster",
  },
  config: { flag: "--config", aliases: [], env: "SLING_CONFIG", default: undefined },
  pipelineDir: { flag: "--pipeline-dir", aliases: [], env: "PIPELINE_DIR", default: DEFAULT_PIPELINE_DIR },
  state: { flag: "--state", aliases: [], env: "SLING_STATE", default: DEFAULT_SLING_STATE },
  mode: { flag: "--mode", aliases: [], env: "SYNC_MODE", default: "normal" },
  maxRetries: { flag: "--max-retries", aliases: [], env: "SYNC_MAX_RETRIES", default: "3" },
  backoffBase: { flag: "--backoff-base", aliases: [], env: "SYNC_BACKOFF_BASE", default: "5s" },
  slingBin: { flag: "--sling-binary", aliases: ["--sling-bin"], env: "SLING_BIN", default: "sling" },
  timeout: { flag: "--sling-timeout", aliases: ["--timeout"], env: "SLING_TIMEOUT", default: "30m" },
  otlpEndpoint: {
    flag: "--otel-endpoint",
    aliases: ["--otlp-endpoint"],
    env: "OTEL_EXPORTER_OTLP_ENDPOINT",
    default: undefined,
  },
  otlpProtocol: {
    flag: "--otlp-protocol",
    aliases: [],
    env: "OTEL_EXPORTER_OTLP_PROTOCOL",
    default: undefined,
  },
  metricsPort: { flag: "--metrics-port", aliases: [], env: "SLING_METRICS_PORT", default: "0" },
  metricsFile: { flag: "--metrics-file", aliases: [], env: "SLING_METRICS_FILE", default: undefined },
  pushgateway: { flag: "--pushgateway", aliases: [], env: "PROMETHEUS_PUSHGATEWAY_URL", default: undefined },
} as const satisfies {
  [K in keyof SlingFlags]-?: {
    flag: string;
    aliases: readonly string[];
    env: string;
    default: string | undefined;
  };
};

/** The per-signal variants the OpenTelemetry conventions put before the general ones. */
const TRACES_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
const TRACES_PROTOCOL_ENV = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL";

type Setting = keyof typeof SETTINGS;

function label(key: Setting): string {
  return `${SETTINGS[key].env} / ${SETTINGS[key].flag}`;
}

/** Flag, else non-empty env var (Kubernetes often sets empty values), else undefined. */
function given(key: Setting, flags: SlingFlags, env: NodeJS.ProcessEnv): string | undefined {
  const f = flags[key];
  if (f !== undefined) return f;
  return envValue(env, SETTINGS[key].env);
}

function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const e = env[name];
  return e !== undefined && e.trim() !== "" ? e.trim() : undefined;
}

function value(key: Setting, flags: SlingFlags, env: NodeJS.ProcessEnv): string | undefined {
  return given(key, flags, env) ?? SETTINGS[key].default;
}

function integer(key: Setting, text: string, min: number, max: number, problems: string[]): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min || n > max) {
    problems.push(`${label(key)}: "${text}" must be a whole number from ${min} to ${max}`);
    return min;
  }
  return n;
}

function duration(key: Setting, text: string, problems: string[], minMs = 0): number {
  try {
    const ms = parseDuration(text);
    if (ms < minMs) problems.push(`${label(key)}: "${text}" must be at least ${minMs} ms`);
    return ms;
  } catch (err) {
    problems.push(`${label(key)}: ${(err as Error).message}`);
    return 0;
  }
}

function url(key: Setting, text: string | undefined, problems: string[]): string | undefined {
  if (text === undefined) return undefined;
  try {
    const u = new URL(text);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("not http(s)");
  } catch {
    problems.push(`${label(key)}: "${text}" must be an http(s) URL (e.g. http://pushgateway:9091)`);
  }
  return text.replace(/\/+$/, "");
}

/**
 * Where spans go. A flag wins over both env vars; without one, the per-signal variable
 * (OTEL_EXPORTER_OTLP_TRACES_*) wins over the general one, as the OpenTelemetry conventions say.
 */
function otlpExport(flags: SlingFlags, env: NodeJS.ProcessEnv, problems: string[]): OtlpExport | undefined {
  let protocol: OtlpProtocol | undefined;
  const protocolText =
    flags.otlpProtocol ?? envValue(env, TRACES_PROTOCOL_ENV) ?? given("otlpProtocol", flags, env);
  if (protocolText !== undefined) {
    try {
      protocol = parseOtlpProtocol(protocolText);
    } catch (err) {
      const name = flags.otlpProtocol === undefined && envValue(env, TRACES_PROTOCOL_ENV) !== undefined;
      problems.push(`${name ? TRACES_PROTOCOL_ENV : label("otlpProtocol")}: ${(err as Error).message}`);
      return undefined;
    }
  }
  const tracesEndpoint = flags.otlpEndpoint === undefined ? envValue(env, TRACES_ENDPOINT_ENV) : undefined;
  const endpoint = given("otlpEndpoint", flags, env);
  try {
    return resolveOtlpExport({
      ...(tracesEndpoint !== undefined ? { tracesEndpoint } : {}),
      ...(endpoint !== undefined ? { endpoint } : {}),
      ...(protocol !== undefined ? { protocol } : {}),
    });
  } catch (err) {
    problems.push(
      `${tracesEndpoint !== undefined ? TRACES_ENDPOINT_ENV : label("otlpEndpoint")}: ${(err as Error).message}`,
    );
    return undefined;
  }
}

/**
 * Resolves flags over env over defaults. `forcedMode` is the subcommand's mode (`noop`, `backfill`),
 * which wins over SYNC_MODE; `run` passes undefined and honours SYNC_MODE / --mode.
 */
export function resolveSlingConfig(
  flags: SlingFlags,
  env: NodeJS.ProcessEnv = process.env,
  forcedMode?: SyncMode,
): SlingJobConfig {
  const problems: string[] = [];

  const configFile = given("config", flags, env);
  const dirGiven = given("pipelineDir", flags, env);
  let pipelines: PipelineSource;
  if (configFile !== undefined && dirGiven !== undefined) {
    problems.push(
      `${label("config")} ("${configFile}") and ${label("pipelineDir")} ("${dirGiven}") are both set: ` +
        "set one (a single replication file, or a directory of them)",
    );
    pipelines = { kind: "file", file: configFile };
  } else if (configFile !== undefined) {
    pipelines = { kind: "file", file: configFile };
  } else {
    pipelines = { kind: "dir", dir: dirGiven ?? DEFAULT_PIPELINE_DIR, defaulted: dirGiven === undefined };
  }

  const modeText = forcedMode ?? value("mode", flags, env)!;
  if (!(SYNC_MODES as readonly string[]).includes(modeText)) {
    problems.push(`${label("mode")}: "${modeText}" must be one of ${SYNC_MODES.join(", ")}`);
  }

  const stateSpec = value("state", flags, env)!;
  let statePath = "";
  try {
    statePath = parseStatePath(stateSpec);
  } catch (err) {
    problems.push(`${label("state")}: ${(err as Error).message}`);
  }

  const slingBin = value("slingBin", flags, env)!;
  const config: SlingJobConfig = {
    clusterId: value("clusterId", flags, env)!,
    pipelines,
    stateSpec,
    statePath,
    mode: modeText as SyncMode,
    maxRetries: integer("maxRetries", value("maxRetries", flags, env)!, 0, 100, problems),
    backoffBaseMs: duration("backoffBase", value("backoffBase", flags, env)!, problems),
    slingBin,
    timeoutMs: duration("timeout", value("timeout", flags, env)!, problems, 1),
    metricsPort: integer("metricsPort", value("metricsPort", flags, env)!, 0, 65535, problems),
  };
  const otlp = otlpExport(flags, env, problems);
  if (otlp !== undefined) config.otlp = otlp;
  const push = url("pushgateway", given("pushgateway", flags, env), problems);
  if (push !== undefined) config.pushgateway = push;
  const metricsFile = given("metricsFile", flags, env);
  if (metricsFile !== undefined) config.metricsFile = metricsFile;
  if (slingBin.trim() === "") problems.push(`${label("slingBin")}: must name the Sling binary`);

  if (problems.length > 0) {
    throw new ConveyorError(
      "CONFIG_INVALID",
      `invalid Sling job configuration:\n  - ${problems.join("\n  - ")}`,
      {
        problems,
      },
    );
  }
  return config;
}
