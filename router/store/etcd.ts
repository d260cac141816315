/**
 * ROUTER_STORE=etcd:<host:port,...>: the router state (pipelines, assignments,
 * generation) as one JSON value at `<prefix>state`, written only by the leader
 * of the router cluster, each write one transaction guarded by its leader key
 * (cluster/guarded-commit.ts). A guard that fails means another router leads:
 * the store says so (onDeposed) and the commit is refused with NOT_LEADER.
 * etcd unreachable is STORE_UNAVAILABLE: nothing was committed, the scheduler
 * keeps the last table and retries.
 */
import type { Etcd3 } from "etcd3";
import { ConveyorError } from "../../src/errors";
import type { Logger } from "../../src/telemetry/log";
import {
  describeAssignments,
  guardedPut,
  type LeaderGuard,
  type StateCursor,
} from "../cluster/guarded-commit";
import { checkRouterState, stateOf } from "./state-check";
import type { RouterState, RouterStore } from "./store";

const FORMAT_VERSION = 1;

export interface EtcdStoreOptions {
  client: Etcd3;
  /** As configured, for logs and errors ("127.0.0.1:2379,…"). */
  endpoints: string;
  /** Key prefix, e.g. "/conveyor/". */
  prefix: string;
  /** The guard while this router leads, else undefined. */
  guard(): LeaderGuard | undefined;
  /** A commit's guard failed: another router leads. */
  onDeposed(reason: string): void;
  log: Logger;
}

export class EtcdStore implements RouterStore {
  readonly description: string;
  private readonly stateKey: string;
  private cursor: StateCursor = { modRevision: "0", generation: 0 };

  constructor(private readonly options: EtcdStoreOptions) {
    this.description = `etcd:${options.endpoints}`;
    this.stateKey = `${options.prefix}state`;
  }

  async load(): Promise<RouterState | undefined> {
    const read = await this.fetch();
    this.cursor = read
      ? { modRevision: read.modRevision, generation: read.generation }
      : { modRevision: "0", generation: 0 };
    return read?.state;
  }

  /**
   * The committed state, for a standby's Admin reads: a linearizable read (it
   * sees every commit acknowledged before it), without touching the cursor
   * that guards this router's own commits should it lead.
   */
  async read(): Promise<RouterState | undefined> {
    return (await this.fetch())?.state;
  }

  private async fetch(): Promise<(StateCursor & { state: RouterState }) | undefined> {
    const res = await this.call("read the router state", () => this.options.client.get(this.stateKey).exec());
    const kv = res.kvs[0];
    if (kv === undefined) return undefined;
    let raw: unknown;
    try {
      raw = JSON.parse(kv.value.toString("utf8"));
    } catch (err) {
      throw this.corrupt(`is not valid JSON (${(err as Error).message})`, err);
    }
    const problems = checkRouterState(raw, FORMAT_VERSION);
    if (problems.length > 0) throw this.corrupt(`does not hold a router state: ${problems.join("; ")}`);
    const state = raw as RouterState;
    return {
      modRevision: kv.mod_revision,
      generation: state.generation,
      state: stateOf(state),
    };
  }

  async save(state: RouterState): Promise<void> {
    const guard = this.options.guard();
    const txn = guardedPut(guard, this.cursor, this.stateKey, state, FORMAT_VERSION);
    const { client } = this.options;
    const [first, ...rest] = txn.compares;
    const res = await this.call("commit the router state", () => {
      let builder = client.if(first!.key, first!.target, "==", first!.value);
      for (const c of rest) builder = builder.and(c.key, c.target, "==", c.value);
      return builder.then(client.put(txn.put.key).value(txn.put.value)).commit();
    });
    if (!res.succeeded) {
      const reason = `a commit's guard failed (leader key ${guard!.key} no longer created at revision ${guard!.createRevision}, or ${this.stateKey} changed since revision ${this.cursor.modRevision})`;
      this.options.onDeposed(reason);
      throw new ConveyorError("NOT_LEADER", `not the leader any more: ${reason}; nothing committed`);
    }
    this.cursor = { modRevision: res.header.revision, generation: state.generation };
    // The placement history: one line per commit, ordered across routers by the etcd revision.
    this.options.log.info(
      {
        revision: Number(res.header.revision),
        generation: state.generation,
        leaderRevision: Number(guard!.createRevision),
        assignments: describeAssignments(state),
      },
      "placement committed",
    );
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new ConveyorError(
        "STORE_UNAVAILABLE",
        `could not ${what}: etcd at ${this.options.endpoints} is unreachable (${(err as Error).message})`,
        { endpoints: this.options.endpoints },
        { cause: err },
      );
    }
  }

  private corrupt(reason: string, cause?: unknown): ConveyorError {
    return new ConveyorError(
      "CONFIG_INVALID",
      `router state at etcd key ${this.stateKey} (${this.options.endpoints}) ${reason}; repair or delete the key`,
      { key: this.stateKey },
      { cause },
    );
  }
}
