/**
 * The OpenTelemetry environment variables Conveyor honours, parsed once (pure: the environment is passed
 * in). Tracing is on only when an OTLP endpoint is set; without one nothing of the SDK is loaded.
 *
 *   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT | OTEL_EXPORTER_OTLP_ENDPOINT   where spans go (unset: tracing off)
 *   OTEL_EXPORTER_OTLP_TRACES_PROTOCOL | OTEL_EXPORTER_OTLP_PROTOCOL   grpc | http/protobuf | http/json
 *   OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG                        the spec's sampler names and ratio
 *   OTEL_SDK_DISABLED=true, OTEL_TRACES_EXPORTER=none                   tracing off
 *   OTEL_SERVICE_NAME                                                   default conveyor-<command>
 *   OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_MAX_QUEUE_SIZE                    export every N ms; spans buffered at most
 */
import { parseOtlpProtocol, resolveOtlpExport, type OtlpExport, type OtlpProtocol } from "./otlp-endpoint";

export const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/** `url` and `protocol` (OtlpExport): resolved by otlp-endpoint.ts, the parser the Sling runner uses too. */
export interface TracingSettings extends OtlpExport {
  sampler: SamplerName;
  /** The ratio of traceidratio samplers (0..1); 1 for the others. */
  ratio: number;
  serviceName: string;
  /** Delay between two exports of the batching span processor, ms (spec default 5000). */
  scheduleDelayMs: number;
  /** Spans buffered at most; more are dropped (spec default 2048): tracing never grows memory unbounded. */
  maxQueueSize: number;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new OtelEnvError(`${name} "${raw}" is not a positive integer`);
  return n;
}

export class OtelEnvError extends Error {}

/** A non-empty value (Kubernetes often sets empty ones), trimmed; else undefined. */
function envValue(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const v = env[name]?.trim();
  return v ? v : undefined;
}

/** Where spans go, by the spec's precedence (the per-signal variables first). */
function otlpExportOf(env: NodeJS.ProcessEnv): OtlpExport | undefined {
  const tracesEndpoint = envValue(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  const endpoint = envValue(env, "OTEL_EXPORTER_OTLP_ENDPOINT");
  const protocolName = envValue(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
    ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
    : "OTEL_EXPORTER_OTLP_PROTOCOL";
  const protocolText = envValue(env, protocolName);
  let protocol: OtlpProtocol | undefined;
  try {
    if (protocolText !== undefined) protocol = parseOtlpProtocol(protocolText);
  } catch (err) {
    throw new OtelEnvError(`${protocolName}: ${(err as Error).message}`);
  }
  try {
    return resolveOtlpExport({
      ...(tracesEndpoint !== undefined ? { tracesEndpoint } : {}),
      ...(endpoint !== undefined ? { endpoint } : {}),
      ...(protocol !== undefined ? { protocol } : {}),
    });
  } catch (err) {
    const name =
      tracesEndpoint !== undefined ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT" : "OTEL_EXPORTER_OTLP_ENDPOINT";
    throw new OtelEnvError(`${name}: ${(err as Error).message}`);
  }
}

function isOneOf<T extends string>(values: readonly T[], v: string): v is T {
  return (values as readonly string[]).includes(v);
}

/** The tracing settings of `env`, or undefined when tracing is off. Throws OtelEnvError on a bad value. */
export function tracingSettings(
  env: NodeJS.ProcessEnv,
  defaultServiceName: string,
): TracingSettings | undefined {
  if ((env.OTEL_SDK_DISABLED ?? "").trim().toLowerCase() === "true") return undefined;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "otlp").split(",").map((s) => s.trim());
  if (exporters.includes("none")) return undefined;
  const otlp = otlpExportOf(env);
  if (!otlp) return undefined;

  const sampler = (env.OTEL_TRACES_SAMPLER ?? "parentbased_always_on").trim();
  if (!isOneOf(SAMPLERS, sampler))
    throw new OtelEnvError(`OTEL_TRACES_SAMPLER "${sampler}" is not one of ${SAMPLERS.join(", ")}`);
  let ratio = 1;
  if (sampler.endsWith("traceidratio") && env.OTEL_TRACES_SAMPLER_ARG !== undefined) {
    ratio = Number(env.OTEL_TRACES_SAMPLER_ARG);
    if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1)
      throw new OtelEnvError(
        `OTEL_TRACES_SAMPLER_ARG "${env.OTEL_TRACES_SAMPLER_ARG}" is not a ratio between 0 and 1`,
      );
  }
  const serviceName = env.OTEL_SERVICE_NAME?.trim() || defaultServiceName;
  return {
    ...otlp,
    sampler,
    ratio,
    serviceName,
    scheduleDelayMs: positiveInt(env, "OTEL_BSP_SCHEDULE_DELAY", 5000),
    maxQueueSize: positiveInt(env, "OTEL_BSP_MAX_QUEUE_SIZE", 2048),
  };
}
