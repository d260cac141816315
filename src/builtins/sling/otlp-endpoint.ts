/**
 * Where and how the Sling job exports its spans, from the OpenTelemetry exporter environment
 * conventions. Pure: `resolveOtlpExport(input)` reads no environment itself, so every rule is unit-tested.
 *
 *   protocol   --otlp-protocol, else OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL:
 *              grpc | http/json (http/protobuf is refused: its exporter is not installed). When none is
 *              set, it is inferred from the endpoint: a bare host:port (the sling-sync-wrapper's form,
 *              e.g. otel-collector:4317) or a URL on port 4317 (IANA's OTLP/gRPC port) is gRPC, any
 *              other http(s) URL is OTLP/HTTP JSON.
 *   endpoint   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the full URL, used as it is), else --otel-endpoint /
 *              OTEL_EXPORTER_OTLP_ENDPOINT (the base URL; OTLP/HTTP appends /v1/traces).
 *   gRPC TLS   https:// is TLS; http:// and a bare host:port are plaintext, as the wrapper's exporter
 *              (otlptracegrpc.WithInsecure) always was.
 */

export const OTLP_PROTOCOLS = ["grpc", "http/json"] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

export interface OtlpExport {
  protocol: OtlpProtocol;
  /** gRPC: http(s)://host:port (the scheme picks plaintext or TLS); HTTP: the full /v1/traces URL. */
  url: string;
}

export interface OtlpExportInput {
  /** --otel-endpoint / --otlp-endpoint, else OTEL_EXPORTER_OTLP_ENDPOINT. */
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

  const protocol = input.protocol ?? (bare !== null || url.port === OTLP_GRPC_PORT ? "grpc" : "http/json");
  switch (protocol) {
    case "grpc":
      // The gRPC exporter ignores any path; the scheme only picks plaintext or TLS.
      return { protocol, url: `${url.protocol}//${url.host}` };
    case "http/json":
      return { protocol, url: fullUrl ? url.href : `${url.href.replace(/\/+$/, "")}/v1/traces` };
  }
}

/** An OTEL_EXPORTER_OTLP_PROTOCOL value; throws an Error saying what is supported. */
export function parseOtlpProtocol(text: string): OtlpProtocol {
  const p = text.trim().toLowerCase();
  if ((OTLP_PROTOCOLS as readonly string[]).includes(p)) return p as OtlpProtocol;
  if (p === "http/protobuf") {
    throw new Error(
      '"http/protobuf" is not supported here (its exporter is not installed): use grpc (a collector\'s ' +
        "port 4317) or http/json (port 4318)",
    );
  }
  throw new Error(`"${text}" must be one of ${OTLP_PROTOCOLS.join(", ")}`);
}
