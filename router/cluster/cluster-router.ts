/**
 * A member of the router cluster (ROUTER_STORE=etcd:<endpoints>), wiring only:
 *
 *   gRPC server (Router + Admin) ─ switchable ─┬─ leader: the term's services (term.ts)
 *                                               └─ standby: NOT_LEADER with the leader's address /
 *                                                           Admin reads from etcd (standby-admin.ts),
 *                                                           writes and live reads forwarded to the leader
 *   LeaderElection ── elected ──▶ start a term: load the state from etcd, serve sidecars
 *                  └─ deposed ──▶ end the term: streams closed, sidecars follow the new leader
 *   EtcdStore: every commit guarded by the leader key; a failed guard deposes this router
 *
 * The server listens before the first campaign, so an elected router can be
 * reached, and a standby can answer, from the start. The console (--http-port) too: every member
 * serves the page; the leader answers /api from its term, a standby forwards /api to the console
 * address the leader advertises in the leader key (router/console/leader-proxy.ts).
 */
import type * as http from "node:http";
import * as os from "node:os";
import type { RouterConfig } from "../../src/config/env";
import type { PipelineSpec } from "../../src/config/pipeline";
import { metricsTlsOf, type ProcessSecurity } from "../../src/grpc/security";
import { SERVICE, v1 } from "../../src/proto";
import { componentLogger, type Logger } from "../../src/telemetry/log";
import { startMetricsServer } from "../../src/telemetry/metrics";
import { forwardToLeaderConsole } from "../console/leader-proxy";
import {
  consoleApi,
  listenConsole,
  servePage,
  termSources,
  type ConsoleApi,
  type RunningConsole,
} from "../console/server";
import { listen, type RunningRouter } from "../listen";
import { EtcdStore } from "../store/etcd";
import { startTerm, type Term } from "../term";
import { createEtcdClient } from "./etcd-client";
import { LeaderElection } from "./leader-election";
import { standbyAdmin } from "./standby-admin";
import { forwardToLeader, standbyRouter, switchable } from "./standby-services";

export interface ClusterRouterOptions {
  config: RouterConfig;
  log: Logger;
  pipelines: PipelineSpec[];
  /** TLS and authorisation of this router's port; closed when the router stops. */
  security: ProcessSecurity;
}

export async function startClusterRouter(options: ClusterRouterOptions): Promise<RunningRouter> {
  const { config, pipelines, security } = options;
  const endpoints = config.store.slice("etcd:".length);
  const client = createEtcdClient(endpoints, {
    ...(config.etcdCaFile !== undefined ? { caFile: config.etcdCaFile } : {}),
    ...(config.etcdCertFile !== undefined ? { certFile: config.etcdCertFile } : {}),
    ...(config.etcdKeyFile !== undefined ? { keyFile: config.etcdKeyFile } : {}),
  });

  let term: Term | undefined;
  /** The console's /api of the current term (while this router leads). */
  let termConsole: ConsoleApi | undefined;
  /** Elections and step-downs, one at a time, in order. */
  let transitions: Promise<void> = Promise.resolve();
  const transition = (fn: () => Promise<void>): void => {
    transitions = transitions.then(fn).catch((err: unknown) => {
      log.error({ err }, "could not start the leader's term; stepping down");
      election.depose(`term failed to start: ${(err as Error).message}`);
    });
  };

  const leader = (): string | undefined => election.leader;
  const standby = standbyRouter(v1.Router.service, leader);
  const adminForward = forwardToLeader({
    definition: v1.Admin.service,
    leader,
    credentials: security.channelCredentials,
    auth: security.auth,
  });
  // New certificates: the next forwarded call dials afresh and presents them.
  security.certs?.onReload(() => adminForward.renew());
  const standbyAdminImpl = standbyAdmin({
    read: () => store.read(),
    source: `etcd:${endpoints}`,
    forwarded: adminForward.implementation,
    log: options.log.child({ service: "Admin", role: "standby" }),
  });
  /** The term's services while this router leads (after its term has started), else the standby's. */
  const current = async (pickTerm: (t: Term) => object, standbyImpl: object): Promise<object> => {
    await transitions;
    return election.isLeader && term !== undefined ? pickTerm(term) : standbyImpl;
  };
  const server = await listen(
    config,
    [
      {
        name: SERVICE.router,
        definition: v1.Router.service,
        implementation: switchable(
          v1.Router.service,
          async () => (await current((t) => t.router.binding.implementation, standby)) as typeof standby,
        ),
      },
      {
        name: SERVICE.admin,
        definition: v1.Admin.service,
        implementation: switchable(
          v1.Admin.service,
          async () => (await current((t) => t.admin.implementation, standbyAdminImpl)) as typeof standby,
        ),
      },
    ],
    security,
  );
  // The port is known now (port 0 resolves at bind): what standbys will name as the leader.
  const address =
    config.advertiseAddress ??
    `${config.host === "0.0.0.0" || config.host === "::" ? os.hostname() : config.host}:${server.port}`;
  const log = options.log.child({ router: address });
  const advertisedHost = address.slice(0, address.lastIndexOf(":"));
  const webConsole: RunningConsole | undefined =
    config.httpPort !== undefined && config.httpPort > 0
      ? await listenConsole(
          config.host,
          config.httpPort,
          async (req, res) => {
            if (await servePage(req, res)) return;
            await transitions;
            if (election.isLeader && termConsole !== undefined) await termConsole.handle(req, res);
            else forwardToLeaderConsole(req, res, election.leaderConsole);
          },
          componentLogger(log, "console"),
          () => termConsole?.close(),
        )
      : undefined;

  const election: LeaderElection = new LeaderElection({
    client,
    endpoints,
    key: `${config.etcdPrefix}leader`,
    address,
    ...(webConsole !== undefined ? { consoleAddress: `${advertisedHost}:${webConsole.port}` } : {}),
    ttlSecs: config.leaseTtlSecs,
    log,
    credentials: security.channelCredentials,
    onElected: () =>
      transition(async () => {
        if (!election.isLeader) return;
        term = await startTerm({ config, store, log, pipelines, auth: security.auth });
        termConsole = consoleApi({
          ...termSources(term),
          auth: security.auth,
          log: componentLogger(log, "console"),
        });
      }),
    onDeposed: () =>
      transition(async () => {
        const ended = term;
        term = undefined;
        termConsole?.close();
        termConsole = undefined;
        await ended?.stop();
      }),
  });
  const store: EtcdStore = new EtcdStore({
    client,
    endpoints,
    prefix: config.etcdPrefix,
    guard: () => election.guard(),
    onDeposed: (reason) => election.depose(reason),
    log,
  });

  const metricsServer: http.Server | undefined = startMetricsServer(
    config.metricsPort,
    config.host,
    log,
    metricsTlsOf(config, security),
  );
  log.info(
    { address: server.address, advertised: address, etcd: endpoints, leaseTtlSecs: config.leaseTtlSecs },
    "router listening (router cluster member; campaigning for leadership)",
  );
  election.start();

  let stopping: Promise<void> | undefined;
  return {
    address: server.address,
    stop: () => {
      stopping ??= (async () => {
        await election.stop();
        await transitions;
        await term?.stop();
        adminForward.close();
        await webConsole?.stop();
        await server.stop(2000);
        security.close();
        client.close();
        await new Promise<void>((resolve) =>
          metricsServer ? metricsServer.close(() => resolve()) : resolve(),
        );
        log.info("router stopped");
      })();
      return stopping;
    },
  };
}
