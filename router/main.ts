/**
 * The router process, wiring only: pipelines from PIPELINES_DIR; with a memory
 * or file store one term (term.ts: store → restored state → scheduler +
 * membership → Router and Admin) on one gRPC port, /metrics on another; with
 * ROUTER_STORE=etcd:… a member of the router cluster (cluster/cluster-router.ts).
 * The logic lives in scheduler.ts and assignment.ts.
 */
import type * as http from "node:http";
import { checkSecurityConfig, type RouterConfig } from "../src/config/env";
import { loadPipelines, type PipelineSpec } from "../src/config/pipeline";
import { ConveyorError } from "../src/errors";
import { metricsTlsOf, processSecurity } from "../src/grpc/security";
import { componentLogger, createLogger } from "../src/telemetry/log";
import { startMetricsServer } from "../src/telemetry/metrics";
import { startConsole, termSources, type RunningConsole } from "./console/server";
import { listen, type RunningRouter } from "./listen";
import { FileStore } from "./store/file";
import { MemoryStore } from "./store/memory";
import type { RouterStore } from "./store/store";
export type { RunningRouter } from "./listen";
import { startTerm } from "./term";

export async function startRouter(config: RouterConfig): Promise<RunningRouter> {
  const log = createLogger("router");
  if (process.env.CONSOLE_ADMIN_TOKEN) {
    // Read until session 7; a router that silently ignored it would leave replay locked.
    log.warn(
      "CONSOLE_ADMIN_TOKEN is no longer read: the console's writes (replay) need ADMIN_TOKEN, the Admin API's credential",
    );
  }
  const security = processSecurity(checkSecurityConfig(config), "router", log);
  const pipelines = config.pipelinesDir !== undefined ? loadPipelineDir(config.pipelinesDir) : [];
  if (config.store.startsWith("etcd:")) {
    // Loaded only here: a single router needs no etcd client.
    const { startClusterRouter } =
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require("./cluster/cluster-router") as typeof import("./cluster/cluster-router");
    return startClusterRouter({ config, log, pipelines, security });
  }
  const term = await startTerm({
    config,
    store: createStore(config.store),
    log,
    pipelines,
    auth: security.auth,
  });
  const server = await listen(config, [term.router.binding, term.admin], security);
  const metricsServer: http.Server | undefined = startMetricsServer(
    config.metricsPort,
    config.host,
    log,
    metricsTlsOf(config, security),
  );
  const webConsole: RunningConsole | undefined =
    config.httpPort !== undefined && config.httpPort > 0
      ? await startConsole({
          host: config.host,
          port: config.httpPort,
          ...termSources(term),
          // The console's writes need the Admin API's credential, decided in one place.
          auth: security.auth,
          log: componentLogger(log, "console"),
        })
      : undefined;
  log.info(
    { address: server.address, heartbeatIntervalSecs: config.heartbeatIntervalSecs },
    "router listening",
  );

  let stopping: Promise<void> | undefined;
  return {
    address: server.address,
    stop: () => {
      stopping ??= (async () => {
        await term.stop();
        await webConsole?.stop();
        await server.stop(2000);
        security.close();
        await new Promise<void>((resolve) =>
          metricsServer ? metricsServer.close(() => resolve()) : resolve(),
        );
        log.info("router stopped");
      })();
      return stopping;
    },
  };
}

function createStore(spec: string): RouterStore {
  if (spec === "memory") return new MemoryStore();
  if (spec.startsWith("file:") && spec.length > "file:".length)
    return new FileStore(spec.slice("file:".length));
  throw new ConveyorError("CONFIG_INVALID", `"${spec}" is not a router store; use memory or file:<path>`);
}

/** Every pipeline of the directory, or a start-up error listing every problem. */
function loadPipelineDir(dir: string): PipelineSpec[] {
  let result: ReturnType<typeof loadPipelines>;
  try {
    result = loadPipelines(dir);
  } catch (err) {
    throw new ConveyorError(
      "CONFIG_INVALID",
      `PIPELINES_DIR ${dir} cannot be read: ${(err as Error).message}`,
      { dir },
      { cause: err },
    );
  }
  const { pipelines, errors } = result;
  if (errors.length > 0) {
    throw new ConveyorError(
      "CONFIG_INVALID",
      `PIPELINES_DIR ${dir} has invalid pipelines; none applied:\n${errors.map((e) => e.message).join("\n")}`,
      {
        dir,
        problems: errors.map((e) => e.message),
      },
    );
  }
  return pipelines;
}
