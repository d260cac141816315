/**
 * One term of a router as the planner: the registry of sidecars, the scheduler
 * restored from the store, the Router and Admin services on top, and the
 * liveness sweep. A single router (memory/file store) has one term for its
 * whole life; in a router cluster each election won starts a term and
 * stepping down ends it (cluster/cluster-router.ts), so a new leader rebuilds
 * from the store and the sidecars' re-registrations, holding the stages of
 * sidecars that were alive for as long as a live sidecar has to heartbeat.
 */
import type { RouterConfig } from "../src/config/env";
import type { Auth } from "../src/grpc/auth";
import type { PipelineSpec } from "../src/config/pipeline";
import type { ServiceBinding } from "../src/grpc/server";
import type { Logger } from "../src/telemetry/log";
import { metrics } from "../src/telemetry/metrics";
import { adminService } from "./admin-server";
import { routerService, type RouterService } from "./heartbeat-server";
import { Membership } from "./membership";
import { StatsWindow } from "./stats-window";
import { restoreState, Scheduler } from "./scheduler";
import type { RouterStore } from "./store/store";

/** Liveness is checked often: detection time adds straight to failover time. */
const SWEEP_INTERVAL_MS = 250;

/** The longest a sidecar waits between attempts to reach the router, with slack for one Register. */
const SIDECAR_RETRY_MS = 6000;

export interface TermOptions {
  config: RouterConfig;
  store: RouterStore;
  log: Logger;
  /** Pipelines from PIPELINES_DIR, upserted at the start of the term. */
  pipelines: PipelineSpec[];
  /** Who may call (TLS identities, tokens); Register/Heartbeat check the caller's sidecar id. */
  auth?: Auth;
}

export interface Term {
  router: RouterService;
  admin: ServiceBinding;
  scheduler: Scheduler;
  membership: Membership;
  /** The last minute of every sidecar's counters: rates for status, top and the console. */
  stats: StatsWindow;
  deadAfterMs: number;
  /** Stops the sweep, lets queued commits finish, ends every heartbeat stream. */
  stop(): Promise<void>;
}

export async function startTerm(options: TermOptions): Promise<Term> {
  const { config, store, log } = options;
  const restored = restoreState(await store.load(), store.description);
  const heartbeatIntervalMs = Math.round(config.heartbeatIntervalSecs * 1000);
  const deadAfterMs = config.deadAfterMissed * heartbeatIntervalMs;
  const membership = new Membership({ deadAfterMs });
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
  // Sidecars that ran stages before a restart (or a failover) get the window a live sidecar gets
  // before it is declared dead, plus the time a sidecar's router client may take to try again (its
  // backoff and its channel's reconnect backoff are capped at 5 s, sidecar/router-client.ts).
  const scheduler = new Scheduler({
    store,
    membership,
    log,
    restored,
    holdMs: deadAfterMs + SIDECAR_RETRY_MS,
    onCommit: updateMetrics,
  });
  if (options.pipelines.length > 0) await scheduler.applyPipelines(options.pipelines);
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
    ...(options.auth !== undefined ? { auth: options.auth } : {}),
    log: log.child({ service: "Router" }),
  });
  const admin = adminService({ scheduler, membership, stats, log: log.child({ service: "Admin" }) });
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

  let stopping: Promise<void> | undefined;
  return {
    router,
    admin,
    scheduler,
    membership,
    stats,
    deadAfterMs,
    stop: () => {
      stopping ??= (async () => {
        membership.stopSweeping();
        await scheduler.idle();
        // Open heartbeat streams would hold a graceful shutdown until the grace ends.
        router.closeStreams();
      })();
      return stopping;
    },
  };
}
