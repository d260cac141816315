/**
 * The router's state machine: the applied pipelines, the current plan and its
 * generation, and the heartbeat streams that must hear about changes.
 *
 *   Apply/Delete ─┐                                       ┌─▶ store.save (durable first)
 *   Register     ─┼─▶ commit(): plan ─▶ hand-offs ─▶ table ┼─▶ the whole table to every connected sidecar
 *   Heartbeat    ─┤    (serialized)   (handoff.ts)         └─▶ log + metrics
 *   sweep (dead) ─┘
 *
 * The routing table is the only command: every change goes through one queue,
 * a stream that attaches gets the table of the last commit, then every later
 * table whole. A plan is saved before anyone hears of it: a generation a
 * sidecar has seen is never lost. Generations stamped into the table: each
 * pipeline's (the fence of its peer hops) and each stage instance's (what a
 * source reads for) are the generation in which that part last changed.
 */
import { parsePipeline, type PipelineSpec } from "../src/config/pipeline";
import { ConveyorError } from "../src/errors";
import type { RoutingTable } from "../src/generated/conveyor/v1/RoutingTable";
import { stageKindFromProto } from "../src/stages/contract";
import type { Logger } from "../src/telemetry/log";
import {
  assignmentKey,
  assignmentsOf,
  diffAssignments,
  isEmptyDiff,
  pipelineRoute,
  planPipelines,
  routesKey,
  type Assignment,
  type PipelinePlacement,
  type Plan,
  type PreviousOwner,
  type SidecarCandidate,
} from "./assignment";
import {
  ownersAfter,
  placementOf,
  publishablePlan,
  type Handoff,
  type Placement,
  type SourceClaim,
} from "./handoff";
import type { Membership, SidecarRecord } from "./membership";
import type { RouterState, RouterStore, StoredAssignment, StoredTable } from "./store/store";

/** One sidecar's heartbeat stream, as the scheduler sees it. */
export interface Connection {
  readonly sidecarId: string;
  send(table: RoutingTable): void;
  /** Ends the stream (a newer stream replaced it, or the router stops). */
  close(): void;
}

export interface RestoredState {
  generation: number;
  pipelines: PipelineSpec[];
  assignments: StoredAssignment[];
  /** The last committed table and its stamps, when the store has them. */
  table?: StoredTable;
}

export interface SchedulerOptions {
  store: RouterStore;
  membership: Membership;
  log: Logger;
  restored: RestoredState;
  /** How long the owners from before a restart keep their sources while they re-register. */
  holdMs: number;
  clock?: () => number;
  /** Called after every commit (metrics). */
  onCommit?: () => void;
}

export interface PipelineView {
  name: string;
  definitionJson: string;
  placement: PipelinePlacement;
}

export interface AssignmentView {
  assignment: Assignment;
  generation: number;
}

/** An intended assignment and what of it is published (a source hand-off may withhold some). */
export interface PlacementView extends AssignmentView, Placement {}

/** Per pipeline and per stage instance id: the route it stamped (JSON) and the generation. */
type Stamps = Map<string, { key: string; generation: number }>;

interface PipelineEntry {
  spec: PipelineSpec;
  definitionJson: string;
}

/**
 * Parses what a store returned. A stored pipeline that no longer validates is
 * a start-up error naming it (nothing is applied).
 */
export function restoreState(state: RouterState | undefined, source: string): RestoredState {
  if (state === undefined) return { generation: 0, pipelines: [], assignments: [] };
  const pipelines: PipelineSpec[] = [];
  const problems: string[] = [];
  for (const p of state.pipelines) {
    try {
      // Stored definitions are already interpolated: no environment applies.
      pipelines.push(parsePipeline(p.definition, `${source} pipeline "${p.name}"`, {}));
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (problems.length > 0) {
    throw new ConveyorError("CONFIG_INVALID", `stored state is not usable:\n${problems.join("\n")}`, {
      source,
      problems,
    });
  }
  return {
    generation: state.generation,
    pipelines,
    assignments: state.assignments,
    ...(state.table !== undefined ? { table: state.table } : {}),
  };
}

export class Scheduler {
  private readonly store: RouterStore;
  private readonly membership: Membership;
  private readonly log: Logger;
  private readonly clock: () => number;
  private readonly onCommit: () => void;

  private pipelines = new Map<string, PipelineEntry>();
  private generationValue: number;
  /** The published plan: the intended one less the source units still being handed over. */
  private plan: Plan = { pipelines: [] };
  private routes: string;
  /** The table of the last commit (what every sidecar routes with once it heard of it). */
  private table: RoutingTable;
  /** Source unit → the sidecar the last published table gave it to (handoff.ts). */
  private owners = new Map<string, string>();
  /** Source units the last commit withheld from their new owner (handoff.ts). */
  private waiting: Handoff[] = [];
  /** Per pipeline and per stage instance: the published route and the generation it last changed in. */
  private stamps: Stamps = new Map();
  private current = new Map<string, AssignmentView>();
  /** Assignments from before a restart, kept for stickiness until holdUntil. */
  private held: StoredAssignment[];
  private readonly holdUntil: number;
  /**
   * The table committed before a restart, sent to sidecars that come back while the router settles:
   * until every owner from before has re-registered (or the hold ends) it commits nothing on their
   * comings and goings, so that the first plan sees them all and changes nothing that did not change.
   * Cleared by the first commit.
   */
  private restoredTable: RoutingTable | undefined;
  /** The last commit failed (store error): the sweep retries it. */
  private dirty = false;

  private readonly connections = new Map<string, Connection>();
  private queue: Promise<void> = Promise.resolve();

  constructor(options: SchedulerOptions) {
    this.store = options.store;
    this.membership = options.membership;
    this.log = options.log;
    this.clock = options.clock ?? Date.now;
    this.onCommit = options.onCommit ?? (() => undefined);
    this.generationValue = options.restored.generation;
    for (const spec of options.restored.pipelines)
      this.pipelines.set(spec.name, { spec, definitionJson: JSON.stringify(spec) });
    this.held = options.restored.assignments;
    this.holdUntil = this.clock() + options.holdMs;
    const stored = options.restored.table;
    if (stored !== undefined && this.held.length > 0) {
      this.restoredTable = stored.table as RoutingTable;
      this.stamps = new Map(stored.stamps.map((st) => [st.id, { key: st.key, generation: st.generation }]));
    }
    // Nobody has registered yet: the plan is empty, and stays uncommitted (and
    // the generation unchanged) until the first sidecar or pipeline arrives.
    this.plan = this.makePlan(this.pipelines);
    this.routes = routesKey(this.plan);
    this.table = this.stampTable(this.plan, this.generationValue).table;
  }

  get generation(): number {
    return this.generationValue;
  }

  /** Upserts pipelines (already validated); one commit for all of them. */
  applyPipelines(specs: PipelineSpec[]): Promise<{ created: boolean[]; generation: number }> {
    return this.enqueue(async () => {
      const next = new Map(this.pipelines);
      const created = specs.map((spec) => {
        const isNew = !next.has(spec.name);
        next.set(spec.name, { spec, definitionJson: JSON.stringify(spec) });
        return isNew;
      });
      await this.commit(next, `applied ${specs.map((s) => s.name).join(", ")}`);
      specs.forEach((spec, i) =>
        this.log.info(
          { pipeline: spec.name, created: created[i], generation: this.generationValue },
          created[i] ? "pipeline created" : "pipeline applied",
        ),
      );
      return { created, generation: this.generationValue };
    });
  }

  async applyPipeline(spec: PipelineSpec): Promise<{ created: boolean; generation: number }> {
    const result = await this.applyPipelines([spec]);
    return { created: result.created[0], generation: result.generation };
  }

  deletePipeline(name: string): Promise<{ generation: number }> {
    return this.enqueue(async () => {
      if (!this.pipelines.has(name))
        throw new ConveyorError("PIPELINE_NOT_FOUND", `no pipeline named "${name}"`, { pipeline: name });
      const next = new Map(this.pipelines);
      next.delete(name);
      await this.commit(next, `deleted ${name}`);
      this.log.info({ pipeline: name, generation: this.generationValue }, "pipeline deleted");
      return { generation: this.generationValue };
    });
  }

  /**
   * Re-plans against the current sidecars; rejects if the new state cannot be saved. While the
   * router settles after a restart it waits instead (the sidecars route on the restored table).
   */
  replan(reason: string): Promise<void> {
    return this.enqueue(async () => {
      if (this.settling()) {
        this.log.info(
          { reason, waitingFor: this.awaited(), holdMs: Math.max(0, this.holdUntil - this.clock()) },
          "not re-planning yet: waiting for the sidecars from before the restart",
        );
        return;
      }
      await this.commit(this.pipelines, reason);
    });
  }

  /** Owners from before the restart that have not re-registered. */
  private awaited(): string[] {
    const alive = new Set(this.membership.alive().map((s) => s.id));
    return [...new Set(this.held.map((h) => h.sidecarId))].filter((id) => !alive.has(id)).sort();
  }

  private settling(): boolean {
    return this.restoredTable !== undefined && this.clock() < this.holdUntil && this.awaited().length > 0;
  }

  /** Re-plans in the background (sweeps, heartbeats); a failure is logged and retried by tick(). */
  requestReplan(reason: string): void {
    this.replan(reason).catch((err: unknown) =>
      this.log.error({ err, reason }, "re-plan failed; retrying on the next sweep"),
    );
  }

  /** Called every sweep: releases stickiness holds that expired, retries failed commits. */
  tick(): void {
    if (this.held.length > 0 && this.clock() >= this.holdUntil) {
      this.held = [];
      this.requestReplan("sidecars from before the restart did not all return in time");
    } else if (this.dirty) {
      this.requestReplan("retrying a failed commit");
    }
  }

  /** Sends the sidecar the current table, then every later one. */
  attach(connection: Connection): Promise<void> {
    return this.enqueue(() => {
      const previous = this.connections.get(connection.sidecarId);
      if (previous !== undefined && previous !== connection) {
        this.log.warn({ sidecar: connection.sidecarId }, "a new heartbeat stream replaces the open one");
        previous.close();
      }
      this.connections.set(connection.sidecarId, connection);
      connection.send(this.restoredTable ?? this.table);
    });
  }

  /** Some source unit waits for its old owner to stop reading it (a claim or a table version change may end that). */
  get handoffsWaiting(): boolean {
    return this.waiting.length > 0;
  }

  /** Stops sending to this stream (no-op if a newer one replaced it). */
  detach(connection: Connection): void {
    if (this.connections.get(connection.sidecarId) === connection)
      this.connections.delete(connection.sidecarId);
  }

  /** Stops sending to the sidecar's stream, whichever it is (Deregister). */
  detachSidecar(sidecarId: string): void {
    this.connections.delete(sidecarId);
  }

  /** Resolves once every queued change is done. */
  idle(): Promise<void> {
    return this.enqueue(() => undefined);
  }

  pipelineViews(): PipelineView[] {
    return this.plan.pipelines.map((placement) => ({
      name: placement.pipeline,
      definitionJson: this.pipelines.get(placement.pipeline)?.definitionJson ?? "",
      placement,
    }));
  }

  pipelineView(name: string): PipelineView | undefined {
    return this.pipelineViews().find((p) => p.name === name);
  }

  assignmentViews(): AssignmentView[] {
    return [...this.current.values()];
  }

  /**
   * The intended assignments, each with what of it the routing table publishes: during a source
   * hand-off a partition planned for a new owner stays out of the table until the old one let go.
   */
  placementViews(): PlacementView[] {
    return [...this.current.values()].map((v) => ({ ...v, ...placementOf(v.assignment, this.waiting) }));
  }

  private enqueue<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private makePlan(pipelines: ReadonlyMap<string, PipelineEntry>): Plan {
    const alive = new Set(this.membership.alive().map((s) => s.id));
    const holding = this.clock() < this.holdUntil;
    const current = [...this.current.values()].map(({ assignment: a }): PreviousOwner => a);
    // The current plan first: it wins over what was held from before a restart.
    const previous = [...current, ...(holding ? this.held : [])];
    const reserved = new Set(holding ? this.held.map((h) => h.sidecarId).filter((id) => !alive.has(id)) : []);
    return planPipelines({
      pipelines: [...pipelines.values()].map((e) => e.spec),
      sidecars: this.membership.alive().map(toCandidate),
      previous,
      reserved,
    });
  }

  private async commit(next: Map<string, PipelineEntry>, reason: string): Promise<void> {
    const intended = this.makePlan(next);
    const diff = diffAssignments(
      [...this.current.values()].map((v) => v.assignment),
      assignmentsOf(intended),
    );
    const claims = this.claims();
    const { plan, waiting } = publishablePlan(intended, this.owners, claims);
    const routes = routesKey(plan);
    const routesChanged = routes !== this.routes;
    const planChanged = routesChanged || !isEmptyDiff(diff);
    const pipelinesChanged = !samePipelines(this.pipelines, next);
    if (!planChanged && !pipelinesChanged) {
      this.dirty = false;
      this.owners = ownersAfter(plan, this.owners, claims);
      return;
    }

    const generation = planChanged ? this.generationValue + 1 : this.generationValue;
    const views: AssignmentView[] = [
      ...diff.unchanged.map((a) => this.current.get(assignmentKey(a)) ?? { assignment: a, generation }),
      ...[...diff.gained, ...diff.changed].map((a) => ({ assignment: a, generation })),
    ];
    const current = new Map(
      views
        .sort((x, y) => byPosition(x.assignment, y.assignment))
        .map((v) => [assignmentKey(v.assignment), v]),
    );
    diff.lost.sort(byPosition);
    diff.gained.sort(byPosition);
    diff.changed.sort(byPosition);

    const stamped = routesChanged
      ? this.stampTable(plan, generation)
      : { table: this.table, stamps: this.stamps };
    try {
      await this.store.save(this.stateToSave(generation, next, current, waiting, stamped));
    } catch (err) {
      this.dirty = true;
      throw err;
    }

    const before = new Map(this.plan.pipelines.map((p) => [p.pipeline, p]));
    this.pipelines = next;
    this.generationValue = generation;
    this.plan = plan;
    this.routes = routes;
    this.current = current;
    this.dirty = false;
    this.owners = ownersAfter(plan, this.owners, claims);
    this.waiting = waiting;
    this.table = stamped.table;
    this.stamps = stamped.stamps;
    this.restoredTable = undefined;
    // A sidecar that is back has had its stickiness applied; should it die
    // again, its sources move like anyone else's instead of waiting for it.
    const alive = new Set(this.membership.alive().map((s) => s.id));
    this.held = this.held.filter((h) => !alive.has(h.sidecarId));

    if (planChanged) this.log.info({ generation, reason }, "plan changed");
    this.logChanges(diff, generation, before);
    for (const w of waiting)
      this.log.info({ ...w, generation }, "source hand-off waits for the old owner to stop");
    if (routesChanged) for (const connection of this.connections.values()) connection.send(this.table);
    this.onCommit();
  }

  /**
   * What alive sidecars read now. A sidecar that has not yet reported the
   * current table (its routing version is older) may still read anything the
   * router gave it: all of its units count as claimed until it reports.
   */
  private claims(): SourceClaim[] {
    const out: SourceClaim[] = [];
    const behind = new Set<string>();
    for (const s of this.membership.alive()) {
      for (const c of s.sources)
        out.push({ sidecarId: s.id, pipeline: c.pipeline, stage: c.stage, partitions: c.partitions });
      if (s.routingVersion < this.generationValue) behind.add(s.id);
    }
    for (const [key, sidecarId] of this.owners) {
      if (!behind.has(sidecarId)) continue;
      const [pipeline, stage, partition] = JSON.parse(key) as [string, string, number];
      out.push({ sidecarId, pipeline, stage, partitions: partition < 0 ? [] : [partition] });
    }
    return out;
  }

  /**
   * The wire table of a published plan, with each pipeline's and instance's generation: the one it
   * had while its route (or instance) stays the same, else this commit's. Pure: the stamps it used
   * come back with it.
   */
  private stampTable(plan: Plan, generation: number): { table: RoutingTable; stamps: Stamps } {
    const stamps: Stamps = new Map();
    const stamp = (id: string, key: string): number => {
      const before = this.stamps.get(id);
      const kept = before?.key === key ? before : { key, generation };
      stamps.set(id, kept);
      return kept.generation;
    };
    const pipelines = plan.pipelines.map((placement) => {
      const route = pipelineRoute(placement);
      const stages = route.stages?.map((s) => ({
        ...s,
        instances: s.instances?.map((i) => ({
          ...i,
          generation: stamp(JSON.stringify([route.pipeline, s.name, i.sidecarId]), JSON.stringify(i)),
        })),
      }));
      return { ...route, stages, generation: stamp(JSON.stringify([route.pipeline]), JSON.stringify(route)) };
    });
    return { table: { version: generation, generation, pipelines }, stamps };
  }

  private stateToSave(
    generation: number,
    pipelines: Map<string, PipelineEntry>,
    current: Map<string, AssignmentView>,
    waiting: readonly Handoff[],
    stamped: { table: RoutingTable; stamps: Stamps },
  ): RouterState {
    const assignments: StoredAssignment[] = [...current.values()].map(({ assignment: a, generation: g }) => ({
      pipeline: a.pipeline,
      stage: a.stage,
      stageIndex: a.stageIndex,
      sidecarId: a.sidecarId,
      partitions: a.partitions,
      generation: g,
    }));
    // Still-held ownership survives another restart within the hold window.
    if (this.clock() < this.holdUntil) {
      for (const h of this.held) if (!current.has(assignmentKey(h))) assignments.push(h);
    }
    return {
      generation,
      pipelines: [...pipelines.values()]
        .map((e) => ({ name: e.spec.name, definition: e.definitionJson }))
        .sort((a, b) => compare(a.name, b.name)),
      assignments,
      handoffs: waiting.map((w) => ({ ...w })),
      table: {
        table: stamped.table as StoredTable["table"],
        stamps: [...stamped.stamps].map(([id, st]) => ({ id, key: st.key, generation: st.generation })),
      },
    };
  }

  private logChanges(
    diff: ReturnType<typeof diffAssignments>,
    generation: number,
    before: Map<string, PipelinePlacement>,
  ): void {
    const fields = (a: Assignment) => ({
      pipeline: a.pipeline,
      stage: a.stage,
      sidecar: a.sidecarId,
      partitions: a.partitions,
      generation,
    });
    for (const a of diff.lost) this.log.info(fields(a), "stage revoked");
    for (const a of diff.gained) this.log.info(fields(a), "stage assigned");
    for (const a of diff.changed) this.log.info(fields(a), "stage reassigned");
    for (const p of this.plan.pipelines) {
      const old = before.get(p.pipeline);
      if (old !== undefined && old.state === p.state && old.reasons.join("\n") === p.reasons.join("\n"))
        continue;
      if (p.state === "ready") this.log.info({ pipeline: p.pipeline, generation }, "pipeline ready");
      else this.log.warn({ pipeline: p.pipeline, generation, reasons: p.reasons }, "pipeline pending");
    }
  }
}

/** The planner's view of a sidecar: services of an unknown kind cannot run any stage. */
function toCandidate(s: SidecarRecord): SidecarCandidate {
  return {
    id: s.id,
    peerAddress: s.peerAddress,
    services: s.services.flatMap((svc) => {
      const kind = stageKindFromProto(svc.kind);
      return kind === undefined
        ? []
        : [
            {
              endpoint: svc.endpoint,
              service: svc.service,
              kind,
              stageName: svc.stageName,
              partitions: svc.partitions,
            },
          ];
    }),
  };
}

/**
 * Commands and listings go pipeline by pipeline, upstream first: a sidecar
 * stops a source before its downstream stages drain, and hears of a stage
 * before the routes that point at it.
 */
function byPosition(a: Assignment, b: Assignment): number {
  return compare(a.pipeline, b.pipeline) || a.stageIndex - b.stageIndex || compare(a.sidecarId, b.sidecarId);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function samePipelines(
  a: ReadonlyMap<string, PipelineEntry>,
  b: ReadonlyMap<string, PipelineEntry>,
): boolean {
  if (a.size !== b.size) return false;
  for (const [name, e] of a) if (b.get(name)?.definitionJson !== e.definitionJson) return false;
  return true;
}
