/**
 * OpenTelemetry for Sling jobs: a tracer whose spans are exported over OTLP (gRPC, HTTP/protobuf or
 * HTTP/JSON, src/telemetry/otlp-exporter.ts) when an endpoint is set (src/config/otlp-endpoint.ts picks
 * which), and only kept in memory otherwise (they still get ids, so JSON logs carry trace_id/span_id
 * either way). Only the exporter in use is loaded. No global
 * provider or context manager is installed: the runner passes parent contexts explicitly, which works
 * the same under every module loader.
 */
import type { Tracer } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, BatchSpanProcessor, type SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import type { OtlpExport } from "../../config/otlp-endpoint";
import { otlpSpanExporter } from "../../telemetry/otlp-exporter";

export interface JobTracing {
  tracer: Tracer;
  exporting: boolean;
  /**
   * Sends what is buffered and stops; bounded so an unreachable collector cannot hold the job. Resolves
   * with the export error, if any, for the caller to log (a lost trace must not fail the sync).
   */
  shutdown(timeoutMs?: number): Promise<Error | undefined>;
}

const EXPORT_TIMEOUT_MS = 10_000;

export function startTracing(otlp: OtlpExport | undefined, missionClusterId: string): JobTracing {
  const spanProcessors: SpanProcessor[] = [];
  if (otlp !== undefined) {
    spanProcessors.push(
      new BatchSpanProcessor(otlpSpanExporter(otlp, EXPORT_TIMEOUT_MS), { scheduledDelayMillis: 1000 }),
    );
  }
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: "conveyor-sling",
      [ATTR_SERVICE_VERSION]: "0.1.0",
      mission_cluster_id: missionClusterId,
    }),
    // Every Sling log line is a span event; a retried pipeline easily passes the default limit of 128.
    spanLimits: { eventCountLimit: 5000, attributeValueLengthLimit: 4096 },
    spanProcessors,
  });
  return {
    tracer: provider.getTracer("conveyor.sling"),
    exporting: spanProcessors.length > 0,
    async shutdown(timeoutMs = 10_000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<Error>((resolve) => {
        timer = setTimeout(
          () => resolve(new Error(`span export did not finish within ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      const done = provider.shutdown().then(
        () => undefined,
        (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
      );
      const result = await Promise.race([done, timeout]);
      clearTimeout(timer);
      return result;
    },
  };
}
