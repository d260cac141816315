/**
 * A pipeline's status per stage, from the placement, the sidecars' latest counters (membership)
 * and the last minute of them (stats-window): totals, rates, in-flight, p99 and the latest errors.
 * What Admin.GetPipelineStatus answers and the console shows. Pure.
 */
import type { PipelineStatus__Output } from "../src/generated/conveyor/v1/PipelineStatus";
import type { StageErrorInfo__Output } from "../src/generated/conveyor/v1/StageErrorInfo";
import type { StageStatusSummary__Output } from "../src/generated/conveyor/v1/StageStatusSummary";
import { STAGE_KIND_TO_PROTO } from "../src/stages/contract";
import type { SidecarRecord } from "./membership";
import type { PipelineView } from "./scheduler";
import type { StatsWindow, WindowRates } from "./stats-window";

/** The latest errors of a stage kept in a status, over every sidecar. */
export const STATUS_RECENT_ERRORS = 20;

const NO_RATES: WindowRates = {
  windowSecs: 0,
  rateIn: 0,
  rateOut: 0,
  errorRate: 0,
  dlqRate: 0,
  bytesInRate: 0,
  peerRate: 0,
  peerShare: 0,
  p99Ms: undefined,
  latencySamples: 0,
};

export function pipelineStatus(
  view: PipelineView,
  sidecars: readonly SidecarRecord[],
  window: StatsWindow | undefined,
  nowMs: number,
): PipelineStatus__Output {
  const stages = view.placement.stages.map((stage): StageStatusSummary__Output => {
    const summary = {
      recordsIn: 0,
      recordsOut: 0,
      errors: 0,
      lastError: "",
      dlqCount: 0,
      state: "running",
      inFlight: 0,
      bytesIn: 0,
    };
    const recent: StageErrorInfo__Output[] = [];
    // Every sidecar that reported this stage counts, including ones that
    // lost it since: their records went through the pipeline too.
    for (const s of sidecars) {
      for (const st of s.stages) {
        if (st.pipeline !== view.name || st.stage !== stage.name) continue;
        summary.recordsIn += Number(st.recordsIn);
        summary.recordsOut += Number(st.recordsOut);
        summary.errors += Number(st.errors);
        summary.dlqCount += Number(st.dlqCount);
        summary.bytesIn += Number(st.bytesIn);
        if (s.state === "alive") summary.inFlight += Number(st.inFlight);
        if (st.state === "error" && s.state === "alive") summary.state = "error";
        if (st.lastError !== "") summary.lastError = `${s.id}: ${st.lastError}`;
        for (const e of st.recentErrors) recent.push({ sidecarId: s.id, error: e });
      }
    }
    recent.sort((a, b) => (b.error?.timeMs ?? 0) - (a.error?.timeMs ?? 0));
    const rates = window?.rates(view.name, stage.name, nowMs) ?? NO_RATES;
    return {
      stage: stage.name,
      stageIndex: stage.index,
      kind: STAGE_KIND_TO_PROTO[stage.kind],
      sidecars: stage.instances.map((i) => i.sidecarId),
      ...summary,
      windowSecs: rates.windowSecs,
      rateIn: rates.rateIn,
      rateOut: rates.rateOut,
      errorRate: rates.errorRate,
      dlqRate: rates.dlqRate,
      bytesInRate: rates.bytesInRate,
      peerShare: rates.peerShare,
      p99Ms: rates.p99Ms ?? 0,
      latencySamples: rates.latencySamples,
      recentErrors: recent.slice(0, STATUS_RECENT_ERRORS),
    };
  });
  return { name: view.name, state: view.placement.state, stages };
}
