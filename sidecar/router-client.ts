/**
 * The sidecar's side of the control plane:
 *
 *   Register ──► Heartbeat stream: status every interval ↑ / routing tables ↓ ──► (stream lost) ──► backoff ──► Register …
 *
 * The router's only command is the routing table: the full table first on
 * every stream, then the whole new table on every change. The sidecar answers
 * each table with a status at once (its routing version and what it reads),
 * which is what lets the router hand a source over without two readers.
 * While the router is unreachable the sidecar keeps forwarding on its last
 * routing table; it registers again when the router returns (a router that
 * restarted without state answers NOT_FOUND, which also means: register).
 * With a router cluster (CLUSTER_ENDPOINT=a:7070,b:7070,c:7070) a standby
 * answers NOT_LEADER with the leader's address: the sidecar goes there at once
 * (router-endpoints.ts decides where next and how long to wait). A DNS name
 * among the endpoints counts as one endpoint per address, re-resolved after
 * failures (endpoint-resolver.ts). Keepalive
 * pings on the router channel notice a leader that stopped answering (paused,
 * partitioned) within about two heartbeat intervals.
 */
import * as grpc from "@grpc/grpc-js";
import { CHANNEL_OPTIONS, deadlineIn, v1 } from "../src/proto";
import type { RouterClient as RouterGrpcClient } from "../src/generated/conveyor/v1/Router";
import type { LocalService__Output } from "../src/generated/conveyor/v1/LocalService";
import type { RoutingTable__Output } from "../src/generated/conveyor/v1/RoutingTable";
import type { SourceClaim } from "../src/generated/conveyor/v1/SourceClaim";
import type { SidecarStatus } from "../src/generated/conveyor/v1/SidecarStatus";
import type { StageStatus } from "../src/generated/conveyor/v1/StageStatus";
import type { RegisterResponse__Output } from "../src/generated/conveyor/v1/RegisterResponse";
import { metrics } from "../src/telemetry/metrics";
import type { Logger } from "../src/telemetry/log";
import { Backoff, sleep } from "../src/backoff";
import { parseLeaderRefusal } from "../src/grpc/leader-hint";
import { EndpointResolver, type LookupAll } from "./endpoint-resolver";
import { parseEndpointList, RouterEndpoints } from "./router-endpoints";

export interface RouterClientOptions {
  /** One router (host:port) or several, comma-separated (a router cluster). */
  endpoint: string;
  sidecarId: string;
  podName: string;
  namespace: string;
  peerAddress: string;
  heartbeatIntervalMs: number;
  /** TLS/mTLS to the router when configured (default plaintext). */
  credentials?: grpc.ChannelCredentials;
  /** Client interceptors of every call (the registration token, when configured). */
  interceptors?: grpc.Interceptor[];
  services(): LocalService__Output[];
  stages(): StageStatus[];
  /** The sources this sidecar reads now. */
  sources(): SourceClaim[];
  routingVersion(): number;
  /** The pause fence is up (SidecarStatus.fenced); absent: never. */
  fenced?(): boolean;
  /** A table from the router; `newSession` for the first one on a new heartbeat stream. */
  onTable(table: RoutingTable__Output, newSession: boolean): void;
  log: Logger;
  /** DNS lookup of endpoint names (default: the system resolver); injected by tests. */
  lookup?: LookupAll;
}

export class RouterClient {
  private readonly clients = new Map<string, RouterGrpcClient>();
  private readonly endpoints: RouterEndpoints;
  private readonly resolver: EndpointResolver;
  private stream: grpc.ClientDuplexStream<SidecarStatus, RoutingTable__Output> | undefined;
  private stopped = false;
  private servicesChanged = false;
  private lastContactMs = 0;
  private loop: Promise<void> | undefined;
  private ageTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: RouterClientOptions) {
    const entries = parseEndpointList(opts.endpoint);
    this.endpoints = new RouterEndpoints(entries);
    this.resolver = new EndpointResolver(entries, opts.lookup);
  }

  /** DNS names → their current addresses (no-op without names, or when looked up less than 1 s ago). */
  private async refreshEndpoints(): Promise<void> {
    const fresh = await this.resolver.refresh();
    if (fresh === undefined || fresh.join(",") === this.endpoints.all.join(",")) return;
    this.endpoints.replace(fresh);
    this.opts.log.info({ endpoints: fresh, current: this.endpoints.current }, "router endpoints resolved");
  }

  /**
   * New certificates: drop every router channel, so the next call handshakes
   * afresh and presents them (an open HTTP/2 connection keeps the certificate
   * it was made with). The heartbeat stream ends; the sidecar registers again
   * at once and keeps routing on its table meanwhile.
   */
  renewChannels(): void {
    const old = [...this.clients.values()];
    this.clients.clear();
    this.stream?.cancel();
    for (const c of old) c.close();
  }

  /** The channel to one router, made on first use and kept (switching back is then instant). */
  private clientFor(endpoint: string): RouterGrpcClient {
    let client = this.clients.get(endpoint);
    if (client === undefined) {
      // grpc-js backs off reconnects on its own, up to 120 s (1 s × 1.6ⁿ): after a long router outage
      // Register would fail fast with UNAVAILABLE long after the router is back. Keep the channel's
      // backoff within the sidecar's own (run(): 200 ms → 5 s).
      const keepaliveMs = Math.max(1000, 2 * this.opts.heartbeatIntervalMs);
      // An address resolved from a DNS name is verified (TLS) and addressed (:authority) as that name.
      const name = this.resolver.nameOf(endpoint);
      const port = endpoint.slice(endpoint.lastIndexOf(":") + 1);
      client = new v1.Router(endpoint, this.opts.credentials ?? grpc.credentials.createInsecure(), {
        ...CHANNEL_OPTIONS,
        ...(name !== undefined
          ? { "grpc.ssl_target_name_override": name, "grpc.default_authority": `${name}:${port}` }
          : {}),
        interceptors: this.opts.interceptors ?? [],
        // Not shared with an older channel to the same router (renewChannels must reconnect).
        "grpc.use_local_subchannel_pool": 1,
        "grpc.initial_reconnect_backoff_ms": 200,
        "grpc.max_reconnect_backoff_ms": 5000,
        "grpc.keepalive_time_ms": keepaliveMs,
        "grpc.keepalive_timeout_ms": keepaliveMs,
      });
      this.clients.set(endpoint, client);
    }
    return client;
  }

  private get client(): RouterGrpcClient {
    return this.clientFor(this.endpoints.current);
  }

  start(): void {
    this.loop = this.run();
    this.ageTimer = setInterval(() => {
      if (this.lastContactMs) metrics.heartbeatAge.set((Date.now() - this.lastContactMs) / 1000);
    }, 1000);
    this.ageTimer.unref();
  }

  /** Discovery found a change: tell the router now rather than at the next beat. */
  notifyServicesChanged(): void {
    this.servicesChanged = true;
    this.sendStatus();
  }

  /** A source started or stopped: tell the router now (a hand-off may wait for it). */
  notifySourcesChanged(): void {
    this.sendStatus();
  }

  /**
   * Registers again on a fresh heartbeat stream, on which the router sends the
   * full table. Used after a long pause.
   */
  resync(): void {
    this.stream?.cancel();
  }

  /** Ends the heartbeat and deregisters (best effort within the deadline). */
  async stop(deadlineMs = 3000): Promise<void> {
    this.stopped = true;
    clearInterval(this.ageTimer);
    this.stream?.cancel();
    await new Promise<void>((resolve) =>
      this.client.deregister(
        { sidecarId: this.opts.sidecarId },
        { deadline: deadlineIn(deadlineMs) },
        (err) => {
          if (err)
            this.opts.log.warn(
              { err: err.message },
              "could not deregister; the router will time this sidecar out",
            );
          else this.opts.log.info("deregistered from the router");
          resolve();
        },
      ),
    );
    await this.loop;
    for (const client of this.clients.values()) client.close();
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(200, 5000);
    let failures = 0;
    await this.refreshEndpoints();
    while (!this.stopped) {
      let delayMs: number;
      try {
        const res = await this.register();
        failures = 0;
        backoff.reset();
        this.endpoints.succeeded();
        const intervalMs = res.heartbeatIntervalMs || this.opts.heartbeatIntervalMs;
        this.opts.log.info(
          { router: this.endpoints.current, generation: res.generation, intervalMs },
          "registered with the router",
        );
        await this.heartbeat(intervalMs);
        delayMs = backoff.next();
      } catch (err) {
        if (this.stopped) break;
        const from = this.endpoints.current;
        const refusal = parseLeaderRefusal(err as grpc.ServiceError);
        const next = this.endpoints.failed(
          refusal ? { kind: "not-leader", leader: refusal.leader } : { kind: "unreachable" },
        );
        delayMs = next.delayMs;
        // Unreachable: the name may point elsewhere now (a router pod replaced).
        if (!refusal) await this.refreshEndpoints();
        const message = (err as Error).message;
        const code = (err as Partial<grpc.ServiceError>).code;
        // Refused credentials are a configuration error: say so every time, not as "unreachable".
        if (code === grpc.status.UNAUTHENTICATED || code === grpc.status.PERMISSION_DENIED)
          this.opts.log.error(
            { router: from, err: message },
            "the router refused this sidecar's credentials; routing on the last table",
          );
        else if (refusal)
          this.opts.log.info(
            { router: from, leader: refusal.leader, next: next.endpoint, delayMs },
            "router is not the leader; following",
          );
        // The first failure is worth a warning; repeats while the router is away are not.
        else if (failures++ === 0)
          this.opts.log.warn(
            { router: from, next: next.endpoint, err: message },
            "router unreachable; routing on the last table",
          );
        else
          this.opts.log.debug(
            { router: from, next: next.endpoint, err: message },
            "router still unreachable",
          );
      }
      if (!this.stopped && delayMs > 0) await sleep(delayMs);
    }
  }

  private register(): Promise<RegisterResponse__Output> {
    const { sidecarId, podName, namespace, peerAddress } = this.opts;
    return new Promise((resolve, reject) =>
      this.client.register(
        { sidecarId, podName, namespace, peerAddress, services: this.opts.services() },
        { deadline: deadlineIn(3000) },
        (err, res) => (err || !res ? reject(err ?? new Error("empty register response")) : resolve(res)),
      ),
    );
  }

  /** Resolves when the stream ends; rejects when it fails. */
  private heartbeat(intervalMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const stream = this.client.heartbeat();
      this.stream = stream;
      let first = true;
      this.lastContactMs = Date.now();
      this.servicesChanged = true;
      this.sendStatus();
      const timer = setInterval(() => this.sendStatus(), intervalMs);
      const done = (err?: grpc.ServiceError): void => {
        clearInterval(timer);
        if (this.stream === stream) this.stream = undefined;
        if (err && err.code === grpc.status.NOT_FOUND) {
          this.opts.log.info("router does not know this sidecar; registering again");
          resolve();
        } else if (err && err.code !== grpc.status.CANCELLED) reject(err);
        else resolve();
      };
      stream.on("data", (table: RoutingTable__Output) => {
        this.lastContactMs = Date.now();
        metrics.heartbeatAge.set(0);
        const newSession = first;
        first = false;
        // The failover figure (bench/router-failover.ts) is measured to this line.
        if (newSession)
          this.opts.log.info(
            { router: this.endpoints.current, version: Number(table.version) },
            "first routing table of the session",
          );
        this.opts.onTable(table, newSession);
        this.sendStatus();
      });
      stream.on("error", done);
      stream.on("end", () => done());
    });
  }

  private sendStatus(): void {
    const stream = this.stream;
    if (!stream) return;
    const changed = this.servicesChanged;
    this.servicesChanged = false;
    stream.write({
      sidecarId: this.opts.sidecarId,
      services: changed ? this.opts.services() : [],
      servicesChanged: changed,
      routingVersion: this.opts.routingVersion(),
      stages: this.opts.stages(),
      sources: this.opts.sources(),
      fenced: this.opts.fenced?.() ?? false,
    });
  }
}
