/**
 * The guard on every commit of the router cluster (pure; store/etcd.ts runs it).
 *
 *   txn  if   create_revision(<prefix>leader) == the revision at which this router became leader
 *        and  mod_revision(<prefix>state)     == the revision this router last read or wrote
 *        then put <prefix>state = the new state
 *
 * The leader key is created with the leader's lease and vanishes with it, and
 * a new leader creates it again at a higher revision: a deposed leader (its
 * lease expired while it was paused, partitioned or slow) fails the first
 * comparison whatever it believes. The second catches any other writer. And a
 * commit never lowers the generation, so sidecars' fences only move forward.
 */
import { ConveyorError } from "../../src/errors";
import type { RouterState } from "../store/store";

/** What makes this router the leader: its key, the revision that created it, and its lease. */
export interface LeaderGuard {
  key: string;
  createRevision: string;
  leaseId: string;
}

/** What the leader last read or wrote at the state key. */
export interface StateCursor {
  /** "0" when the key does not exist yet. */
  modRevision: string;
  generation: number;
}

export interface Compare {
  key: string;
  target: "Create" | "Mod";
  value: string;
}

export interface GuardedPut {
  compares: Compare[];
  put: { key: string; value: string };
}

/** The transaction that commits `state`, or a refusal (not the leader; a generation going down). */
export function guardedPut(
  guard: LeaderGuard | undefined,
  cursor: StateCursor,
  stateKey: string,
  state: RouterState,
  formatVersion: number,
): GuardedPut {
  if (guard === undefined)
    throw new ConveyorError(
      "NOT_LEADER",
      "this router is not the leader (or its lease may have run out); nothing committed",
    );
  if (state.generation < cursor.generation)
    throw new ConveyorError(
      "INTERNAL",
      `refusing to commit generation ${state.generation} over ${cursor.generation}: generations never go down`,
      { expected: `>= ${cursor.generation}`, actual: state.generation },
    );
  return {
    compares: [
      { key: guard.key, target: "Create", value: guard.createRevision },
      { key: stateKey, target: "Mod", value: cursor.modRevision },
    ],
    put: { key: stateKey, value: JSON.stringify({ formatVersion, ...state }) },
  };
}

/** One line per commit: who holds which stage in which generation (the e2e test checks the history). */
export function describeAssignments(state: RouterState): string[] {
  return state.assignments.map(
    (a) => `${a.pipeline}/${a.stageIndex}:${a.stage}@${a.sidecarId}[${a.partitions.join(",")}]`,
  );
}
