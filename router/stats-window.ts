/**
 * Rates over the last minute from the cumulative per-stage counters sidecars report in their
 * heartbeats (SidecarStatus.stages). Per sidecar and stage the window keeps the samples of the last
 * `windowMs` plus one older sample as the baseline; a rate is (newest − baseline) / elapsed, summed
 * over the sidecars. A counter that went down means the sidecar restarted: its older samples are
 * dropped and the window starts again from the new one. A sidecar silent for longer than `staleMs`
 * adds nothing (its rate is 0, not its last one). p99 is read from the merged latency-histogram
 * deltas of the window (src/telemetry/latency-histogram.ts). Pure: the clock is passed in.
 *
 * Memory: one sample per heartbeat per stage per sidecar for one window — at a 1 s interval, 60
 * samples of ~30 numbers each per stage and sidecar.
 */
import type { StageStatus__Output } from "../src/generated/conveyor/v1/StageStatus";
import { LATENCY_BOUNDS_MS, quantileOf } from "../src/telemetry/latency-histogram";

export const DEFAULT_WINDOW_MS = 60_000;

const COUNTERS = ["recordsIn", "recordsOut", "errors", "dlqCount", "bytesIn", "recordsPeer"] as const;
type CounterName = (typeof COUNTERS)[number];
type Counters = { [K in CounterName]: number };

interface Sample extends Counters {
  atMs: number;
  /** Empty when the sidecar measured nothing yet, or used other bounds than ours. */
  latency: number[];
}

/** Per-second rates over the window (0 when it has fewer than two samples). */
export interface WindowRates {
  /** How much time the rates cover (≤ the window; less right after a start). */
  windowSecs: number;
  rateIn: number;
  rateOut: number;
  errorRate: number;
  dlqRate: number;
  bytesInRate: number;
  /** Records sent to the stage over a peer hop, per second. */
  peerRate: number;
  /** Of the records entering the stage, the share that came over a peer hop (0..1). */
  peerShare: number;
  /** Undefined when no latency was measured in the window. */
  p99Ms: number | undefined;
  latencySamples: number;
}

export interface StatsWindowOptions {
  windowMs?: number;
  /** A sidecar whose newest sample is older than this contributes nothing. */
  staleMs: number;
}

function keyOf(sidecarId: string, pipeline: string, stage: string): string {
  return `${sidecarId}\u0000${pipeline}\u0000${stage}`;
}

function sampleOf(atMs: number, s: StageStatus__Output): Sample {
  const sameBounds =
    s.latencyBoundsMs.length === LATENCY_BOUNDS_MS.length &&
    s.latencyBoundsMs.every((b, i) => b === LATENCY_BOUNDS_MS[i]) &&
    s.latencyCounts.length === LATENCY_BOUNDS_MS.length + 1;
  return {
    atMs,
    recordsIn: Number(s.recordsIn),
    recordsOut: Number(s.recordsOut),
    errors: Number(s.errors),
    dlqCount: Number(s.dlqCount),
    bytesIn: Number(s.bytesIn),
    recordsPeer: Number(s.recordsPeer),
    latency: sameBounds ? s.latencyCounts.map(Number) : [],
  };
}

function wentDown(before: Sample, after: Sample): boolean {
  if (COUNTERS.some((c) => after[c] < before[c])) return true;
  return before.latency.some((n, i) => (after.latency[i] ?? 0) < n);
}

export class StatsWindow {
  private readonly windowMs: number;
  private readonly staleMs: number;
  private readonly series = new Map<string, Sample[]>();
  /** The last sample time per sidecar: a status seen twice is one sample. */
  private readonly lastAt = new Map<string, number>();

  constructor(options: StatsWindowOptions) {
    this.windowMs = options.windowMs ?? DEFAULT_WINDOW_MS;
    this.staleMs = options.staleMs;
  }

  /** The stages a sidecar reported at `atMs` (its status time); the same atMs again is ignored. */
  observe(sidecarId: string, atMs: number, stages: readonly StageStatus__Output[]): void {
    if (this.lastAt.get(sidecarId) === atMs) return;
    this.lastAt.set(sidecarId, atMs);
    for (const s of stages) {
      const key = keyOf(sidecarId, s.pipeline, s.stage);
      const sample = sampleOf(atMs, s);
      const list = this.series.get(key);
      if (list === undefined || list.length === 0 || wentDown(list[list.length - 1]!, sample)) {
        this.series.set(key, [sample]);
        continue;
      }
      list.push(sample);
      // Keep one sample at or before the window's start as the baseline.
      while (list.length > 2 && list[1]!.atMs <= atMs - this.windowMs) list.shift();
    }
  }

  /** Forgets a sidecar (it deregistered). */
  forget(sidecarId: string): void {
    this.lastAt.delete(sidecarId);
    for (const key of [...this.series.keys()])
      if (key.startsWith(`${sidecarId}\u0000`)) this.series.delete(key);
  }

  /** The stage's rates over every sidecar that reported it, or only over `sidecarIds`. */
  rates(pipeline: string, stage: string, nowMs: number, sidecarIds?: readonly string[]): WindowRates {
    const suffix = `\u0000${pipeline}\u0000${stage}`;
    const sums: Counters = {
      recordsIn: 0,
      recordsOut: 0,
      errors: 0,
      dlqCount: 0,
      bytesIn: 0,
      recordsPeer: 0,
    };
    const latency = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
    let windowSecs = 0;
    for (const [key, list] of this.series) {
      if (!key.endsWith(suffix)) continue;
      const sidecarId = key.slice(0, key.length - suffix.length);
      if (sidecarIds !== undefined && !sidecarIds.includes(sidecarId)) continue;
      const last = list[list.length - 1]!;
      if (list.length < 2 || nowMs - last.atMs > this.staleMs) continue;
      // The baseline: the newest sample at or before the window's start, else the oldest.
      let base = list[0]!;
      for (const s of list) if (s.atMs <= nowMs - this.windowMs) base = s;
      const secs = (last.atMs - base.atMs) / 1000;
      if (secs <= 0) continue;
      windowSecs = Math.max(windowSecs, secs);
      for (const c of COUNTERS) sums[c] += (last[c] - base[c]) / secs;
      if (last.latency.length > 0)
        last.latency.forEach((n, i) => (latency[i]! += n - (base.latency[i] ?? 0)));
    }
    const latencySamples = latency.reduce((a, b) => a + b, 0);
    return {
      windowSecs,
      rateIn: sums.recordsIn,
      rateOut: sums.recordsOut,
      errorRate: sums.errors,
      dlqRate: sums.dlqCount,
      bytesInRate: sums.bytesIn,
      peerRate: sums.recordsPeer,
      peerShare: sums.recordsIn > 0 ? Math.min(1, sums.recordsPeer / sums.recordsIn) : 0,
      p99Ms: quantileOf(latency, 0.99),
      latencySamples,
    };
  }
}
