/**
 * Zero-filled stage figures for tests: a sidecar's StageStatus (what a heartbeat carries) and the
 * router's StageStatusSummary (what GetPipelineStatus answers), with only the fields a test cares
 * about given.
 */
import type { StageStatus__Output } from "../generated/conveyor/v1/StageStatus";
import type { StageStatusSummary__Output } from "../generated/conveyor/v1/StageStatusSummary";

/** A transform "name" at `index` on sidecar "a", nothing counted yet. */
export function stageSummary(
  name: string,
  index: number,
  fields: Partial<StageStatusSummary__Output> = {},
): StageStatusSummary__Output {
  return {
    stage: name,
    stageIndex: index,
    kind: "STAGE_KIND_TRANSFORM",
    sidecars: ["a"],
    recordsIn: 0,
    recordsOut: 0,
    errors: 0,
    lastError: "",
    dlqCount: 0,
    state: "running",
    windowSecs: 60,
    rateIn: 0,
    rateOut: 0,
    errorRate: 0,
    dlqRate: 0,
    bytesInRate: 0,
    peerShare: 0,
    p99Ms: 0,
    latencySamples: 0,
    inFlight: 0,
    bytesIn: 0,
    recentErrors: [],
    ...fields,
  };
}

/** Stage "t" of pipeline "p" as one sidecar reports it, nothing counted yet. */
export function stageStatus(fields: Partial<StageStatus__Output> = {}): StageStatus__Output {
  return {
    pipeline: "p",
    stage: "t",
    recordsIn: 0,
    recordsOut: 0,
    errors: 0,
    lastError: "",
    state: "running",
    dlqCount: 0,
    bytesIn: 0,
    inFlight: 0,
    recordsPeer: 0,
    latencyBoundsMs: [],
    latencyCounts: [],
    recentErrors: [],
    mirrors: [],
    ...fields,
  };
}
