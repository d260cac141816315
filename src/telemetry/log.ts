/** JSON logs (pino) to stderr; stdout is kept for command output. */
import { context, trace } from "@opentelemetry/api";
import pino from "pino";

export type Logger = pino.Logger;

/**
 * The ids of the active trace, for every log line: a line logged in a trace (a sampled record's, via
 * inTraceOf in src/telemetry/tracing.ts; a traced gRPC call's) carries `trace_id`/`span_id`. Without the
 * SDK there is no context manager: context.active() is the empty root context and this adds nothing.
 */
export function traceMixin(): { trace_id?: string; span_id?: string } {
  const sc = trace.getSpanContext(context.active());
  return sc ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}

/** The root logger's settings, writing to `destination` (stderr in the processes, a buffer in tests). */
export function rootLogger(
  destination: pino.DestinationStream,
  level = process.env.LOG_LEVEL ?? "info",
): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin: traceMixin,
    },
    destination,
  );
}

const root: Logger = rootLogger(pino.destination({ fd: 2, sync: false }));

export function createLogger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return root.child({ component, ...bindings });
}

/**
 * A logger for a part of `parent`'s component (the sidecar's forwarder, the router's console): the
 * parent's bindings with `component` replaced. `parent.child({ component })` would write the key twice
 * in every line (pino appends a child's bindings to its parent's), which JSON.parse forgives but log
 * stores such as Elasticsearch refuse. Uses pino's published symbols for integrations (`pino.symbols`).
 */
export function componentLogger(parent: Logger, component: string): Logger {
  const child = parent.child({});
  const state = child as unknown as Record<symbol, string>;
  // The serialised bindings (",\"pid\":1,\"component\":\"sidecar\",…"; bindings() leaves out pid), rebuilt
  // without the component.
  const bindings = JSON.parse(`{${state[pino.symbols.chindingsSym]!.slice(1)}}`) as Record<string, unknown>;
  delete bindings.component;
  state[pino.symbols.chindingsSym] = "";
  child.setBindings({ ...bindings, component });
  return child;
}

/** Flush buffered log lines (call before process.exit). */
export function flushLogs(): void {
  root.flush();
}
