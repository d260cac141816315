/**
 * Source hand-offs: never two readers of one partition. Pure and synchronous.
 *
 *   intended plan ─┐
 *   owners        ─┼─▶ publishablePlan() ─▶ the plan the routing table is built from
 *   claims        ─┘        (a partition moving from A to B is left out of B's
 *                            instance until A no longer claims it, or A is dead)
 *
 * A partition (or an unpartitioned source, as one unit) is *owned* by the
 * sidecar the last published table gave it to; the owner stays recorded while
 * the unit is withheld from everyone. A unit without a recorded owner (the
 * router just started) is owned by a sidecar that claims it. A *claim* is what an alive sidecar says in
 * its heartbeat it is reading now, draining included. The old owner drops the
 * unit from its claims once its reader stopped with its last ack durable; the
 * router then publishes the unit to the new owner. An owner that died claims
 * nothing (dead sidecars' claims are not passed in): its units move at once,
 * and the higher instance generation fences it should it wake up.
 */
import type { Plan, StageInstancePlan, StagePlacement } from "./assignment";

/** What one alive sidecar reads now. */
export interface SourceClaim {
  sidecarId: string;
  pipeline: string;
  stage: string;
  /** Empty for an unpartitioned source. */
  partitions: readonly number[];
}

/** A unit waiting for its old owner to let go. */
export interface Handoff {
  pipeline: string;
  stage: string;
  /** -1 for an unpartitioned source. */
  partition: number;
  from: string;
  to: string;
}

/** The partition of an unpartitioned source. */
const WHOLE = -1;

export function unitKey(pipeline: string, stage: string, partition: number): string {
  return JSON.stringify([pipeline, stage, partition]);
}

function unitsOf(i: StageInstancePlan): number[] {
  return i.partitions.length > 0 ? [...i.partitions] : [WHOLE];
}

function isSource(s: StagePlacement): boolean {
  return s.index === 0 && s.kind === "source";
}

/**
 * The plan with every unit left out whose recorded owner is another sidecar
 * that still claims it. Stages other than sources pass unchanged.
 */
export function publishablePlan(
  intended: Plan,
  owners: ReadonlyMap<string, string>,
  claims: readonly SourceClaim[],
): { plan: Plan; waiting: Handoff[] } {
  const claimed = new Set<string>();
  /** A unit with no recorded owner (a router that just started) is owned by whoever claims it. */
  const claimer = new Map<string, string>();
  for (const c of claims) {
    const units = c.partitions.length > 0 ? c.partitions : [WHOLE];
    for (const p of units) {
      claimed.add(JSON.stringify([c.sidecarId, c.pipeline, c.stage, p]));
      const key = unitKey(c.pipeline, c.stage, p);
      if (!claimer.has(key)) claimer.set(key, c.sidecarId);
    }
  }
  const waiting: Handoff[] = [];
  const pipelines = intended.pipelines.map((p) => {
    const stages = p.stages.map((s): StagePlacement => {
      if (!isSource(s)) return s;
      const instances: StageInstancePlan[] = [];
      for (const i of s.instances) {
        const kept: number[] = [];
        for (const unit of unitsOf(i)) {
          const key = unitKey(p.pipeline, s.name, unit);
          const owner = owners.get(key) ?? claimer.get(key);
          const held =
            owner !== undefined &&
            owner !== i.sidecarId &&
            claimed.has(JSON.stringify([owner, p.pipeline, s.name, unit]));
          if (held)
            waiting.push({
              pipeline: p.pipeline,
              stage: s.name,
              partition: unit,
              from: owner,
              to: i.sidecarId,
            });
          else kept.push(unit);
        }
        if (kept.length === unitsOf(i).length) instances.push(i);
        else if (kept.length > 0 && i.partitions.length > 0) instances.push({ ...i, partitions: kept });
      }
      return { ...s, instances };
    });
    const reasons = [...p.reasons];
    for (const w of waiting.filter((h) => h.pipeline === p.pipeline)) {
      const what =
        w.partition === WHOLE ? `source "${w.stage}"` : `partition ${w.partition} of source "${w.stage}"`;
      reasons.push(
        `${what} moves from sidecar "${w.from}" to "${w.to}" once "${w.from}" has stopped reading it`,
      );
    }
    return { ...p, stages, reasons, state: reasons.length === 0 ? p.state : ("pending" as const) };
  });
  return { plan: { pipelines }, waiting };
}

/**
 * The owners after publishing `published`: every published unit is owned by
 * its instance's sidecar; a withheld unit keeps its recorded owner while that
 * owner still claims it; anything else is forgotten.
 */
export function ownersAfter(
  published: Plan,
  previous: ReadonlyMap<string, string>,
  claims: readonly SourceClaim[],
): Map<string, string> {
  const next = new Map<string, string>();
  for (const p of published.pipelines) {
    for (const s of p.stages) {
      if (!isSource(s)) continue;
      for (const i of s.instances)
        for (const u of unitsOf(i)) next.set(unitKey(p.pipeline, s.name, u), i.sidecarId);
    }
  }
  for (const c of claims) {
    for (const u of c.partitions.length > 0 ? c.partitions : [WHOLE]) {
      const key = unitKey(c.pipeline, c.stage, u);
      if (!next.has(key) && previous.get(key) === c.sidecarId) next.set(key, c.sidecarId);
    }
  }
  return next;
}

/** Where an intended assignment stands against the published table. */
export interface Placement {
  /** "published": in the table the sidecars route on; "intended": planned, withheld until the old owner let go. */
  placement: "published" | "intended";
  /** The partitions published to the sidecar (the intended ones less those still waiting). */
  partitions: number[];
  /** Partitions planned for the sidecar but still waiting for their old owner. */
  pendingPartitions: number[];
  /** The sidecars still reading what waits. */
  pendingFrom: string[];
}

/**
 * What publishablePlan() left of an intended assignment: every assignment is
 * published as planned except the source units of `waiting` hand-offs to its
 * sidecar; an assignment with none of its units published is only intended.
 */
export function placementOf(
  a: { pipeline: string; stage: string; sidecarId: string; partitions: readonly number[] },
  waiting: readonly Handoff[],
): Placement {
  const mine = waiting.filter(
    (w) => w.pipeline === a.pipeline && w.stage === a.stage && w.to === a.sidecarId,
  );
  if (mine.length === 0)
    return { placement: "published", partitions: [...a.partitions], pendingPartitions: [], pendingFrom: [] };
  const pendingFrom = [...new Set(mine.map((w) => w.from))].sort();
  const withheld = new Set(mine.map((w) => w.partition));
  const partitions = a.partitions.filter((p) => !withheld.has(p));
  const pendingPartitions = a.partitions.filter((p) => withheld.has(p));
  const placement = partitions.length > 0 ? "published" : "intended";
  return { placement, partitions, pendingPartitions, pendingFrom };
}
