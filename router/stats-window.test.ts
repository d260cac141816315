import type { StageStatus__Output } from "../src/generated/conveyor/v1/StageStatus";
import { LATENCY_BOUNDS_MS, bucketOf } from "../src/telemetry/latency-histogram";
import { stageStatus } from "../src/testing/stage-status";
import { StatsWindow } from "./stats-window";

const status = stageStatus;

/** A histogram with `n` records at `ms`. */
function latency(ms: number, n: number): Partial<StageStatus__Output> {
  const counts = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  counts[bucketOf(ms)] = n;
  return { latencyBoundsMs: [...LATENCY_BOUNDS_MS], latencyCounts: counts };
}

describe("StatsWindow", () => {
  it("computes per-second rates from cumulative counters, summed over sidecars", () => {
    const w = new StatsWindow({ windowMs: 60_000, staleMs: 5_000 });
    w.observe("a", 0, [status({ recordsIn: 100, recordsOut: 90, bytesIn: 1000 })]);
    w.observe("a", 10_000, [status({ recordsIn: 600, recordsOut: 590, bytesIn: 6000, errors: 20 })]);
    w.observe("b", 0, [status({ recordsIn: 0 })]);
    w.observe("b", 10_000, [status({ recordsIn: 300, recordsPeer: 0 })]);
    const r = w.rates("p", "t", 10_500);
    expect(r.rateIn).toBeCloseTo(80);
    expect(r.rateOut).toBeCloseTo(50);
    expect(r.bytesInRate).toBeCloseTo(500);
    expect(r.errorRate).toBeCloseTo(2);
    expect(r.windowSecs).toBe(10);
    expect(w.rates("p", "t", 10_500, ["b"]).rateIn).toBeCloseTo(30);
  });

  it("is 0 with a single sample, and for a sidecar silent for longer than staleMs", () => {
    const w = new StatsWindow({ staleMs: 5_000 });
    w.observe("a", 0, [status({ recordsIn: 100 })]);
    expect(w.rates("p", "t", 100).rateIn).toBe(0);
    w.observe("a", 1_000, [status({ recordsIn: 200 })]);
    expect(w.rates("p", "t", 1_000).rateIn).toBeCloseTo(100);
    expect(w.rates("p", "t", 7_000).rateIn).toBe(0);
  });

  it("covers only the last window: older samples stop counting", () => {
    const w = new StatsWindow({ windowMs: 10_000, staleMs: 5_000 });
    // 1000/s for 20 s, then 100/s for 10 s.
    let n = 0;
    for (let t = 0; t <= 20_000; t += 1_000) w.observe("a", t, [status({ recordsIn: (n = t) })]);
    for (let t = 21_000; t <= 30_000; t += 1_000) w.observe("a", t, [status({ recordsIn: (n += 100) })]);
    const r = w.rates("p", "t", 30_000);
    expect(r.rateIn).toBeCloseTo(100);
    expect(r.windowSecs).toBe(10);
  });

  it("starts again when a counter went down (the sidecar restarted)", () => {
    const w = new StatsWindow({ staleMs: 5_000 });
    w.observe("a", 0, [status({ recordsIn: 5000 })]);
    w.observe("a", 1_000, [status({ recordsIn: 6000 })]);
    w.observe("a", 2_000, [status({ recordsIn: 10 })]);
    expect(w.rates("p", "t", 2_000).rateIn).toBe(0);
    w.observe("a", 3_000, [status({ recordsIn: 60 })]);
    expect(w.rates("p", "t", 3_000).rateIn).toBeCloseTo(50);
  });

  it("ignores the same status time twice", () => {
    const w = new StatsWindow({ staleMs: 5_000 });
    w.observe("a", 0, [status({ recordsIn: 0 })]);
    w.observe("a", 1_000, [status({ recordsIn: 100 })]);
    w.observe("a", 1_000, [status({ recordsIn: 100 })]);
    expect(w.rates("p", "t", 1_000).rateIn).toBeCloseTo(100);
  });

  it("reads p99 from the merged latency deltas of the window, and the peer share", () => {
    const w = new StatsWindow({ staleMs: 5_000 });
    w.observe("a", 0, [status({ ...latency(1, 1000) })]);
    // In the window: 990 records at ~1 ms on a, 20 at ~200 ms on b: p99 is in b's bucket.
    const a = latency(1, 1990);
    w.observe("a", 1_000, [status({ ...a, recordsIn: 990, recordsPeer: 0 })]);
    w.observe("b", 0, [status({ recordsPeer: 0 })]);
    w.observe("b", 1_000, [status({ ...latency(200, 20), recordsIn: 20, recordsPeer: 505 })]);
    const r = w.rates("p", "t", 1_000);
    expect(r.latencySamples).toBe(1010);
    expect(r.p99Ms).toBeGreaterThan(128);
    expect(r.p99Ms).toBeLessThanOrEqual(256);
    expect(r.peerShare).toBeCloseTo(0.5);
    expect(new StatsWindow({ staleMs: 1 }).rates("p", "t", 0).p99Ms).toBeUndefined();
  });

  it("forgets a sidecar", () => {
    const w = new StatsWindow({ staleMs: 5_000 });
    w.observe("a", 0, [status({ recordsIn: 0 })]);
    w.observe("a", 1_000, [status({ recordsIn: 100 })]);
    w.forget("a");
    expect(w.rates("p", "t", 1_000).rateIn).toBe(0);
  });
});
