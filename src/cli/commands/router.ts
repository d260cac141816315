/**
 * `conveyor router`: runs the control plane (Router + Admin gRPC API) until
 * SIGTERM/SIGINT, then stops cleanly (heartbeat streams ended, server closed).
 * Every option is bound to its env var (src/config/env.ts).
 */
import { Command } from "commander";
import { routerOptions, type RouterConfig } from "../../config/env";
import { shutdownTracing } from "../../telemetry/tracing-init";
import { createLogger, flushLogs } from "../../telemetry/log";
import { startRouter } from "../../../router/main";

/** After stop(), the process should exit on its own; this is the backstop. */
const EXIT_BACKSTOP_MS = 1000;

export function routerCommand(): Command {
  const command = new Command("router").description(
    "run the router: keeps pipelines, assigns their stages to sidecars over heartbeat streams, serves the Admin API",
  );
  for (const option of routerOptions()) command.addOption(option);
  return command.action(async (config: RouterConfig) => {
    const log = createLogger("cli");
    const router = await startRouter(config);
    log.info({ address: router.address, store: config.store }, "router started; stop with SIGTERM or SIGINT");
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      const on = (s: NodeJS.Signals): void => {
        process.off("SIGTERM", on);
        process.off("SIGINT", on);
        resolve(s);
      };
      process.on("SIGTERM", on);
      process.on("SIGINT", on);
    });
    log.info({ signal }, "stopping router");
    await router.stop();
    await shutdownTracing();
    flushLogs();
    process.exitCode = 0;
    setTimeout(() => process.exit(0), EXIT_BACKSTOP_MS).unref();
  });
}
