/* eslint-disable @typescript-eslint/no-require-imports -- only the exporter of the protocol in use loads */
/**
 * The OTLP span exporter of a resolved export (src/config/otlp-endpoint.ts): gRPC, HTTP with protobuf
 * (the spec's default) or HTTP with JSON. Shared by the CLI-wide tracing (tracing-sdk.ts) and the Sling
 * runner (src/builtins/sling/tracing.ts). Only the package of the protocol in use is required.
 */
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { OtlpExport } from "../config/otlp-endpoint";

export function otlpSpanExporter(otlp: OtlpExport, timeoutMillis: number): SpanExporter {
  const config = { url: otlp.url, timeoutMillis };
  switch (otlp.protocol) {
    case "grpc": {
      // The URL's scheme picks the credentials: http:// plaintext, https:// TLS.
      const { OTLPTraceExporter } =
        require("@opentelemetry/exporter-trace-otlp-grpc") as typeof import("@opentelemetry/exporter-trace-otlp-grpc");
      return new OTLPTraceExporter(config);
    }
    case "http/protobuf": {
      const { OTLPTraceExporter } =
        require("@opentelemetry/exporter-trace-otlp-proto") as typeof import("@opentelemetry/exporter-trace-otlp-proto");
      return new OTLPTraceExporter(config);
    }
    case "http/json": {
      const { OTLPTraceExporter } =
        require("@opentelemetry/exporter-trace-otlp-http") as typeof import("@opentelemetry/exporter-trace-otlp-http");
      return new OTLPTraceExporter(config);
    }
  }
}
