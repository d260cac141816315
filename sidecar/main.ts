/**
 * Wiring only: discovery → router client → table holder → {forwarder, source runners, local stages} ← peer server.
 * The data path reads top to bottom in forwarder.ts and source-runner.ts.
 */
import * as os from "node:os";
import type * as http from "node:http";
import { metricsTlsOf, processSecurity } from "../src/grpc/security";
import { startGrpcServer } from "../src/grpc/server";
import type { SidecarConfig } from "../src/config/env";
import { componentLogger, createLogger } from "../src/telemetry/log";
import { startMetricsServer } from "../src/telemetry/metrics";
import { ClientPool } from "./client-pool";
import { Discovery } from "./discovery";
import { Forwarder } from "./forwarder";
import { LocalStages } from "./local-stages";
import { dataPlaneService } from "./peer-server";
import { PauseFence } from "./pause-fence";
import { RouterClient } from "./router-client";
import { RoutingTable } from "./routing-table";
import { SourceRunners } from "./source-runners";
import { StageStats } from "./stage-stats";
import { TableHolder } from "./table-holder";
import { Taps } from "./taps";
import { metrics } from "../src/telemetry/metrics";
import { widenServerWindows } from "../src/sdk/flow-control";

export interface RunningSidecar {
  /** The DataPlane address peers use. */
  peerAddress: string;
  /** Drain sources, deregister, stop serving. */
  stop(): Promise<void>;
}

export async function startSidecar(config: SidecarConfig): Promise<RunningSidecar> {
  const log = createLogger("sidecar", { sidecarId: config.sidecarId });
  // TLS on the data-plane port and on channels to peers and the router; stage services stay plaintext.
  const security = processSecurity(config, "sidecar", log);
  const discovery = new Discovery({
    host: config.discoveryHost,
    startPort: config.discoveryStartPort,
    endPort: config.discoveryEndPort,
    intervalMs: config.discoveryIntervalSecs * 1000,
    log: componentLogger(log, "discovery"),
  });

  const pool = new ClientPool({
    idleMs: 5 * 60_000,
    batchTimeoutMs: 30_000,
    peerTimeoutMs: 5 * 60_000,
    log: componentLogger(log, "client-pool"),
    peerCredentials: security.channelCredentials,
    peerInterceptors: security.clientInterceptors,
    // A broken local service may have moved port or restarted: look again.
    onEndpointFailed: () => void discovery.rescan(),
  });
  const stats = new StageStats();
  const taps = new Taps();
  const localStages = new LocalStages(pool, config.sidecarId, config.stateDir);
  // Fence before the router would declare this sidecar dead (after 3 missed heartbeats).
  let routerClient: RouterClient | undefined = undefined;
  const fence = new PauseFence({
    limitMs: 2 * config.heartbeatIntervalSecs * 1000,
    onTrip: (pausedMs) => {
      log.warn({ pausedMs }, "this sidecar was paused; fencing delivery and registering again");
      routerClient?.resync();
    },
  });
  const tables = new TableHolder();
  const forwarder = new Forwarder({
    sidecarId: config.sidecarId,
    podName: config.podName,
    tables,
    fence,
    pool,
    localStages,
    stats,
    taps,
    log: componentLogger(log, "forwarder"),
  });

  let accepting = true;
  const server = await startGrpcServer(
    config.grpcHost,
    config.grpcPort,
    [
      dataPlaneService({
        forwarder,
        taps,
        localServices: () => discovery.current(),
        lastScanMs: () => discovery.lastScanMs,
        accepting: () => accepting,
        auth: security.auth,
        log: componentLogger(log, "peer-server"),
      }),
    ],
    {},
    security,
  );
  // Since exec: what a pod's readiness waits for (docs/benchmarks.md, "Start-up").
  const servingAfter = { ms: Math.round(performance.now()), cpuMs: cpuMsSinceStart() };
  // Peers forward 100 KB batches: wide HTTP/2 windows spare them WINDOW_UPDATE round trips.
  widenServerWindows(server.server);
  // Serving (health SERVING) before the first scan, so a pod is ready as soon as it can take traffic:
  // until its first table arrives a batch is refused retryably, and the scan only feeds registration.
  await discovery.rescan();
  const peerAddress = config.peerAddress ?? `${advertisedHost(config.grpcHost)}:${server.port}`;

  const sources = new SourceRunners({
    forwarder,
    pool,
    localStages,
    stats,
    drainGraceMs: config.shutdownGraceSecs * 1000,
    onClaimsChanged: () => routerClient?.notifySourcesChanged(),
    log: componentLogger(log, "sources"),
  });
  // Everything follows the one table, in this order.
  tables.onChange(({ table }) => {
    fence.lift();
    metrics.routingTableVersion.set(table.version);
    localStages.retain(table.localStages());
  });
  tables.onChange((change) => sources.apply(change));
  const tableLog = componentLogger(log, "routing-table");
  routerClient = new RouterClient({
    endpoint: config.clusterEndpoint,
    sidecarId: config.sidecarId,
    podName: config.podName,
    namespace: config.namespace,
    peerAddress,
    heartbeatIntervalMs: config.heartbeatIntervalSecs * 1000,
    credentials: security.channelCredentials,
    interceptors: security.clientInterceptors,
    services: () => discovery.current(),
    stages: () => stats.snapshot(),
    sources: () => sources.claims(),
    routingVersion: () => tables.current.version,
    fenced: () => fence.tripped,
    onTable: (proto, newSession) => {
      const current = tables.current;
      if (Number(proto.generation) < current.generation) {
        tableLog.warn(
          { generation: proto.generation, current: current.generation },
          "ignoring a routing table older than the one this sidecar has",
        );
        return;
      }
      let table: RoutingTable;
      try {
        table = RoutingTable.fromProto(proto, config.sidecarId);
      } catch (err) {
        tableLog.error(
          { err, version: proto.version },
          "unusable routing table from the router; keeping v" + current.version,
        );
        return;
      }
      tables.set(table, newSession);
      tableLog.info(
        { version: table.version, pipelines: table.pipelineNames(), newSession },
        "routing table updated",
      );
    },
    log: componentLogger(log, "router-client"),
  });
  discovery.onChange(() => routerClient.notifyServicesChanged());
  routerClient.start();
  // Rotated certificates reach established connections too: peers and the router are dialled afresh.
  security.certs?.onReload(() => {
    pool.renewPeers();
    routerClient?.renewChannels();
  });
  const metricsServer: http.Server | undefined = startMetricsServer(
    config.metricsPort,
    config.grpcHost,
    log,
    metricsTlsOf(config, security),
  );
  log.info(
    {
      dataPlane: server.address,
      peerAddress,
      router: config.clusterEndpoint,
      services: discovery.current().length,
      servingAfterMs: servingAfter.ms,
      servingCpuMs: servingAfter.cpuMs,
    },
    "sidecar started",
  );

  return {
    peerAddress,
    async stop() {
      log.info("stopping: draining sources");
      await sources.stopAll();
      await routerClient?.stop();
      accepting = false;
      await server.stop(config.shutdownGraceSecs * 1000);
      discovery.stop();
      fence.stop();
      localStages.close();
      pool.close();
      metricsServer?.close();
      security.close();
      log.info("stopped");
    },
  };
}

/** A wildcard listen address is not reachable by peers: advertise the first non-internal IPv4 (or the hostname). */
function advertisedHost(grpcHost: string): string {
  if (grpcHost !== "0.0.0.0" && grpcHost !== "::") return grpcHost;
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return os.hostname();
}

function cpuMsSinceStart(): number {
  const { user, system } = process.cpuUsage();
  return Math.round((user + system) / 1000);
}
