/**
 * Leader election of the router cluster on an etcd lease and one key.
 *
 *   grant lease (TTL) ─▶ txn: if create_revision(<prefix>leader) == 0
 *                              then put leader = {address, lease} with the lease ─▶ LEADER (guard = that revision)
 *                              else get leader                                    ─▶ STANDBY (knows who leads)
 *   STANDBY: watch the key from the next revision; deleted (lease expired or revoked,
 *            or the leader resigned) ─▶ campaign again. Meanwhile leader-probe.ts
 *            revokes the lease of a leader whose process is provably gone.
 *   LEADER:  until the lease is lost (no keep-alive for 2 × TTL, or etcd says it expired),
 *            a commit's guard fails (store/etcd.ts → depose()), or stop() ─▶ step down,
 *            new lease, campaign again.
 *
 * etcd unreachable: one warning per attempt (every second), naming etcd and
 * its endpoints; the router answers as a standby that knows no leader.
 */
import type { Etcd3, IKeyValue, Lease } from "etcd3";
import type { Logger } from "../../src/telemetry/log";
import type { LeaderGuard } from "./guarded-commit";
import type * as grpc from "@grpc/grpc-js";
import { probeLeader, type LeaderProbe } from "./leader-probe";

export interface LeaderElectionOptions {
  client: Etcd3;
  /** As configured, for log lines. */
  endpoints: string;
  /** The leader key, e.g. "/conveyor/leader". */
  key: string;
  /** The address this router advertises to sidecars and standbys. */
  address: string;
  /** Its console's HTTP address (host:port), advertised beside it so standbys can forward /api there. */
  consoleAddress?: string;
  ttlSecs: number;
  log: Logger;
  /** Credentials of the channel that watches the leader's health (TLS when the routers use it). */
  credentials?: grpc.ChannelCredentials;
  /** This router became the leader (it must load the state and start its term). */
  onElected(guard: LeaderGuard): void;
  /** This router stopped being the leader (it must end its term). */
  onDeposed(reason: string): void;
}

/** The leader key's value (JSON). `console` was added later: a reader must accept its absence. */
interface LeaderValue {
  address: string;
  lease: string;
  /** The leader's console (host:port), when it serves one. */
  console?: string;
}

const RETRY_MS = 1000;

export class LeaderElection {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private currentGuard: LeaderGuard | undefined;
  private leaderAddress: string | undefined;
  private leaderConsoleAddress: string | undefined;
  private lastKeepAliveMs = 0;
  private wake: ((reason: string) => void) | undefined;
  private lease: Lease | undefined;
  private signalStop: () => void = () => undefined;
  private readonly stopSignal = new Promise<void>((resolve) => (this.signalStop = resolve));

  constructor(private readonly o: LeaderElectionOptions) {}

  start(): void {
    this.loop = this.run();
  }

  /** The leader's address as last seen (this router's own when it leads). */
  get leader(): string | undefined {
    return this.leaderAddress;
  }

  /** The leader's console HTTP address as last seen (undefined: none known, or it serves none). */
  get leaderConsole(): string | undefined {
    return this.leaderConsoleAddress;
  }

  get isLeader(): boolean {
    return this.currentGuard !== undefined;
  }

  /**
   * The guard for a commit, while this router leads and its lease cannot yet
   * have expired by its own clock (a commit is refused by etcd anyway if it did).
   */
  guard(): LeaderGuard | undefined {
    if (this.currentGuard === undefined) return undefined;
    if (Date.now() - this.lastKeepAliveMs > this.o.ttlSecs * 1000) return undefined;
    return this.currentGuard;
  }

  /** A commit's guard failed: step down now. */
  depose(reason: string): void {
    this.wake?.(reason);
  }

  /** Resigns (deletes the leader key if still ours, revokes the lease) and stops campaigning. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.signalStop();
    const guard = this.currentGuard;
    this.wake?.("router stopping");
    await this.loop;
    if (guard !== undefined) {
      const { client } = this.o;
      await client
        .if(guard.key, "Create", "==", guard.createRevision)
        .then(client.delete().key(guard.key))
        .commit()
        .catch(() => undefined);
    }
    await this.lease?.revoke().catch(() => undefined);
  }

  private async run(): Promise<void> {
    let attempt = 0;
    while (!this.stopped) {
      try {
        const lease = this.o.client.lease(this.o.ttlSecs);
        this.lease = lease;
        const lost = new Promise<string>((resolve) =>
          lease.on("lost", (err) => resolve(`lease lost (${err.message})`)),
        );
        lease.on("keepaliveSucceeded", () => (this.lastKeepAliveMs = Date.now()));
        const leaseId = await lease.grant();
        this.lastKeepAliveMs = Date.now();
        if (attempt > 0) this.o.log.info({ etcd: this.o.endpoints }, "etcd reachable again");
        attempt = 0;
        await this.campaign(leaseId, lost);
        await lease.revoke().catch(() => undefined);
      } catch (err) {
        if (this.stopped) break;
        attempt++;
        this.leaderAddress = undefined;
        this.leaderConsoleAddress = undefined;
        this.o.log.warn(
          { etcd: this.o.endpoints, attempt, err: (err as Error).message },
          `etcd at ${this.o.endpoints} is unreachable; no leader election until it answers (retrying every ${RETRY_MS / 1000} s; serving as a standby)`,
        );
        this.lease?.release();
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }

  /** Returns when this lease is done (lost, or leadership ended); throws on etcd errors. */
  private async campaign(leaseId: string, lost: Promise<string>): Promise<void> {
    const { client, key, log } = this.o;
    const value = JSON.stringify({
      address: this.o.address,
      lease: leaseId,
      ...(this.o.consoleAddress !== undefined ? { console: this.o.consoleAddress } : {}),
    } satisfies LeaderValue);
    for (;;) {
      if (this.stopped) return;
      const res = await client
        .if(key, "Create", "==", 0)
        .then(client.put(key).value(value).lease(leaseId))
        .else(client.get(key))
        .commit();
      if (res.succeeded) {
        this.currentGuard = { key, createRevision: res.header.revision, leaseId };
        this.leaderAddress = this.o.address;
        this.leaderConsoleAddress = this.o.consoleAddress;
        log.info(
          { leaderRevision: Number(res.header.revision), lease: leaseId, ttlSecs: this.o.ttlSecs },
          "elected leader of the router cluster",
        );
        const deposed = new Promise<string>((resolve) => (this.wake = resolve));
        this.o.onElected(this.currentGuard);
        const reason = await Promise.race([lost, deposed]);
        this.wake = undefined;
        this.currentGuard = undefined;
        this.leaderAddress = undefined;
        this.leaderConsoleAddress = undefined;
        log.warn({ reason }, "stepping down: no longer the leader");
        this.o.onDeposed(reason);
        return;
      }
      const kv = res.responses[0]?.response_range?.kvs[0];
      const outcome = await this.follow(kv, res.header.revision, lost);
      if (outcome === "lost") return;
    }
  }

  /** As a standby: resolves "deleted" when the leader key goes, "lost" when our own lease does. */
  private async follow(
    kv: IKeyValue | undefined,
    revision: string,
    lost: Promise<string>,
  ): Promise<"deleted" | "lost"> {
    const leader = kv ? parseLeaderValue(kv.value.toString("utf8")) : undefined;
    if (leader?.address !== this.leaderAddress)
      this.o.log.info({ leader: leader?.address }, "following the leader of the router cluster");
    this.leaderAddress = leader?.address;
    this.leaderConsoleAddress = leader?.console;
    if (kv === undefined) return "deleted";
    const watcher = await this.o.client
      .watch()
      .key(this.o.key)
      .startRevision(String(Number(revision) + 1))
      .create();
    let probe: LeaderProbe | undefined;
    if (leader !== undefined && leader.address !== this.o.address) {
      probe = probeLeader(leader.address, this.o.credentials, () => {
        this.o.log.info(
          { leader: leader.address },
          "the leader's process is gone (its port refuses connections); revoking its lease",
        );
        this.o.client.leaseClient
          .leaseRevoke({ ID: leader.lease })
          .catch((err: unknown) =>
            this.o.log.debug({ err }, "could not revoke the old leader's lease; it expires on its own"),
          );
      });
    }
    try {
      return await Promise.race([
        new Promise<"deleted">((resolve) => watcher.on("delete", () => resolve("deleted"))),
        lost.then(() => "lost" as const),
        this.stopSignal.then(() => "lost" as const),
      ]);
    } finally {
      probe?.stop();
      await watcher.cancel().catch(() => undefined);
    }
  }
}

export function parseLeaderValue(text: string): LeaderValue | undefined {
  try {
    const v = JSON.parse(text) as Partial<LeaderValue>;
    return typeof v.address === "string" && typeof v.lease === "string"
      ? {
          address: v.address,
          lease: v.lease,
          ...(typeof v.console === "string" ? { console: v.console } : {}),
        }
      : undefined;
  } catch {
    return undefined;
  }
}
