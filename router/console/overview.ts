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
        state: byId.get(x.sidecarId)?.state ?? "unknown",
        rateIn: stats.rates(view.name, stage.name, nowMs, [x.sidecarId]).rateIn,
      })),
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

function sidecarOf(s: SidecarRecord, generation: number, nowMs: number): ConsoleSidecar {
  return {
    id: s.id,
    podName: s.podName,
    namespace: s.namespace,
    peerAddress: s.peerAddress,
    state: s.state,
    behind: s.state === "alive" && s.routingVersion < generation,
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
