/**
 * What the console shows, as one JSON object: every pipeline's stages in order with their pods,
 * rates, errors, in-flight and p99 (router/pipeline-status.ts), the peer hops between stages, and
 * every sidecar with its heartbeat age and table version. Pure: built from the router's state.
 */
import { stageKindFromProto } from "../../src/stages/contract";
import type { Membership, SidecarRecord } from "../membership";
import { pipelineStatus } from "../pipeline-status";
import type { PipelineView, Scheduler } from "../scheduler";
import type { StatsWindow } from "../stats-window";
import type {
  ConsoleMirror,
  ConsoleOverview,
  ConsolePipeline,
  ConsoleSidecar,
  ConsoleStage,
  ConsoleStageError,
} from "./api-types";

export interface OverviewSources {
  scheduler: Scheduler;
  membership: Membership;
  stats: StatsWindow;
  deadAfterMs: number;
}

export function buildOverview(
  src: OverviewSources,
  nowMs: number,
  access: { canWrite: boolean; writesConfigured: boolean },
): ConsoleOverview {
  const sidecars = src.membership.all();
  const generations = new Map<string, number>();
  for (const { assignment: a, generation } of src.scheduler.assignmentViews())
    generations.set(`${a.pipeline}\u0000${a.stage}\u0000${a.sidecarId}`, generation);
  const generation = src.scheduler.generation;
  return {
    nowMs,
    generation,
    deadAfterMs: src.deadAfterMs,
    ...access,
    pipelines: src.scheduler
      .pipelineViews()
      .map((view) => pipelineOf(view, sidecars, src.stats, generations, nowMs)),
    sidecars: sidecars.map((s) => sidecarOf(s, generation, nowMs)),
  };
}

function pipelineOf(
  view: PipelineView,
  sidecars: readonly SidecarRecord[],
  stats: StatsWindow,
  generations: ReadonlyMap<string, number>,
  nowMs: number,
): ConsolePipeline {
  const status = pipelineStatus(view, sidecars, stats, nowMs);
  const byId = new Map(sidecars.map((s) => [s.id, s]));
  const placed = view.placement.stages;
  const stages = placed.map((stage, i): ConsoleStage => {
    const st = status.stages[i]!;
    const previous = placed[i - 1];
    const here = new Set(stage.instances.map((x) => x.sidecarId));
    // A dead-letter sink is reached from every stage; the hop that matters is the chain's.
    const byPlacement =
      previous !== undefined && !stage.deadLetter && previous.instances.some((x) => !here.has(x.sidecarId));
    return {
      name: stage.name,
      index: stage.index,
      kind: stage.kind,
      builtin: stage.builtin ?? "",
      deadLetter: stage.deadLetter === true,
      state: st.state,
      peerHopIn: byPlacement || st.peerShare > 0,
      recordsIn: st.recordsIn,
      recordsOut: st.recordsOut,
      errors: st.errors,
      dlqCount: st.dlqCount,
      bytesIn: st.bytesIn,
      inFlight: st.inFlight,
      windowSecs: st.windowSecs,
      rateIn: st.rateIn,
      rateOut: st.rateOut,
      errorRate: st.errorRate,
      dlqRate: st.dlqRate,
      bytesInRate: st.bytesInRate,
      peerShare: st.peerShare,
      p99Ms: st.latencySamples > 0 ? st.p99Ms : null,
      lastError: st.lastError,
      instances: stage.instances.map((x) => ({
        sidecarId: x.sidecarId,
        podName: byId.get(x.sidecarId)?.podName ?? "",
        generation: generations.get(`${view.name}\u0000${stage.name}\u0000${x.sidecarId}`) ?? 0,
        partitions: x.partitions,
        state: instanceState(byId.get(x.sidecarId)),
        rateIn: stats.rates(view.name, stage.name, nowMs, [x.sidecarId]).rateIn,
      })),
      mirrors: mirrorsOf(view.name, stage.name, stage.instances, byId, nowMs),
      recentErrors: st.recentErrors.map((e): ConsoleStageError => ({
        sidecarId: e.sidecarId,
        code: e.error?.code ?? "",
        message: e.error?.message ?? "",
        recordId: e.error?.recordId ?? "",
        attempt: e.error?.attempt ?? 0,
        timeMs: e.error?.timeMs ?? 0,
        records: e.error?.records ?? 0,
      })),
    };
  });
  return { name: view.name, state: view.placement.state, reasons: view.placement.reasons, stages };
}

/** The mirrors of a stage, as its live sidecars last reported them (-1 / 0 on the wire: not known). */
export function mirrorsOf(
  pipeline: string,
  stage: string,
  instances: ReadonlyArray<{ sidecarId: string }>,
  byId: ReadonlyMap<string, SidecarRecord>,
  nowMs: number,
): ConsoleMirror[] {
  const out: ConsoleMirror[] = [];
  for (const { sidecarId } of instances) {
    const s = byId.get(sidecarId);
    if (s?.state !== "alive") continue;
    const st = s.stages.find((x) => x.pipeline === pipeline && x.stage === stage);
    for (const m of st?.mirrors ?? []) {
      const sourceHigh = m.sourceHigh >= 0 ? m.sourceHigh : null;
      const destNext = m.destNext >= 0 ? m.destNext : null;
      out.push({
        sidecarId,
        name: m.name,
        topic: m.topic,
        partition: m.partition,
        sourceHigh,
        destNext,
        lag: sourceHigh !== null && destNext !== null ? sourceHigh - destNext : null,
        lastFlushAgeMs: m.lastFlushMs > 0 ? Math.max(0, nowMs - m.lastFlushMs) : null,
        state: m.state,
        error: m.error,
      });
    }
  }
  return out;
}

/** alive | dead | fenced, and why fenced (ConsoleSidecar.state). */
export function sidecarState(s: SidecarRecord): { state: string; reason: string; sinceMs: number | null } {
  if (s.state === "dead") return { state: "dead", reason: "", sinceMs: null };
  const reasons: string[] = [];
  if (s.fence)
    reasons.push(
      `back after being presumed dead; its stages moved and it has not reported table v${s.fence.untilVersion} yet (on v${s.routingVersion})`,
    );
  if (s.selfFenced)
    reasons.push("its pause fence is up (it was frozen); it delivers nothing until it has the current table");
  if (reasons.length === 0) return { state: "alive", reason: "", sinceMs: null };
  return { state: "fenced", reason: reasons.join("; "), sinceMs: s.fence?.sinceMs ?? s.lastHeartbeatMs };
}

function instanceState(s: SidecarRecord | undefined): string {
  return s === undefined ? "unknown" : sidecarState(s).state;
}

function sidecarOf(s: SidecarRecord, generation: number, nowMs: number): ConsoleSidecar {
  const st = sidecarState(s);
  return {
    id: s.id,
    podName: s.podName,
    namespace: s.namespace,
    peerAddress: s.peerAddress,
    state: st.state,
    fenceReason: st.reason,
    fencedSinceMs: st.sinceMs,
    behind: st.state === "alive" && s.routingVersion < generation,
    heartbeatAgeMs: Math.max(0, nowMs - s.lastHeartbeatMs),
    routingVersion: s.routingVersion,
    services: s.services.map((svc) => ({
      stageName: svc.stageName,
      kind: stageKindFromProto(svc.kind) ?? "unknown",
      endpoint: svc.endpoint,
      service: svc.service,
    })),
  };
}
