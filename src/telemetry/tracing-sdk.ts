/**
 * The OpenTelemetry SDK, loaded by tracing-init.ts only when an OTLP endpoint is set: the global tracer
 * provider (batching exporter over OTLP gRPC, HTTP/protobuf or HTTP/JSON), the AsyncLocalStorage context manager, the W3C
 * propagator and @opentelemetry/instrumentation-grpc. This module must run before @grpc/grpc-js is first
 * required: the instrumentation patches it in a require hook (src/cli/main.ts loads this first).
 */
import {
  context,
  propagation,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Link,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { GrpcInstrumentation } from "@opentelemetry/instrumentation-grpc";
import { detectResources, envDetector, resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  SamplingDecision,
  TraceIdRatioBasedSampler,
  type Sampler,
  type SamplingResult,
} from "@opentelemetry/sdk-trace-base";
import type { SpanKind } from "@opentelemetry/api";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";
import type { TracingSettings } from "../config/otel-env";
import { otlpSpanExporter } from "./otlp-exporter";
import { enableRecordTracing } from "./tracing";

/** The spec's sampler of `settings` (OTEL_TRACES_SAMPLER / _ARG). */
export function samplerOf(settings: Pick<TracingSettings, "sampler" | "ratio">): Sampler {
  const ratio = new TraceIdRatioBasedSampler(settings.ratio);
  switch (settings.sampler) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return ratio;
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: ratio });
  }
}

/**
 * A batch span (a root with links, src/telemetry/tracing.ts) is recorded when one of its links is
 * sampled, whatever the ratio: it belongs to the traces of the sampled records it links. Everything else
 * goes to the configured sampler.
 */
export class LinkAwareSampler implements Sampler {
  constructor(private readonly inner: Sampler) {}

  shouldSample(
    ctx: Context,
    traceId: string,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    if (
      trace.getSpanContext(ctx) === undefined &&
      links.some((l) => l.context.traceFlags & TraceFlags.SAMPLED)
    )
      return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    return this.inner.shouldSample(ctx, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `LinkAware{${this.inner.toString()}}`;
  }
}

export interface TracingSdk {
  /** Exports what is buffered and stops; bounded, resolves even if the receiver is gone. */
  shutdown(timeoutMs: number): Promise<void>;
}

export function startTracingSdk(settings: TracingSettings): TracingSdk {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: settings.serviceName,
    [ATTR_SERVICE_VERSION]: "0.1.0",
  }).merge(detectResources({ detectors: [envDetector] }));
  const provider = new BasicTracerProvider({
    resource,
    sampler: new LinkAwareSampler(samplerOf(settings)),
    spanProcessors: [
      new BatchSpanProcessor(otlpSpanExporter(settings, 10_000), {
        scheduledDelayMillis: settings.scheduleDelayMs,
        maxQueueSize: settings.maxQueueSize,
        maxExportBatchSize: Math.min(512, settings.maxQueueSize),
      }),
    ],
  });
  trace.setGlobalTracerProvider(provider);
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new GrpcInstrumentation({
        // Health probes every second and the exporter's own calls would drown the traces.
        ignoreGrpcMethods: ["Check", "Watch", "Export"],
      }),
    ],
  });
  enableRecordTracing();
  return {
    async shutdown(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        provider.shutdown().catch(() => undefined),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
    },
  };
}
