/** Runs until SIGTERM/SIGINT, then calls stop() once and exits 0 (1 if stopping failed). */
import { flushLogs } from "../telemetry/log";
import { shutdownTracing } from "../telemetry/tracing-init";

export function runUntilSignal(stop: () => Promise<void>): Promise<void> {
  return new Promise<void>(() => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`conveyor: ${signal} received, shutting down\n`);
      // Spans still buffered are exported (bounded) after the process stopped its work.
      stop()
        .finally(() => shutdownTracing())
        .then(
          () => {
            flushLogs();
            process.exit(0);
          },
          (err: unknown) => {
            process.stderr.write(
              `conveyor: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`,
            );
            flushLogs();
            process.exit(1);
          },
        );
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}

/** The env var through which a test harness asks its child processes to follow it (ManagedProcess sets it). */
export const PARENT_PID_ENV = "CONVEYOR_PARENT_PID";

/**
 * When started by a harness that set CONVEYOR_PARENT_PID, stops this process
 * (SIGTERM to itself, so the usual graceful path runs) once that parent is
 * gone — e.g. a test runner killed with SIGKILL, which cannot clean up its
 * children. Without the variable it does nothing.
 */
export function exitWithParent(env: NodeJS.ProcessEnv = process.env): void {
  const parent = Number(env[PARENT_PID_ENV]);
  if (!Number.isInteger(parent) || parent <= 0) return;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.stderr.write(`conveyor: parent process ${parent} is gone; shutting down\n`);
    process.kill(process.pid, "SIGTERM");
  }, 1000);
  timer.unref();
}
