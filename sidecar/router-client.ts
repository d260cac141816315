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

export interface RouterClientOptions {
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
  /** A table from the router; `newSession` for the first one on a new heartbeat stream. */
  onTable(table: RoutingTable__Output, newSession: boolean): void;
  log: Logger;
}

export class RouterClient {
  private readonly client: RouterGrpcClient;
  private stream: grpc.ClientDuplexStream<SidecarStatus, RoutingTable__Output> | undefined;
  private stopped = false;
  private servicesChanged = false;
  private lastContactMs = 0;
  private loop: Promise<void> | undefined;
  private ageTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: RouterClientOptions) {
    // grpc-js backs off reconnects on its own, up to 120 s (1 s × 1.6ⁿ): after a long router outage
    // Register would fail fast with UNAVAILABLE long after the router is back. Keep the channel's
    // backoff within the sidecar's own (run(): 200 ms → 5 s).
    this.client = new v1.Router(opts.endpoint, opts.credentials ?? grpc.credentials.createInsecure(), {
      ...CHANNEL_OPTIONS,
      interceptors: opts.interceptors ?? [],
      "grpc.initial_reconnect_backoff_ms": 200,
      "grpc.max_reconnect_backoff_ms": 5000,
    });
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
    this.client.close();
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(200, 5000);
    let failures = 0;
    while (!this.stopped) {
      try {
        const res = await this.register();
        failures = 0;
        backoff.reset();
        const intervalMs = res.heartbeatIntervalMs || this.opts.heartbeatIntervalMs;
        this.opts.log.info(
          { router: this.opts.endpoint, generation: res.generation, intervalMs },
          "registered with the router",
        );
        await this.heartbeat(intervalMs);
      } catch (err) {
        if (this.stopped) break;
        const message = (err as Error).message;
        const code = (err as Partial<grpc.ServiceError>).code;
        // Refused credentials are a configuration error: say so every time, not as "unreachable".
        if (code === grpc.status.UNAUTHENTICATED || code === grpc.status.PERMISSION_DENIED)
          this.opts.log.error(
            { router: this.opts.endpoint, err: message },
            "the router refused this sidecar's credentials; routing on the last table",
          );
        // The first failure is worth a warning; repeats while the router is away are not.
        else if (failures++ === 0)
          this.opts.log.warn(
            { router: this.opts.endpoint, err: message },
            "router unreachable; routing on the last table",
          );
        else this.opts.log.debug({ err: message }, "router still unreachable");
      }
      if (!this.stopped) await sleep(backoff.next());
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
    });
  }
}
