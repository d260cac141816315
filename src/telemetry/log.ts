/** JSON logs (pino) to stderr; stdout is kept for command output. */
import { context, trace } from "@opentelemetry/api";
import pino from "pino";

export type Logger = pino.Logger;

const root: Logger = pino(
  {
    level: process.env.LOG_LEVEL ?? "info",
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // A line logged in a trace (a sampled record's, a traced gRPC call's) carries its ids. Without the SDK
    // there is no context manager: context.active() is the empty root context and this adds nothing.
    mixin() {
      const sc = trace.getSpanContext(context.active());
      return sc ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
    },
  },
  pino.destination({ fd: 2, sync: false }),
);

export function createLogger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return root.child({ component, ...bindings });
}

/** Flush buffered log lines (call before process.exit). */
export function flushLogs(): void {
  root.flush();
}
