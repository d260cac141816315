/**
 * The sidecar registry: who registered, what they run, when they last spoke.
 * Liveness is decided here and only here: a sidecar with no status message for
 * `deadAfterMs` is dead (kept for ListSidecars, left out of planning) until it
 * heartbeats or registers again. A heartbeat stream that broke shortens the
 * wait: a live sidecar reconnects within moments (its backoff starts at 200 ms),
 * so one without a new stream after `graceMs` is dead — a killed process closes
 * its sockets, and this is what makes failover take about one heartbeat
 * interval instead of three. A frozen process keeps its stream open and is
 * caught by silence.
 *
 * The clock is injected so that tests decide when time passes.
 */
import type { LocalService__Output } from "../src/generated/conveyor/v1/LocalService";
import type { SourceClaim__Output } from "../src/generated/conveyor/v1/SourceClaim";
import type { StageStatus__Output } from "../src/generated/conveyor/v1/StageStatus";

export type SidecarState = "alive" | "dead";

export interface SidecarRecord {
  id: string;
  podName: string;
  namespace: string;
  peerAddress: string;
  services: LocalService__Output[];
  /** The latest per-stage counters the sidecar reported. */
  stages: StageStatus__Output[];
  /** The sources it reads now (draining included), as it last reported. */
  sources: SourceClaim__Output[];
  /** The version of the last routing table it reported having. */
  routingVersion: number;
  lastHeartbeatMs: number;
  state: SidecarState;
  /**
   * Set when it came back after the router presumed it dead and the table moved on meanwhile: it
   * still routes on a table older than `untilVersion` (peers refuse its batches as STALE_GENERATION)
   * until it reports having that one. Cleared then.
   */
  fence?: { sinceMs: number; untilVersion: number };
  /** Its own pause fence is up, as it reported (SidecarStatus.fenced). */
  selfFenced: boolean;
  /** Set when its heartbeat stream broke: dead at this time unless it speaks again. */
  lostDeadlineMs?: number;
}

export interface Registration {
  id: string;
  podName: string;
  namespace: string;
  peerAddress: string;
  services: LocalService__Output[];
}

export interface StatusUpdate {
  /** Present when the sidecar reports a change of its services (replaces them). */
  services?: LocalService__Output[];
  stages: StageStatus__Output[];
  sources: SourceClaim__Output[];
  routingVersion: number;
  /** Its pause fence is up (SidecarStatus.fenced). */
  fenced?: boolean;
}

export interface MembershipChange {
  /** The sidecar was unknown before. */
  joined: boolean;
  /** The sidecar was dead and is alive again. */
  revived: boolean;
}

export interface StatusChange extends MembershipChange {
  servicesChanged: boolean;
  /** What it reads changed (a source started or stopped). */
  sourcesChanged: boolean;
  routingVersionChanged: boolean;
}

export interface MembershipOptions {
  deadAfterMs: number;
  clock?: () => number;
}

export class Membership {
  private readonly sidecars = new Map<string, SidecarRecord>();
  private readonly deadAfterMs: number;
  private readonly clock: () => number;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: MembershipOptions) {
    this.deadAfterMs = options.deadAfterMs;
    this.clock = options.clock ?? Date.now;
  }

  /** Upserts the sidecar as alive; a known id has all its data replaced. */
  register(r: Registration): MembershipChange {
    const before = this.sidecars.get(r.id);
    this.sidecars.set(r.id, {
      id: r.id,
      podName: r.podName,
      namespace: r.namespace,
      peerAddress: r.peerAddress,
      services: r.services,
      stages: before?.stages ?? [],
      // What it reads is known from its next status; until then, what it said last holds.
      sources: before?.sources ?? [],
      routingVersion: before?.routingVersion ?? 0,
      lastHeartbeatMs: this.clock(),
      state: "alive",
      ...(before?.fence ? { fence: before.fence } : {}),
      selfFenced: before?.selfFenced ?? false,
    });
    return { joined: before === undefined, revived: before?.state === "dead" };
  }

  /**
   * Refreshes liveness from a status message. Undefined when the id is
   * unknown (the sidecar must register first).
   */
  heartbeat(id: string, update: StatusUpdate): StatusChange | undefined {
    const s = this.sidecars.get(id);
    if (s === undefined) return undefined;
    const revived = s.state === "dead";
    const sourcesChanged = claimsKey(s.sources) !== claimsKey(update.sources);
    const routingVersionChanged = s.routingVersion !== update.routingVersion;
    s.state = "alive";
    s.lastHeartbeatMs = this.clock();
    delete s.lostDeadlineMs;
    s.stages = update.stages;
    s.sources = update.sources;
    s.routingVersion = update.routingVersion;
    s.selfFenced = update.fenced === true;
    if (s.fence && s.routingVersion >= s.fence.untilVersion) delete s.fence;
    if (update.services !== undefined) s.services = update.services;
    return {
      joined: false,
      revived,
      servicesChanged: update.services !== undefined,
      sourcesChanged,
      routingVersionChanged,
    };
  }

  /** Its heartbeat stream broke: dead after graceMs unless it registers or heartbeats again. */
  streamLost(id: string, graceMs: number): void {
    const s = this.sidecars.get(id);
    if (s?.state === "alive") s.lostDeadlineMs = this.clock() + graceMs;
  }

  /**
   * It is back after being presumed dead: fenced until it reports routing table `currentVersion`
   * (nothing when it already has it: the table did not move on without it).
   */
  fenceRevived(id: string, currentVersion: number): void {
    const s = this.sidecars.get(id);
    if (s === undefined || s.routingVersion >= currentVersion) return;
    s.fence = { sinceMs: this.clock(), untilVersion: currentVersion };
  }

  /** Forgets the sidecar; false when it was unknown. */
  deregister(id: string): boolean {
    return this.sidecars.delete(id);
  }

  has(id: string): boolean {
    return this.sidecars.has(id);
  }

  get(id: string): SidecarRecord | undefined {
    return this.sidecars.get(id);
  }

  /** Every known sidecar, alive and dead, sorted by id. */
  all(): SidecarRecord[] {
    return [...this.sidecars.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  alive(): SidecarRecord[] {
    return this.all().filter((s) => s.state === "alive");
  }

  /** Marks every sidecar silent for longer than the deadline dead; returns those newly dead. */
  sweep(): SidecarRecord[] {
    const now = this.clock();
    const died: SidecarRecord[] = [];
    for (const s of this.sidecars.values()) {
      const silent = now - s.lastHeartbeatMs > this.deadAfterMs;
      const lost = s.lostDeadlineMs !== undefined && now > s.lostDeadlineMs;
      if (s.state === "alive" && (silent || lost)) {
        s.state = "dead";
        delete s.lostDeadlineMs;
        died.push(s);
      }
    }
    return died;
  }

  /** Sweeps every intervalMs; onTick gets the newly dead (often none). */
  startSweeping(intervalMs: number, onTick: (died: SidecarRecord[]) => void): void {
    this.stopSweeping();
    this.timer = setInterval(() => onTick(this.sweep()), intervalMs);
  }

  stopSweeping(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

function claimsKey(claims: readonly SourceClaim__Output[]): string {
  return JSON.stringify(claims.map((c) => [c.pipeline, c.stage, c.partitions, c.generation]));
}
