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

export const SAMPLERS = [
  "always_on",
  "always_off",
  "traceidratio",
  "parentbased_always_on",
  "parentbased_always_off",
  "parentbased_traceidratio",
] as const;
export type SamplerName = (typeof SAMPLERS)[number];

export const PROTOCOLS = ["grpc", "http/protobuf", "http/json"] as const;
export type OtlpProtocol = (typeof PROTOCOLS)[number];

export interface TracingSettings {
  /** The traces URL: for HTTP with /v1/traces appended to a base endpoint, for gRPC as given. */
  url: string;
  protocol: OtlpProtocol;
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

/** host:port or [v6]:port, without a scheme. */
const BARE_HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

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
  const signalEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const baseEndpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!signalEndpoint && !baseEndpoint) return undefined;

  let url = signalEndpoint || baseEndpoint!;
  // A bare host:port (what Go's exporters and the sling-sync-wrapper's Helm chart take, e.g.
  // otel-collector:4317) or a URL on 4317 means OTLP/gRPC in plaintext unless a protocol is set;
  // the sling runner infers it the same way (src/builtins/sling/otlp-endpoint.ts).
  const bare = BARE_HOST_PORT.test(url);
  if (bare) url = `http://${url}`;
  const protocol = (
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ??
    env.OTEL_EXPORTER_OTLP_PROTOCOL ??
    (bare || /:4317\/?$/.test(url) ? "grpc" : "http/protobuf")
  ).trim();
  if (!isOneOf(PROTOCOLS, protocol))
    throw new OtelEnvError(`OTEL_EXPORTER_OTLP_PROTOCOL "${protocol}" is not one of ${PROTOCOLS.join(", ")}`);

  // The spec's rule: a signal endpoint is used as is; the base endpoint gets /v1/traces for HTTP.
  if (!signalEndpoint && protocol !== "grpc") url = `${url.replace(/\/+$/, "")}/v1/traces`;
  if (!/^https?:\/\//.test(url))
    throw new OtelEnvError(`OTLP endpoint "${url}" must be an http:// or https:// URL`);

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
    url,
    protocol,
    sampler,
    ratio,
    serviceName,
    scheduleDelayMs: positiveInt(env, "OTEL_BSP_SCHEDULE_DELAY", 5000),
    maxQueueSize: positiveInt(env, "OTEL_BSP_MAX_QUEUE_SIZE", 2048),
  };
}
