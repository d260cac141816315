/**
 * Traces that travel with the records (docs/tracing.md). A sampled record carries its trace context in
 * the W3C `traceparent` header; every step of the data path that handles it starts a span per traced
 * record as a child of that header (and, where the record moves on, points the header at the new span),
 * and each batch call gets one span linking the records' spans.
 *
 *   entry (source read, Inject): sampler decides ──► traceparent = entry span
 *   peer hop: forward span (sender) ──► traceparent ──► receive span (receiver)
 *   stage call: transform / sink span per record and attempt; a transform's outputs get its span
 *
 * Only @opentelemetry/api is imported here: the SDK (src/telemetry/tracing-sdk.ts) is loaded, and
 * tracingOn() becomes true, only when an OTLP endpoint is configured. With tracing off every helper
 * returns at its first line.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  isSpanContextValid,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanContext,
  type Tracer,
} from "@opentelemetry/api";
import type { Record } from "../stages/contract";
import { hasHeader } from "../sdk/wire";

export { SpanKind };

export const TRACEPARENT = "traceparent";
const TRACEPARENT_BYTES = Buffer.from(TRACEPARENT);

let tracer: Tracer | undefined;

/** Called by the SDK once it registered the global provider. */
export function enableRecordTracing(): void {
  tracer = trace.getTracer("conveyor");
}

export function tracingOn(): boolean {
  return tracer !== undefined;
}

const TRACEPARENT_RE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** A W3C traceparent header value as a span context; undefined when it is not valid. */
export function parseTraceparent(value: string): SpanContext | undefined {
  const m = TRACEPARENT_RE.exec(value.trim());
  if (!m || m[1] === "ff" || (m[1] === "00" && m[5] !== undefined)) return undefined;
  const sc: SpanContext = {
    traceId: m[2]!,
    spanId: m[3]!,
    traceFlags: parseInt(m[4]!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  return isSpanContextValid(sc) ? sc : undefined;
}

export function formatTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & TraceFlags.SAMPLED}`;
}

/** The trace context a record carries, if any (a routed record without one is not decoded). */
export function traceOf(r: Record): SpanContext | undefined {
  if (!hasHeader(r, TRACEPARENT, TRACEPARENT_BYTES)) return undefined;
  return parseTraceparent(r.headers[TRACEPARENT]!);
}

/** A sampled trace context of a record: the ones the data path starts spans for. */
function sampledTraceOf(r: Record): SpanContext | undefined {
  const sc = traceOf(r);
  return sc && sc.traceFlags & TraceFlags.SAMPLED ? sc : undefined;
}

/** Points the record's traceparent at `span` (a new headers object: the record is re-encoded). */
export function setTraceOf(r: Record, span: Span): void {
  r.headers = { ...r.headers, [TRACEPARENT]: formatTraceparent(span.spanContext()) };
}

/** One span per traced record of a batch (holes for the others), ended together. */
export class RecordSpans {
  constructor(
    readonly spans: ReadonlyArray<Span | undefined>,
    /** The headers the records had before their traceparent was pointed at these spans. */
    private readonly previous?: ReadonlyArray<Record["headers"] | undefined>,
  ) {}

  /** Points the records' traceparent back where it was (a failed hop's retry is not its child). */
  restoreHeaders(records: readonly Record[]): void {
    this.previous?.forEach((h, i) => {
      if (h) records[i]!.headers = h;
    });
  }

  get count(): number {
    let n = 0;
    for (const s of this.spans) if (s) n++;
    return n;
  }

  setAttributes(attributes: Attributes): void {
    for (const s of this.spans) s?.setAttributes(attributes);
  }

  addEvent(name: string, attributes?: Attributes): void {
    for (const s of this.spans) s?.addEvent(name, attributes);
  }

  /** Ends every span; with `error`, each fails with it. */
  end(error?: { code: string; message: string; retryable?: boolean }): void {
    for (const s of this.spans) if (s) endSpan(s, error);
  }
}

/** Ends a span, failed with `error` when there is one. */
export function endSpan(
  span: Span,
  error?: { code: string; message: string; retryable?: boolean } | null,
): void {
  if (error) {
    span.setAttributes({
      "conveyor.error.code": error.code || "STAGE_FAILED",
      ...(error.retryable === undefined ? {} : { "conveyor.error.retryable": error.retryable }),
    });
    span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
  }
  span.end();
}

function startSpan(name: string, kind: SpanKind, parent: Context, attributes: Attributes): Span {
  return tracer!.startSpan(name, { kind, attributes }, parent);
}

/**
 * Where a record enters the data plane (a source read, Inject): the sampler decides, parent-based, from
 * the record's own traceparent if it has one, else from `parent` (e.g. the gRPC call's context), else
 * by ratio. A sampled record's traceparent is pointed at its entry span. Undefined when none is sampled.
 */
export function startEntrySpans(
  records: readonly Record[],
  name: string,
  attributes: Attributes,
  parent: Context = ROOT_CONTEXT,
): RecordSpans | undefined {
  if (!tracer) return undefined;
  let spans: Array<Span | undefined> | undefined;
  records.forEach((r, i) => {
    const own = traceOf(r);
    const ctx = own ? trace.setSpanContext(ROOT_CONTEXT, own) : parent;
    const span = startSpan(name, SpanKind.CONSUMER, ctx, { ...attributes, "conveyor.record.id": r.id });
    if (!span.isRecording()) return; // not sampled: no span, and the record stays as it is
    setTraceOf(r, span);
    (spans ??= new Array<Span | undefined>(records.length))[i] = span;
  });
  return spans && new RecordSpans(spans);
}

/**
 * A step of the data path for the traced records of a batch: a span per sampled record, child of its
 * traceparent. With `propagate`, the record's traceparent is pointed at the new span (it moves on, e.g.
 * over a peer hop). Undefined when no record is traced.
 */
export function startStepSpans(
  records: readonly Record[],
  name: string,
  kind: SpanKind,
  attributes: Attributes,
  propagate = false,
): RecordSpans | undefined {
  if (!tracer) return undefined;
  let spans: Array<Span | undefined> | undefined;
  let previous: Array<Record["headers"] | undefined> | undefined;
  records.forEach((r, i) => {
    const sc = sampledTraceOf(r);
    if (!sc) return;
    const span = startSpan(name, kind, trace.setSpanContext(ROOT_CONTEXT, sc), {
      ...attributes,
      "conveyor.record.id": r.id,
    });
    if (propagate && span.isRecording()) {
      (previous ??= new Array<Record["headers"] | undefined>(records.length))[i] = r.headers;
      setTraceOf(r, span);
    }
    (spans ??= new Array<Span | undefined>(records.length))[i] = span;
  });
  return spans && new RecordSpans(spans, previous);
}

/**
 * The span of one batch call: batches mix records of many traces, so it links to the records' spans
 * instead of having one parent (the SDK's sampler records a span with a sampled link).
 */
export function startBatchSpan(name: string, records: RecordSpans, attributes: Attributes): Span {
  const links = records.spans.flatMap((s) => (s ? [{ context: s.spanContext() }] : []));
  return tracer!.startSpan(name, { kind: SpanKind.CLIENT, attributes, links, root: true }, ROOT_CONTEXT);
}

/** Runs `fn` (a log call) in the trace of the first traced record, so the log line carries its ids. */
export function inTraceOf<T>(records: readonly Record[], fn: () => T): T {
  if (!tracer) return fn();
  for (const r of records) {
    const sc = traceOf(r);
    if (sc) return context.with(trace.setSpanContext(context.active(), sc), fn);
  }
  return fn();
}

/** Runs `fn` with `span` active (log lines and gRPC calls in it belong to its trace). */
export function inSpan<T>(span: Span | undefined, fn: () => T): T {
  if (!span) return fn();
  return context.with(trace.setSpan(context.active(), span), fn);
}
