/** Runs until SIGTERM/SIGINT, then calls stop() once and exits 0 (1 if stopping failed). */
import { flushLogs } from "../telemetry/log";

export function runUntilSignal(stop: () => Promise<void>): Promise<void> {
  return new Promise<void>(() => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`conveyor: ${signal} received, shutting down\n`);
      stop().then(
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
