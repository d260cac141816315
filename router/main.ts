/**
 * The router process, wiring only: store → restored state → pipelines from
 * PIPELINES_DIR → scheduler + membership → Router and Admin on one gRPC port,
 * /metrics on another. The logic lives in scheduler.ts and assignment.ts.
 */
import type * as http from "node:http";
import type { RouterConfig } from "../src/config/env";
import { loadPipelines, type PipelineSpec } from "../src/config/pipeline";
import { ConveyorError } from "../src/errors";
import { startGrpcServer } from "../src/grpc/server";
import { createLogger } from "../src/telemetry/log";
import { metrics, startMetricsServer } from "../src/telemetry/metrics";
import { adminService } from "./admin-server";
import { startConsole, type RunningConsole } from "./console/server";
import { routerService } from "./heartbeat-server";
import { Membership } from "./membership";
import { restoreState, Scheduler } from "./scheduler";
import { StatsWindow } from "./stats-window";
import { FileStore } from "./store/file";
import { MemoryStore } from "./store/memory";
import type { RouterStore } from "./store/store";

export interface RunningRouter {
  /** host:port of the Router + Admin services (port 0 resolved). */
  address: string;
  stop(): Promise<void>;
}

/** Liveness is checked often: detection time adds straight to failover time. */
const SWEEP_INTERVAL_MS = 250;

export async function startRouter(config: RouterConfig): Promise<RunningRouter> {
  const log = createLogger("router");
  const store = createStore(config.store);
  const restored = restoreState(await store.load(), store.description);
  const fromDir = config.pipelinesDir !== undefined ? loadPipelineDir(config.pipelinesDir) : [];

  const heartbeatIntervalMs = Math.round(config.heartbeatIntervalSecs * 1000);
  const deadAfterMs = config.deadAfterMissed * heartbeatIntervalMs;
  const membership = new Membership({ deadAfterMs });
  // The last minute of every sidecar's counters: rates for status, top and the console.
  const stats = new StatsWindow({ staleMs: deadAfterMs });
  const observeStats = (): void => {
    for (const s of membership.all()) stats.observe(s.id, s.lastHeartbeatMs, s.stages);
  };
  const updateMetrics = (): void => {
    const sidecars = membership.all();
    metrics.routerSidecars.set({ state: "alive" }, sidecars.filter((s) => s.state === "alive").length);
    metrics.routerSidecars.set({ state: "dead" }, sidecars.filter((s) => s.state === "dead").length);
    const pipelines = scheduler.pipelineViews();
    metrics.routerPipelines.set(
      { state: "ready" },
      pipelines.filter((p) => p.placement.state === "ready").length,
    );
    metrics.routerPipelines.set(
      { state: "pending" },
      pipelines.filter((p) => p.placement.state === "pending").length,
    );
    metrics.routerGeneration.set(scheduler.generation);
  };
  // Sidecars that ran stages before a restart get the same window to come
  // back that a live sidecar gets before it is declared dead.
  const scheduler = new Scheduler({
    store,
    membership,
    log,
    restored,
    holdMs: deadAfterMs,
    onCommit: updateMetrics,
  });
  if (fromDir.length > 0) await scheduler.applyPipelines(fromDir);
  log.info(
    {
      store: store.description,
      generation: scheduler.generation,
      pipelines: scheduler.pipelineViews().map((p) => p.name),
    },
    "router state loaded",
  );
  updateMetrics();

  const router = routerService({
    scheduler,
    membership,
    heartbeatIntervalMs,
    log: log.child({ service: "Router" }),
  });
  const server = await startGrpcServer(config.host, config.port, [
    router.binding,
    adminService({ scheduler, membership, stats, log: log.child({ service: "Admin" }) }),
  ]).catch((err: unknown) => {
    throw new ConveyorError(
      "CONFIG_INVALID",
      `router cannot listen on ${config.host}:${config.port}: ${err instanceof Error ? err.message : String(err)}`,
      { host: config.host, port: config.port },
      { cause: err },
    );
  });
  membership.startSweeping(SWEEP_INTERVAL_MS, (died) => {
    for (const s of died)
      log.warn(
        { sidecar: s.id, lastHeartbeatMs: s.lastHeartbeatMs, deadAfterMs },
        "sidecar dead (no heartbeat, or its stream broke and it did not come back)",
      );
    if (died.length > 0) scheduler.requestReplan(`sidecar ${died.map((s) => s.id).join(", ")} dead`);
    scheduler.tick();
    updateMetrics();
    observeStats();
  });
  const metricsServer: http.Server | undefined = startMetricsServer(config.metricsPort, config.host, log);
  const webConsole: RunningConsole | undefined =
    config.httpPort !== undefined && config.httpPort > 0
      ? await startConsole({
          host: config.host,
          port: config.httpPort,
          scheduler,
          membership,
          stats,
          deadAfterMs,
          ...(config.consoleToken !== undefined ? { token: config.consoleToken } : {}),
          log: log.child({ component: "console" }),
        })
      : undefined;
  log.info({ address: server.address, heartbeatIntervalMs, deadAfterMs }, "router listening");

  let stopping: Promise<void> | undefined;
  return {
    address: server.address,
    stop: () => {
      stopping ??= (async () => {
        membership.stopSweeping();
        await scheduler.idle();
        // Open heartbeat streams would hold a graceful shutdown until the grace ends.
        router.closeStreams();
        await webConsole?.stop();
        await server.stop(2000);
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
