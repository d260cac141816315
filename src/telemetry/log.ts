/** JSON logs (pino) to stderr; stdout is kept for command output. */
import pino from "pino";

export type Logger = pino.Logger;

const root: Logger = pino(
  {
    level: process.env.LOG_LEVEL ?? "info",
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
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
