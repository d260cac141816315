/**
 * Where and how spans are exported over OTLP, from the OpenTelemetry exporter conventions. The one
 * parser of endpoints and protocols: the CLI-wide tracing (otel-env.ts) and the Sling runner
 * (src/builtins/sling/config.ts, which adds its flags) both resolve through it. Pure: the values are
 * passed in, so every rule is unit-tested.
 *
 *   protocol   grpc | http/protobuf | http/json (OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL). When none is set
 *              it is inferred from the endpoint: a bare host:port (Go's otlptracegrpc form, the
 *              sling-sync-wrapper's Helm chart: otel-collector:4317) or a URL on port 4317 (IANA's
 *              OTLP/gRPC port) is gRPC; any other http(s) URL is http/protobuf, the spec's default.
 *   endpoint   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the full URL, used as it is), else
 *              OTEL_EXPORTER_OTLP_ENDPOINT (the base URL; OTLP/HTTP appends /v1/traces).
 *   gRPC TLS   https:// is TLS; http:// and a bare host:port are plaintext (as the wrapper's
 *              otlptracegrpc.WithInsecure always was).
 */

export const OTLP_PROTOCOLS = ["grpc", "http/protobuf", "http/json"] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

export interface OtlpExport {
  protocol: OtlpProtocol;
  /** gRPC: http(s)://host:port (the scheme picks plaintext or TLS); HTTP: the full /v1/traces URL. */
  url: string;
}

export interface OtlpExportInput {
  /** The base endpoint: OTEL_EXPORTER_OTLP_ENDPOINT (or the sling runner's --otel-endpoint). */
  endpoint?: string;
  /** OTEL_EXPORTER_OTLP_TRACES_ENDPOINT. */
  tracesEndpoint?: string;
  /** Parsed by parseOtlpProtocol; undefined: inferred from the endpoint. */
  protocol?: OtlpProtocol;
}

/** IANA's port for OTLP over gRPC (4318 is OTLP over HTTP). */
const OTLP_GRPC_PORT = "4317";

/** host:port, [v6]:port: what Go's otlptracegrpc.WithEndpoint takes. */
const BARE_HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/** The export to use, or undefined when no endpoint is set; throws an Error saying what is wrong. */
export function resolveOtlpExport(input: OtlpExportInput): OtlpExport | undefined {
  const raw = input.tracesEndpoint ?? input.endpoint;
  if (raw === undefined) return undefined;
  const fullUrl = input.tracesEndpoint !== undefined;
  const text = raw.trim().replace(/\/+$/, "");
  const bare = BARE_HOST_PORT.exec(text);
  if (bare && Number(bare[2]) > 65535) throw new Error(`"${raw}": port ${bare[2]} is out of range`);
  let url: URL;
  try {
    url = new URL(bare ? `http://${text}` : text);
  } catch {
    throw new Error(
      `"${raw}" is neither host:port (OTLP/gRPC, e.g. otel-collector:4317) nor an http(s) URL ` +
        "(e.g. http://otel-collector:4318)",
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`"${raw}": the scheme must be http:// or https:// (or none: host:port for OTLP/gRPC)`);
  }

  const protocol =
    input.protocol ?? (bare !== null || url.port === OTLP_GRPC_PORT ? "grpc" : "http/protobuf");
  switch (protocol) {
    case "grpc":
      // The gRPC exporter ignores any path; the scheme only picks plaintext or TLS.
      return { protocol, url: `${url.protocol}//${url.host}` };
    case "http/protobuf":
    case "http/json":
      // The spec's rule: a signal endpoint is used as is; the base endpoint gets /v1/traces.
      return { protocol, url: fullUrl ? url.href : `${url.href.replace(/\/+$/, "")}/v1/traces` };
  }
}

/** An OTEL_EXPORTER_OTLP_PROTOCOL value (case and spaces ignored); throws an Error listing the values. */
export function parseOtlpProtocol(text: string): OtlpProtocol {
  const p = text.trim().toLowerCase();
  if ((OTLP_PROTOCOLS as readonly string[]).includes(p)) return p as OtlpProtocol;
  throw new Error(`"${text}" must be one of ${OTLP_PROTOCOLS.join(", ")}`);
}
