/**
 * The planner: which sidecar runs which stage of which pipeline. Pure and
 * synchronous — the scheduler feeds it the pipelines, the alive sidecars and
 * the previous owners; the plan becomes the routing table every sidecar
 * routes with (after hand-offs, handoff.ts).
 *
 *   pipelines ─┐
 *   sidecars  ─┼─▶ planPipelines() ─▶ Plan ─┬─▶ assignmentsOf()  (who runs what)
 *   previous  ─┘                            └─▶ pipelineRoute()  (its wire form, per pipeline)
 *
 * Rules (one pipeline at a time, stages in order):
 * - A user stage runs where a discovered service has the stage's name and the
 *   kind of its position. Transforms and sinks run on every such sidecar.
 * - A source reads with one owner per partition (partitions divided among the
 *   candidates, sticky, balanced) or, without partitions, exactly one owner
 *   (the previous one while it is a candidate) — never two readers of one thing.
 * - A built-in transform/sink runs on the sidecars of the stage before it (no
 *   extra hop); a built-in source is one instance, chosen like a user source.
 * - No source is started while a later stage has nowhere to run.
 */
import {
  pipelineSettings,
  pipelineStages,
  type PipelineSettings,
  type PipelineSpec,
  type PlannedStage,
} from "../src/config/pipeline";
import type { PipelineRoute } from "../src/generated/conveyor/v1/PipelineRoute";
import { STAGE_KIND_TO_PROTO, type StageKind } from "../src/stages/contract";

/** A stage service a sidecar discovered in its pod. */
export interface CandidateService {
  endpoint: string;
  /** Fully-qualified gRPC service name. */
  service: string;
  kind: StageKind;
  stageName: string;
  partitions: number[];
}

/** An alive sidecar, as the planner sees it. */
export interface SidecarCandidate {
  id: string;
  peerAddress: string;
  services: CandidateService[];
}

/** Who owned a stage (and which partitions) in the previous plan. */
export interface PreviousOwner {
  pipeline: string;
  stage: string;
  sidecarId: string;
  partitions: number[];
}

export interface PlanInput {
  pipelines: readonly PipelineSpec[];
  sidecars: readonly SidecarCandidate[];
  /** Earlier entries win when two name different owners of the same thing. */
  previous: readonly PreviousOwner[];
  /**
   * Sidecars that are not alive (yet) but whose previous source ownership is
   * held for them: after a router restart, the owners before the restart get
   * their sources back instead of whoever re-registers first.
   */
  reserved?: ReadonlySet<string>;
}

export interface StageInstancePlan {
  sidecarId: string;
  peerAddress: string;
  /** Empty for built-ins. */
  serviceEndpoint: string;
  /** gRPC service name, or "builtin:<name>". */
  serviceName: string;
  partitions: number[];
}

export interface StagePlacement extends PlannedStage {
  instances: StageInstancePlan[];
}

export type PipelineState = "ready" | "pending";

export interface PipelinePlacement {
  pipeline: string;
  /** ready: every stage has a sidecar and nothing is held; pending otherwise (see reasons). */
  state: PipelineState;
  reasons: string[];
  settings: PipelineSettings;
  stages: StagePlacement[];
}

export interface Plan {
  /** Sorted by pipeline name. */
  pipelines: PipelinePlacement[];
}

/** One stage of one pipeline on one sidecar (what ListAssignments lists). */
export interface Assignment {
  pipeline: string;
  stage: string;
  stageIndex: number;
  kind: StageKind;
  sidecarId: string;
  partitions: number[];
  builtin?: string;
  /** JSON of the built-in's config ("" for user stages). */
  configJson: string;
  serviceEndpoint: string;
  serviceName: string;
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export function planPipelines(input: PlanInput): Plan {
  const sidecars = [...input.sidecars].sort((a, b) => byString(a.id, b.id));
  const reserved = input.reserved ?? new Set<string>();
  const pipelines = [...input.pipelines]
    .sort((a, b) => byString(a.name, b.name))
    .map((spec) => planPipeline(spec, sidecars, input.previous, reserved));
  return { pipelines };
}

function planPipeline(
  spec: PipelineSpec,
  sidecars: readonly SidecarCandidate[],
  previous: readonly PreviousOwner[],
  reserved: ReadonlySet<string>,
): PipelinePlacement {
  const reasons: string[] = [];
  const stages: StagePlacement[] = [];
  for (const stage of pipelineStages(spec)) {
    const owners = previous.filter((p) => p.pipeline === spec.name && p.stage === stage.name);
    const before = stages[stage.index - 1];
    const instances = placeStage(stage, before, sidecars, owners, reserved, reasons);
    stages.push({ ...stage, instances });
  }
  // Reading data that cannot go anywhere only builds up lag and retries: the
  // source waits until every later stage has a sidecar.
  if (stages.slice(1).some((s) => s.instances.length === 0)) stages[0].instances = [];
  return {
    pipeline: spec.name,
    state: reasons.length === 0 ? "ready" : "pending",
    reasons,
    settings: pipelineSettings(spec),
    stages,
  };
}

function placeStage(
  stage: PlannedStage,
  before: StagePlacement | undefined,
  sidecars: readonly SidecarCandidate[],
  owners: readonly PreviousOwner[],
  reserved: ReadonlySet<string>,
  reasons: string[],
): StageInstancePlan[] {
  if (stage.builtin !== undefined)
    return placeBuiltin(stage, stage.builtin, before, sidecars, owners, reserved, reasons);

  const candidates = matchingServices(stage, sidecars);
  if (candidates.length === 0) {
    reasons.push(`no sidecar runs ${stage.kind} "${stage.name}"${kindMismatchHint(stage, sidecars)}`);
    return [];
  }
  switch (stage.kind) {
    case "source":
      return placeSource(stage, candidates, owners, reserved, reasons);
    case "transform":
    case "sink":
      return candidates.map((c) => instance(c.sidecar, c.services[0].endpoint, c.services[0].service, []));
  }
}

function placeBuiltin(
  stage: PlannedStage,
  builtin: string,
  before: StagePlacement | undefined,
  sidecars: readonly SidecarCandidate[],
  owners: readonly PreviousOwner[],
  reserved: ReadonlySet<string>,
  reasons: string[],
): StageInstancePlan[] {
  const serviceName = `builtin:${builtin}`;
  switch (stage.kind) {
    case "source": {
      if (sidecars.length === 0) {
        reasons.push(`no sidecar is alive to run built-in source "${stage.name}"`);
        return [];
      }
      const choice = chooseOne(
        sidecars.map((s) => s.id),
        owners.map((o) => o.sidecarId),
        reserved,
      );
      if (choice.heldFor !== undefined) {
        reasons.push(heldReason(stage.name, choice.heldFor));
        return [];
      }
      const sidecar = sidecars.find((s) => s.id === choice.id);
      return sidecar ? [instance(sidecar, "", serviceName, [])] : [];
    }
    case "transform":
    case "sink": {
      // Runs beside the stage before it, so records reach it without a hop.
      const hosts = new Map<string, StageInstancePlan>();
      for (const i of before?.instances ?? []) {
        if (!hosts.has(i.sidecarId))
          hosts.set(i.sidecarId, { ...i, serviceEndpoint: "", serviceName, partitions: [] });
      }
      if (hosts.size === 0) {
        reasons.push(
          `built-in ${stage.kind} "${stage.name}" runs beside stage "${before?.name ?? "?"}", which has no sidecar`,
        );
      }
      return [...hosts.values()];
    }
  }
}

interface Candidate {
  sidecar: SidecarCandidate;
  /** The sidecar's services matching the stage, sorted by endpoint (the first one is used). */
  services: CandidateService[];
}

function matchingServices(stage: PlannedStage, sidecars: readonly SidecarCandidate[]): Candidate[] {
  const out: Candidate[] = [];
  for (const sidecar of sidecars) {
    const services = sidecar.services
      .filter((s) => s.stageName === stage.name && s.kind === stage.kind)
      .sort((a, b) => byString(a.endpoint, b.endpoint));
    if (services.length > 0) out.push({ sidecar, services });
  }
  return out;
}

/** Tells the operator when the name exists but with the wrong kind (a common slip). */
function kindMismatchHint(stage: PlannedStage, sidecars: readonly SidecarCandidate[]): string {
  for (const sidecar of sidecars) {
    const other = sidecar.services.find((s) => s.stageName === stage.name && s.kind !== stage.kind);
    if (other) return ` (sidecar "${sidecar.id}" has a ${other.kind} named "${stage.name}")`;
  }
  return "";
}

function placeSource(
  stage: PlannedStage,
  candidates: readonly Candidate[],
  owners: readonly PreviousOwner[],
  reserved: ReadonlySet<string>,
  reasons: string[],
): StageInstancePlan[] {
  const partitionsOf = new Map(
    candidates.map((c) => [c.sidecar.id, unique(c.services.flatMap((s) => s.partitions))]),
  );
  const partitioned = [...partitionsOf.values()].some((p) => p.length > 0);

  if (!partitioned) {
    const choice = chooseOne(
      candidates.map((c) => c.sidecar.id),
      owners.map((o) => o.sidecarId),
      reserved,
    );
    if (choice.heldFor !== undefined) {
      reasons.push(heldReason(stage.name, choice.heldFor));
      return [];
    }
    const c = candidates.find((x) => x.sidecar.id === choice.id);
    return c ? [instance(c.sidecar, c.services[0].endpoint, c.services[0].service, [])] : [];
  }

  const previousOwner = new Map<number, string>();
  for (const o of owners)
    for (const p of o.partitions) if (!previousOwner.has(p)) previousOwner.set(p, o.sidecarId);
  const division = dividePartitions(
    candidates.map((c) => ({ id: c.sidecar.id, partitions: partitionsOf.get(c.sidecar.id) ?? [] })),
    previousOwner,
    reserved,
  );
  for (const [sidecarId, held] of division.held) {
    reasons.push(
      `partitions ${held.join(", ")} of source "${stage.name}" are held for sidecar "${sidecarId}" until it re-registers`,
    );
  }
  return candidates
    .filter((c) => (division.owners.get(c.sidecar.id) ?? []).length > 0)
    .map((c) =>
      instance(
        c.sidecar,
        c.services[0].endpoint,
        c.services[0].service,
        division.owners.get(c.sidecar.id) ?? [],
      ),
    );
}

function instance(
  sidecar: SidecarCandidate,
  endpoint: string,
  serviceName: string,
  partitions: number[],
): StageInstancePlan {
  return {
    sidecarId: sidecar.id,
    peerAddress: sidecar.peerAddress,
    serviceEndpoint: endpoint,
    serviceName,
    partitions,
  };
}

function heldReason(stage: string, sidecarId: string): string {
  return `source "${stage}" is held for sidecar "${sidecarId}" until it re-registers`;
}

/**
 * The single owner of an unpartitioned source: a previous owner that is still
 * a candidate (earlier entries of previousOwners first), else nobody while a
 * previous owner is reserved, else the first candidate by id.
 */
export function chooseOne(
  candidateIds: readonly string[],
  previousOwners: readonly string[],
  reserved: ReadonlySet<string>,
): { id?: string; heldFor?: string } {
  const sorted = [...candidateIds].sort(byString);
  const kept = previousOwners.find((id) => sorted.includes(id));
  if (kept !== undefined) return { id: kept };
  const held = previousOwners.find((id) => reserved.has(id));
  if (held !== undefined) return { heldFor: held };
  return sorted.length > 0 ? { id: sorted[0] } : {};
}

export interface PartitionCandidate {
  id: string;
  /** Partitions this candidate can read. */
  partitions: readonly number[];
}

export interface PartitionDivision {
  /** Sidecar id → owned partitions (ascending); every readable partition has exactly one owner. */
  owners: Map<string, number[]>;
  /** Reserved sidecar id → partitions kept free for it. */
  held: Map<string, number[]>;
}

/**
 * Divides partitions among candidates: balanced (counts differ by at most one
 * when every candidate can read every partition), and sticky (a partition
 * stays with its previous owner unless that owner is over its share), so a
 * sidecar joining or leaving moves as few partitions as possible.
 */
export function dividePartitions(
  candidates: readonly PartitionCandidate[],
  previousOwner: ReadonlyMap<number, string>,
  reserved: ReadonlySet<string>,
): PartitionDivision {
  const sorted = [...candidates].sort((a, b) => byString(a.id, b.id));
  const readers = new Map<number, string[]>();
  for (const c of sorted) {
    for (const p of unique([...c.partitions])) readers.set(p, [...(readers.get(p) ?? []), c.id]);
  }
  const held = new Map<string, number[]>();
  const universe: number[] = [];
  for (const p of [...readers.keys()].sort((a, b) => a - b)) {
    const owner = previousOwner.get(p);
    if (owner !== undefined && reserved.has(owner) && !sorted.some((c) => c.id === owner)) {
      held.set(owner, [...(held.get(owner) ?? []), p]);
    } else {
      universe.push(p);
    }
  }

  const kept = new Map<string, number[]>(sorted.map((c) => [c.id, []]));
  for (const p of universe) {
    const owner = previousOwner.get(p);
    if (owner !== undefined && (readers.get(p) ?? []).includes(owner)) kept.get(owner)?.push(p);
  }

  // Those who already hold the most get the larger shares: fewer moves.
  const n = sorted.length;
  const ranked = [...sorted].sort(
    (a, b) => (kept.get(b.id)?.length ?? 0) - (kept.get(a.id)?.length ?? 0) || byString(a.id, b.id),
  );
  const quota = new Map<string, number>();
  ranked.forEach((c, rank) =>
    quota.set(c.id, Math.floor(universe.length / n) + (rank < universe.length % n ? 1 : 0)),
  );

  const owners = new Map<string, number[]>();
  const owned = new Set<number>();
  for (const c of sorted) {
    const keep = (kept.get(c.id) ?? []).slice(0, quota.get(c.id) ?? 0);
    owners.set(c.id, keep);
    for (const p of keep) owned.add(p);
  }
  const unassigned = universe.filter((p) => !owned.has(p));
  for (const c of sorted) {
    const mine = owners.get(c.id) ?? [];
    for (const p of unassigned) {
      if (mine.length >= (quota.get(c.id) ?? 0)) break;
      if (!owned.has(p) && (readers.get(p) ?? []).includes(c.id)) {
        mine.push(p);
        owned.add(p);
      }
    }
  }
  // Partitions only some candidates can read may not fit the quotas: give
  // each to its least-loaded reader, so none is left without an owner.
  for (const p of unassigned) {
    if (owned.has(p)) continue;
    const reader = [...(readers.get(p) ?? [])].sort(
      (a, b) => (owners.get(a)?.length ?? 0) - (owners.get(b)?.length ?? 0) || byString(a, b),
    )[0];
    if (reader !== undefined) {
      owners.get(reader)?.push(p);
      owned.add(p);
    }
  }
  for (const list of owners.values()) list.sort((a, b) => a - b);
  return { owners, held };
}

function unique(values: number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

/** Every (pipeline, stage, sidecar) the plan runs, in a stable order. */
export function assignmentsOf(plan: Plan): Assignment[] {
  const out: Assignment[] = [];
  for (const p of plan.pipelines) {
    for (const s of p.stages) {
      for (const i of s.instances) {
        out.push({
          pipeline: p.pipeline,
          stage: s.name,
          stageIndex: s.index,
          kind: s.kind,
          sidecarId: i.sidecarId,
          partitions: [...i.partitions],
          ...(s.builtin !== undefined ? { builtin: s.builtin } : {}),
          configJson: s.builtin !== undefined ? JSON.stringify(s.config ?? {}) : "",
          serviceEndpoint: i.serviceEndpoint,
          serviceName: i.serviceName,
        });
      }
    }
  }
  return out;
}

export function assignmentKey(a: Pick<Assignment, "pipeline" | "stage" | "sidecarId">): string {
  return JSON.stringify([a.pipeline, a.stage, a.sidecarId]);
}

/** Everything a sidecar needs to know to run the assignment; a change is a changed assignment. */
function fingerprint(a: Assignment): string {
  return JSON.stringify([
    a.stageIndex,
    a.kind,
    a.builtin ?? "",
    a.configJson,
    a.serviceEndpoint,
    a.serviceName,
    a.partitions,
  ]);
}

export interface AssignmentDiff {
  gained: Assignment[];
  /** Same (pipeline, stage, sidecar), but partitions, position, service or config differ. */
  changed: Assignment[];
  lost: Assignment[];
  unchanged: Assignment[];
}

export function diffAssignments(before: readonly Assignment[], after: readonly Assignment[]): AssignmentDiff {
  const old = new Map(before.map((a) => [assignmentKey(a), a]));
  const diff: AssignmentDiff = { gained: [], changed: [], lost: [], unchanged: [] };
  const seen = new Set<string>();
  for (const a of after) {
    const key = assignmentKey(a);
    seen.add(key);
    const prev = old.get(key);
    if (prev === undefined) diff.gained.push(a);
    else if (fingerprint(prev) !== fingerprint(a)) diff.changed.push(a);
    else diff.unchanged.push(a);
  }
  for (const [key, a] of old) if (!seen.has(key)) diff.lost.push(a);
  return diff;
}

export function isEmptyDiff(d: AssignmentDiff): boolean {
  return d.gained.length === 0 && d.changed.length === 0 && d.lost.length === 0;
}

/** The wire form of one pipeline's placement, as the routing table carries it (generations aside). */
export function pipelineRoute(p: PipelinePlacement): PipelineRoute {
  return {
    pipeline: p.pipeline,
    settings: {
      batchSize: p.settings.batchSize,
      maxInFlightRecords: p.settings.maxInFlightRecords,
      maxInFlightBytes: p.settings.maxInFlightBytes,
      maxRecordBytes: p.settings.maxRecordBytes,
      stageTimeoutMs: p.settings.stageTimeoutMs,
      ordering: p.settings.ordering,
      retry: { ...p.settings.retry },
    },
    stages: p.stages.map((s) => ({
      index: s.index,
      name: s.name,
      kind: STAGE_KIND_TO_PROTO[s.kind],
      builtin: s.builtin ?? "",
      builtinConfigJson: s.builtin !== undefined ? JSON.stringify(s.config ?? {}) : "",
      deadLetter: s.deadLetter === true,
      instances: s.instances.map((i) => ({
        sidecarId: i.sidecarId,
        peerAddress: i.peerAddress,
        serviceEndpoint: i.serviceEndpoint,
        serviceName: i.serviceName,
        partitions: [...i.partitions],
      })),
    })),
  };
}

/** Compares tables regardless of their version: a change here means a new generation. */
export function routesKey(plan: Plan): string {
  return JSON.stringify(plan.pipelines.map(pipelineRoute));
}
